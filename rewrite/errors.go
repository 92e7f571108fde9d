package rewrite

import "errors"

// ErrEmptyQuery is returned for a query that is empty or only white space.
var ErrEmptyQuery = errors.New("rewrite: empty query")
