package store

import (
	"errors"
	"fmt"
	"syscall"
)

var (
	// ErrClosed is returned by every call on a DB after Close.
	ErrClosed = errors.New("store: closed")
	// ErrNotFound is returned for an unknown vector store or file id.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalid matches every validation error of a request.
	ErrInvalid = errors.New("store: invalid request")
	// ErrEmbedderMismatch is returned when a vector store was built by another
	// embedder than the DB's; see DB.Reembed.
	ErrEmbedderMismatch = errors.New("store: embedder mismatch")
	// ErrCorrupt is returned when on-disk state fails its checks.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrExpired is returned by searches and new files on a vector store
	// that has expired (see VectorStoreParams.ExpiresAfter).
	ErrExpired = errors.New("store: vector store expired")
)

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func notFound(kind, id string) error {
	return fmt.Errorf("%w: %s %q", ErrNotFound, kind, id)
}

// ParamError is a validation error about one request parameter, such as a
// list cursor. It matches ErrInvalid.
type ParamError struct {
	Param string // the parameter, as the API names it ("limit", "after", ...)
	Msg   string
}

func (e *ParamError) Error() string { return "store: invalid request: " + e.Param + ": " + e.Msg }

// Is reports whether target is ErrInvalid.
func (e *ParamError) Is(target error) bool { return target == ErrInvalid }

func paramErrorf(param, format string, a ...any) error {
	return &ParamError{Param: param, Msg: fmt.Sprintf(format, a...)}
}

// ErrNoSpace matches a failure to write because the disk (or the user's
// quota) is full. It is the operating system's ENOSPC, so errors.Is finds
// it in every error chain that holds the failed write's error.
var ErrNoSpace error = syscall.ENOSPC
