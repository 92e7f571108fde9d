package chunk

import "errors"

// ErrInvalidStrategy matches every error returned by Strategy.Validate.
var ErrInvalidStrategy = errors.New("chunk: invalid chunking strategy")

// ErrUnknownEncoding is returned by New for an encoding other than
// cl100k_base and o200k_base.
var ErrUnknownEncoding = errors.New("chunk: unknown encoding")
