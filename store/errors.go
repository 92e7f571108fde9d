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
	// ErrLocked is returned by Open when another process has the directory
	// open (one process per
	// directory).
	ErrLocked = errors.New("open in another process")
)

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

func notFound(kind, id string) error {
	return fmt.Errorf("%w: %s %q", ErrNotFound, kind, id)
}

// ErrNoSpace matches a failure to write because the disk (or the user's
// quota) is full. It is the operating system's ENOSPC, so errors.Is finds
// it in every error chain that holds the failed write's error.
var ErrNoSpace error = syscall.ENOSPC
