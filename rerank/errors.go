package rerank

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknownFusion is returned by ParseFusion for an unknown method name.
	ErrUnknownFusion = errors.New("rerank: unknown fusion method")
	// ErrInvalidOptions wraps every problem reported by an Options Validate.
	ErrInvalidOptions = errors.New("rerank: invalid options")
	// ErrBadResponse means a reranking service answered 2xx with a body that
	// cannot be used: malformed JSON, an index out of range or repeated, a
	// missing result, or a non-finite score.
	ErrBadResponse = errors.New("rerank: bad response")
)

// StatusError is a non-2xx answer from a reranking service that was not
// retried, or still failed after the last retry.
type StatusError struct {
	StatusCode int
	// Message is the start of the response body, for diagnosis.
	Message string
	// Attempts is how many requests were made, retries included.
	Attempts int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("rerank: http status %d after %d attempt(s): %s", e.StatusCode, e.Attempts, e.Message)
}

// Temporary reports whether retrying later may succeed (429, 408, 409, 5xx).
func (e *StatusError) Temporary() bool { return retryableStatus(e.StatusCode) }

func retryableStatus(code int) bool {
	return code == 408 || code == 409 || code == 429 || code >= 500
}
