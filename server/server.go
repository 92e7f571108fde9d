package server

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// Options configures the handler. The zero value is valid.
type Options struct {
	// APIKey, when set, is required on every request but GET /healthz as
	// "Authorization: Bearer KEY". Empty means no authentication.
	APIKey string
	// MaxUploadBytes bounds an uploaded file. Default store.MaxFileBytes.
	MaxUploadBytes int64
	// Logger receives the access log (one line per request, level Info)
	// and one line per failed request (see the package documentation).
	// Default: slog.Default().
	Logger *slog.Logger
	// Pprof serves Go's profiler under /debug/pprof/ (behind APIKey, like
	// every route). Off by default: profiles show code paths and memory.
	Pprof bool
	// LLM is the upstream chat model of POST /v1/responses; nil: 501.
	LLM *LLM
	// AllowedHosts are Host names (or host:port) served without an API key
	// besides the loopback names and addresses. With APIKey set every
	// Host is served.
	AllowedHosts []string
	// LocalPeersOnly answers only requests from this machine (a loopback
	// peer address) and every other 403 forbidden_peer: what quarry serve
	// does on a non-loopback address without an API key, so that nothing
	// is served to the network unauthenticated unless asked for.
	LocalPeersOnly bool
	// MaxInFlight bounds the requests served at once (GET /healthz aside);
	// beyond it requests are answered 503 server_overloaded with
	// Retry-After. Default DefaultMaxInFlight.
	MaxInFlight int
	// A request body must keep coming: after BodyGrace it must average at
	// least MinBodyRate bytes per second, and no read may wait longer than
	// BodyIdleTimeout; a slower body is answered 408 and its connection
	// closed. Defaults DefaultBodyGrace, DefaultMinBodyRate,
	// DefaultBodyIdleTimeout.
	BodyGrace       time.Duration
	MinBodyRate     int64
	BodyIdleTimeout time.Duration
}

// maxJSONBytes bounds a JSON request body.
const maxJSONBytes = 4 << 20

// server holds the handler's state; its methods are the endpoints.
type server struct {
	db      *store.DB
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	// inflight holds a token per request being served (Options.MaxInFlight).
	inflight chan struct{}
}

// New returns the OpenAI-compatible HTTP API over db. The handler is safe
// for concurrent use; db must stay open while it serves. Uploaded files are
// the store's uploads (DB.UploadFile).
func New(db *store.DB, opts Options) http.Handler {
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = store.MaxFileBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.BodyGrace <= 0 {
		opts.BodyGrace = DefaultBodyGrace
	}
	if opts.MinBodyRate <= 0 {
		opts.MinBodyRate = DefaultMinBodyRate
	}
	if opts.BodyIdleTimeout <= 0 {
		opts.BodyIdleTimeout = DefaultBodyIdleTimeout
	}
	s := &server{db: db, opts: opts, log: opts.Logger, mux: http.NewServeMux(), inflight: make(chan struct{}, opts.MaxInFlight),
		metrics: newMetrics(db)}
	s.routes()
	return s
}

func (s *server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.Handle("GET /metrics", s.metrics.handler)
	m.HandleFunc("GET /backup", s.backup) // backup.go
	if s.opts.Pprof {
		m.HandleFunc("GET /debug/pprof/", pprof.Index)
		m.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		m.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}

	m.HandleFunc("POST /v1/files", s.createUpload)
	m.HandleFunc("GET /v1/files", s.listUploads)
	m.HandleFunc("GET /v1/files/{file_id}", s.getUpload)
	m.HandleFunc("DELETE /v1/files/{file_id}", s.deleteUpload)
	m.HandleFunc("GET /v1/files/{file_id}/content", s.uploadContent)

	m.HandleFunc("POST /v1/vector_stores", s.createVectorStore)
	m.HandleFunc("GET /v1/vector_stores", s.listVectorStores)
	m.HandleFunc("GET /v1/vector_stores/{vs_id}", s.getVectorStore)
	m.HandleFunc("POST /v1/vector_stores/{vs_id}", s.updateVectorStore)
	m.HandleFunc("DELETE /v1/vector_stores/{vs_id}", s.deleteVectorStore)

	m.HandleFunc("POST /v1/vector_stores/{vs_id}/files", s.createFile)
	m.HandleFunc("GET /v1/vector_stores/{vs_id}/files", s.listFiles)
	m.HandleFunc("GET /v1/vector_stores/{vs_id}/files/{file_id}", s.getFile)
	m.HandleFunc("POST /v1/vector_stores/{vs_id}/files/{file_id}", s.updateFile)
	m.HandleFunc("DELETE /v1/vector_stores/{vs_id}/files/{file_id}", s.deleteFile)
	m.HandleFunc("GET /v1/vector_stores/{vs_id}/files/{file_id}/content", s.fileContent)

	m.HandleFunc("POST /v1/vector_stores/{vs_id}/file_batches", s.createBatch)
	m.HandleFunc("GET /v1/vector_stores/{vs_id}/file_batches/{batch_id}", s.getBatch)
	m.HandleFunc("POST /v1/vector_stores/{vs_id}/file_batches/{batch_id}/cancel", s.cancelBatch)
	m.HandleFunc("GET /v1/vector_stores/{vs_id}/file_batches/{batch_id}/files", s.batchFiles)

	m.HandleFunc("POST /v1/vector_stores/{vs_id}/search", s.search)
	s.agentRoutes(m) // responses.go: /v1/responses, /mcp
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Request-Id", id)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	sw := &statusWriter{ResponseWriter: w}
	h, route := s.mux.Handler(r)
	defer s.logRequest(r, route, sw, start)
	s.serve(sw, r, h, route)
}

// serve answers r: authentication, then the route (h, pattern from the mux),
// or an error in the API's shape for an unknown one.
func (s *server) serve(w http.ResponseWriter, r *http.Request, h http.Handler, pattern string) {
	if s.opts.APIKey != "" && r.URL.Path != "/healthz" && !s.authorized(r) {
		writeError(w, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
			Message: "missing or incorrect API key: send the header 'Authorization: Bearer KEY'"})
		return
	}
	if !s.guard(w, r) {
		return
	}
	if r.URL.Path != "/healthz" {
		if !s.acquire(w, r) {
			return
		}
		defer s.release()
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &pacedBody{body: r.Body, rc: http.NewResponseController(w), o: &s.opts}
	}
	if pattern == "" {
		// No route: the mux answers 404 or 405 in plain text; keep its
		// status and headers (Allow) but answer in the API's error shape.
		cw := &captureWriter{header: w.Header()}
		h.ServeHTTP(cw, r)
		status := cw.status
		if status == 0 {
			status = http.StatusNotFound
		}
		msg := fmt.Sprintf("unknown endpoint: %s %s", r.Method, r.URL.Path)
		if status == http.StatusMethodNotAllowed {
			msg = fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)
		}
		w.Header().Del("Content-Type")
		w.Header().Del("X-Content-Type-Options")
		writeError(w, &apiError{Status: status, Type: "invalid_request_error", Message: msg})
		return
	}
	// Serve through the mux, which sets the path values Handler does not.
	s.mux.ServeHTTP(w, r)
}

func (s *server) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(key)), []byte(s.opts.APIKey)) == 1
}

// captureWriter records the status of a handler whose body is discarded.
type captureWriter struct {
	header http.Header
	status int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}
func (c *captureWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := s.db.VectorStores(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// apiError is an error in OpenAI's shape:
// {"error": {"message", "type", "param", "code"}}.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    any     `json:"code"` // string or null
}

func (e *apiError) Error() string { return e.Message }

func invalid(param, format string, a ...any) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, a...)}
	if param != "" {
		e.Param = &param
	}
	return e
}

func notFound(format string, a ...any) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "not_found", Message: fmt.Sprintf(format, a...)}
}

// toAPIError maps store's sentinels to statuses.
func toAPIError(err error) *apiError {
	var ae *apiError
	var mbe *http.MaxBytesError
	var be *bodyError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mbe):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "file_too_large",
			Message: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, errBodyTimeout):
		return &apiError{Status: http.StatusRequestTimeout, Type: "invalid_request_error", Code: "request_timeout",
			Message: "the request body came too slowly or stalled (see server.Options.MinBodyRate and BodyIdleTimeout)"}
	case errors.As(err, &be):
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: "invalid request body: " + be.err.Error()}
	case errors.Is(err, store.ErrNoSpace):
		return &apiError{Status: http.StatusInsufficientStorage, Type: "server_error", Code: "insufficient_storage",
			Message: "insufficient storage: the server's disk is full; nothing was stored (searches still work; retry once space is freed)"}
	case errors.Is(err, store.ErrInvalid):
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: cleanMessage(err)}
	case errors.Is(err, store.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "not_found", Message: cleanMessage(err)}
	case errors.Is(err, store.ErrExpired):
		// OpenAI: runs on an expired vector store fail; it stays
		// retrievable (status "expired") until deleted.
		return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "vector_store_expired", Message: cleanMessage(err)}
	case errors.Is(err, store.ErrEmbedderMismatch):
		return &apiError{Status: http.StatusConflict, Type: "invalid_request_error", Code: "embedder_mismatch",
			Message: cleanMessage(err) + " (the vector store was built by another embedder than the server's; restart with that embedder or re-embed the vector store with 'quarry' / DB.Reembed)"}
	case errors.Is(err, store.ErrClosed):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Message: "the store is closed"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Message: err.Error()}
	default:
		return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "internal error: " + err.Error()}
	}
}

// cleanMessage drops the "store: " prefix the sentinels carry.
func cleanMessage(err error) string {
	return strings.ReplaceAll(err.Error(), "store: ", "")
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	level := slog.LevelInfo
	if ae.Status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "request failed", "request_id", requestID(r.Context()), "method", r.Method,
		"path", r.URL.Path, "status", ae.Status, "err", err)
	writeError(w, ae)
}

// writeError writes e in OpenAI's shape. A permanent error (a 4xx other
// than 408 and 429) carries "x-should-retry: false", so that SDKs do not
// retry it (they retry 409 by default, which embedder_mismatch is not).
func writeError(w http.ResponseWriter, e *apiError) {
	if permanent(e.Status) {
		w.Header().Set("X-Should-Retry", "false")
	}
	writeJSON(w, e.Status, struct {
		Error *apiError `json:"error"`
	}{e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decodeJSON reads a JSON body into v, rejecting unknown fields as OpenAI
// does. An empty body decodes as {}.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body := http.MaxBytesReader(w, r.Body, maxJSONBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return invalid(ute.Field, "invalid type for '%s': expected %s, got %s", ute.Field, ute.Type, ute.Value)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			p := strings.Trim(f, `"`)
			return invalid(p, "unrecognized request argument supplied: %s", p)
		}
		return invalid("", "could not parse the JSON body of your request: %v", err)
	}
	if dec.More() {
		return invalid("", "could not parse the JSON body of your request: trailing data after the JSON object")
	}
	return nil
}

// listParams reads limit, order, after, before (and filter, for file lists).
func listParams(r *http.Request) (listOptions, error) {
	q := r.URL.Query()
	var o listOptions
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return o, invalid("limit", "invalid 'limit': must be an integer between 1 and 100, got %q", v)
		}
		o.Limit = n
	}
	switch v := q.Get("order"); v {
	case "", "asc", "desc":
		o.Order = v
	default:
		return o, invalid("order", "invalid 'order': expected 'asc' or 'desc', got %q", v)
	}
	o.After, o.Before = q.Get("after"), q.Get("before")
	switch v := store.FileStatus(q.Get("filter")); v {
	case "", store.StatusInProgress, store.StatusCompleted, store.StatusFailed, store.StatusCancelled:
		o.Status = v
	default:
		return o, invalid("filter", "invalid 'filter': expected one of in_progress, completed, failed, cancelled, got %q", v)
	}
	return o, nil
}

// list is OpenAI's list envelope.
type list[T any] struct {
	Object  string  `json:"object"` // "list"
	Data    []T     `json:"data"`
	FirstID *string `json:"first_id"`
	LastID  *string `json:"last_id"`
	HasMore bool    `json:"has_more"`
}

func newList[T any](data []T, first, last string, more bool) list[T] {
	if data == nil {
		data = []T{}
	}
	l := list[T]{Object: "list", Data: data, HasMore: more}
	if first != "" {
		l.FirstID = &first
	}
	if last != "" {
		l.LastID = &last
	}
	return l
}
