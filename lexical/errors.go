package lexical

import "errors"

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("lexical: index closed")
	// ErrCorrupt is returned when the index directory or its recorded
	// statistics cannot be read back.
	ErrCorrupt = errors.New("lexical: index corrupt")
	// ErrInvalid matches every error from Options.Validate and every
	// rejected argument (a sequence number going backwards, a bad filter).
	ErrInvalid = errors.New("lexical: invalid argument")
)
