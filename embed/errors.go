package embed

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them, so
// callers test with errors.Is.
var (
	// ErrInvalidSpec reports an embedder spec that FromSpec cannot parse.
	ErrInvalidSpec = errors.New("embed: invalid embedder spec")
	// ErrInvalidOptions reports options that fail validation.
	ErrInvalidOptions = errors.New("embed: invalid options")
	// ErrEmptyInput reports an empty string among the inputs; the OpenAI API
	// rejects them and an empty text has no meaningful direction.
	ErrEmptyInput = errors.New("embed: empty input")
	// ErrInputTooLong reports an input over the model's token limit under
	// the Reject policy, or one the server refused as too long.
	ErrInputTooLong = errors.New("embed: input too long")
	// ErrBatchTooLarge reports a request the server refused for carrying
	// too many inputs or tokens at once even after splitting it.
	ErrBatchTooLarge = errors.New("embed: batch too large for the server")
	// ErrDimensionsUnsupported reports a model that cannot produce the
	// requested number of dimensions.
	ErrDimensionsUnsupported = errors.New("embed: dimensions not supported by the model")
	// ErrBadResponse reports a response that is not a valid embeddings
	// response for the request: malformed JSON, wrong count, missing or
	// duplicate index, wrong dimension, non-finite or zero vector.
	ErrBadResponse = errors.New("embed: bad response")
	// ErrAPI matches every error status returned by an embeddings server;
	// see *APIError for the details.
	ErrAPI = errors.New("embed: api error")
	// ErrRateLimited reports a 429 that persisted through every attempt.
	ErrRateLimited = errors.New("embed: rate limited")
	// ErrAuth reports a 401 or 403.
	ErrAuth = errors.New("embed: authentication failed")
	// ErrModel reports a model directory that cannot be loaded.
	ErrModel = errors.New("embed: invalid model")
)

// APIError is an error status returned by an embeddings server. It wraps
// ErrAPI and, when the cause is recognised, a more specific sentinel
// (ErrRateLimited, ErrAuth, ErrInputTooLong, ErrBatchTooLarge,
// ErrDimensionsUnsupported).
type APIError struct {
	Provider   string // identity provider, e.g. "openai"
	StatusCode int
	Type       string // error.type when the server sent one
	Code       string // error.code when the server sent one
	Message    string // the server's message, or the start of its body
	Hint       string // what the user can do about it, when known
	Attempts   int    // requests made, retries included
	kind       error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "embed: %s: HTTP %d", e.Provider, e.StatusCode)
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Code != "" && e.Code != e.Type {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Unwrap returns ErrAPI and the specific sentinel, if any.
func (e *APIError) Unwrap() []error {
	if e.kind != nil {
		return []error{ErrAPI, e.kind}
	}
	return []error{ErrAPI}
}
