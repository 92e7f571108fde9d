package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// requestIDKey is the context key of the request id.
type requestIDKey struct{}

// newRequestID returns an id in OpenAI's style: "req_" and 32 hex digits.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return "req_" + hex.EncodeToString(b[:])
}

// requestID returns the id ServeHTTP gave the request, or "".
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusWriter records the status and size of a response for the access
// log. It keeps http.Flusher (streamed responses) and Unwrap, so
// http.ResponseController reaches the connection's writer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequest writes the access-log line of one request: request id, method,
// route (the pattern, not the path, so ids do not fill the log), status,
// bytes and duration. Level Info; Debug for GET /healthz.
func (s *server) logRequest(r *http.Request, route string, sw *statusWriter, start time.Time) {
	level := slog.LevelInfo
	if route == "GET /healthz" || route == "GET /metrics" {
		level = slog.LevelDebug
	}
	if route == "" {
		route = "unknown" // no route matched: do not put paths in labels
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	d := time.Since(start)
	s.metrics.observe(route, r.Method, status, d)
	s.log.Log(r.Context(), level, "request", "request_id", requestID(r.Context()), "method", r.Method,
		"route", route, "status", status, "bytes", sw.bytes, "duration", d)
}

// pollAfterMs is the wait a client polling an in-progress file or batch is
// asked for (the openai-poll-after-ms header, which the SDKs' poll helpers
// follow; without it they wait 5 s). Ingestion of a small file takes
// milliseconds, so a short wait keeps upload-and-poll loops quick.
const pollAfterMs = 250

// setPollAfter asks a polling client to come back in pollAfterMs when an
// object it reads is still in progress.
func setPollAfter(w http.ResponseWriter, status store.FileStatus) {
	if status == store.StatusInProgress {
		w.Header().Set("Openai-Poll-After-Ms", strconv.Itoa(pollAfterMs))
	}
}

// permanent reports whether an error status is one a retry cannot cure;
// the SDKs retry 408, 409, 429 and 5xx unless told not to (x-should-retry).
func permanent(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests
}
