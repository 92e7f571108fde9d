package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Request bounds: the defaults of the Options fields that set them.
const (
	// DefaultMaxInFlight is Options.MaxInFlight's default.
	DefaultMaxInFlight = 64
	// DefaultBodyGrace is Options.BodyGrace's default.
	DefaultBodyGrace = 10 * time.Second
	// DefaultMinBodyRate is Options.MinBodyRate's default, in bytes per second.
	DefaultMinBodyRate = 4 << 10
	// DefaultBodyIdleTimeout is Options.BodyIdleTimeout's default.
	DefaultBodyIdleTimeout = 30 * time.Second
	// MaxQueryBytes bounds the total length of a search's query strings;
	// longer queries are rejected with 400 (an embedding model reads at
	// most a few thousand tokens of a query anyway).
	MaxQueryBytes = 64 << 10
	// maxFormFields and maxFormBytes bound the non-file fields of a
	// multipart form: their count and their total size.
	maxFormFields = 32
	maxFormBytes  = 256 << 10
)

// guard applies the request bounds and, without an API key, the browser
// defenses to r. It reports false after answering r itself.
func (s *server) guard(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.LocalPeersOnly && !loopbackPeer(r.RemoteAddr) {
		s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "peer", r.RemoteAddr, "reason", "not a local peer")
		writeError(w, &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: "forbidden_peer",
			Message: "this server has no API key and answers only requests from its own machine: its operator can set an API key to serve the network"})
		return false
	}
	if s.opts.APIKey == "" {
		if e := s.browserCheck(r); e != nil {
			s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "host", r.Host, "origin", r.Header.Get("Origin"), "reason", e.Message)
			writeError(w, e)
			return false
		}
	}
	return true
}

// browserCheck defends a server without an API key against web pages the
// user visits: DNS rebinding (a Host that is not a loopback name or
// address, or one of Options.AllowedHosts) and cross-site requests (an
// Origin other than the server's own, Sec-Fetch-Site cross-site or
// same-site, and the content types of "simple" requests that need no CORS
// preflight on anything but multipart uploads).
func (s *server) browserCheck(r *http.Request) *apiError {
	forbidden := func(code, msg string) *apiError {
		return &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: code, Message: msg}
	}
	if !s.allowedHost(r.Host) {
		return forbidden("forbidden_host", "Host "+strconv.Quote(r.Host)+" is not a loopback name or address: without an API key the server answers only requests addressed to localhost (set an API key to serve other hosts)")
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if o == "null" || err != nil || !strings.EqualFold(u.Host, r.Host) {
			return forbidden("cross_origin", "cross-origin request from "+strconv.Quote(o)+" refused: without an API key the server answers only same-origin and non-browser requests")
		}
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return forbidden("cross_origin", "cross-site browser request refused (Sec-Fetch-Site: "+r.Header.Get("Sec-Fetch-Site")+")")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		switch mt, _, _ := strings.Cut(strings.ToLower(r.Header.Get("Content-Type")), ";"); strings.TrimSpace(mt) {
		case "text/plain", "application/x-www-form-urlencoded":
			return &apiError{Status: http.StatusUnsupportedMediaType, Type: "invalid_request_error", Code: "unsupported_media_type",
				Message: "Content-Type " + strconv.Quote(mt) + " is not accepted: send JSON bodies as application/json"}
		}
	}
	return nil
}

// loopbackPeer reports whether a request's RemoteAddr is a loopback
// address (a Unix socket's empty or "@" address counts as local).
func loopbackPeer(remote string) bool {
	h, _, err := net.SplitHostPort(remote)
	if err != nil {
		h = remote
	}
	if h == "" || h == "@" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// allowedHost reports whether host (a Host header, with or without port)
// names the loopback interface or is one of Options.AllowedHosts.
func (s *server) allowedHost(host string) bool {
	if host == "" {
		return true // HTTP/1.0 without Host: not a browser
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
	for _, a := range s.opts.AllowedHosts {
		if strings.EqualFold(a, h) || strings.EqualFold(a, host) {
			return true
		}
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	// The unspecified address (0.0.0.0, ::) reaches this host only; a
	// page fetching it still carries its own Origin, refused below.
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// acquire takes an in-flight slot, or answers 503 with Retry-After and
// reports false when Options.MaxInFlight requests are being served.
func (s *server) acquire(w http.ResponseWriter, r *http.Request) bool {
	select {
	case s.inflight <- struct{}{}:
		return true
	default:
	}
	w.Header().Set("Retry-After", "1")
	s.log.Warn("request refused: too many in flight", "method", r.Method, "path", r.URL.Path, "max_in_flight", cap(s.inflight))
	writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "server_overloaded",
		Message: "the server is serving " + strconv.Itoa(cap(s.inflight)) + " requests already; retry after 1 second"})
	return false
}

func (s *server) release() { <-s.inflight }

// errBodyTimeout reports a request body that came too slowly.
var errBodyTimeout = errors.New("server: request body too slow")

// bodyError is a failure reading the request body: the client's fault, not
// the server's.
type bodyError struct{ err error }

func (e *bodyError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *bodyError) Unwrap() error { return e.err }

// pacedBody is a request body that must keep coming: each read has a
// deadline BodyIdleTimeout from now and no later than when the average rate
// since the first read would fall below MinBodyRate, after a grace period.
// It sets the connection's read deadline (http.ResponseController), and
// clears it at the end of the body so that the server's own background read
// (which cancels the request's context when the client goes away) is not
// cut short while the handler works.
type pacedBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	o     *Options
	start time.Time
	n     int64
	done  bool
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if p.done {
		return p.body.Read(b)
	}
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	dl := p.start.Add(p.o.BodyGrace + time.Duration(float64(p.n)/float64(p.o.MinBodyRate)*float64(time.Second)))
	if idle := now.Add(p.o.BodyIdleTimeout); idle.Before(dl) {
		dl = idle
	}
	if !dl.After(now) {
		p.expire()
		return 0, &bodyError{errBodyTimeout}
	}
	deadlines := p.rc.SetReadDeadline(dl) == nil
	n, err := p.body.Read(b)
	p.n += int64(n)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			p.expire()
			return n, &bodyError{errBodyTimeout}
		}
		if err == io.EOF && deadlines {
			p.finish()
		}
		if err != io.EOF {
			var mbe *http.MaxBytesError
			if !errors.As(err, &mbe) {
				err = &bodyError{err}
			}
		}
	}
	return n, err
}

// finish clears the deadline at the end of the body.
func (p *pacedBody) finish() {
	p.done = true
	p.rc.SetReadDeadline(time.Time{})
}

// expire gives up on a body that came too slowly: every later read of the
// connection fails at once, so that the server does not wait for the rest
// of the body before answering and closing it.
func (p *pacedBody) expire() {
	p.done = true
	p.rc.SetReadDeadline(time.Unix(1, 0))
}

func (p *pacedBody) Close() error { return p.body.Close() }
