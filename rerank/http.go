package rerank

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Styles of reranking API understood by HTTP.
const (
	// StyleCohere: POST {URL}/v1/rerank {model, query, documents, top_n}
	// → {results: [{index, relevance_score}]}.
	StyleCohere = "cohere"
	// StyleJina: the same shape as Cohere (Jina AI, vLLM, Infinity, ...).
	StyleJina = "jina"
	// StyleTEI: Hugging Face text-embeddings-inference, POST {URL}/rerank
	// {query, texts, raw_scores: false} → [{index, score}].
	StyleTEI = "tei"
)

// Score mappings of HTTPOptions.ScoreMapping.
const (
	// ScoreAuto keeps scores when all of them are in 0..1 and applies the
	// logistic sigmoid to all of them otherwise (raw logits).
	ScoreAuto = "auto"
	// ScoreIdentity keeps scores, clamped to 0..1.
	ScoreIdentity = "identity"
	// ScoreSigmoid always applies the logistic sigmoid.
	ScoreSigmoid = "sigmoid"
)

// HTTPOptions configures an HTTP cross-encoder reranker.
type HTTPOptions struct {
	// URL is the service's base URL, e.g. "https://api.cohere.com" or
	// "http://localhost:8080". The style's path (/v1/rerank or /rerank) is
	// appended unless URL already ends in "/rerank". Required.
	URL string
	// APIKey, when set, is sent as "Authorization: Bearer <APIKey>".
	APIKey string
	// Model is the reranking model; required for cohere and jina, unused
	// by tei.
	Model string
	// Style is StyleCohere (default), StyleJina or StyleTEI.
	Style string
	// Timeout bounds each request. Default 30s.
	Timeout time.Duration
	// MaxDocuments is the most documents per request; more candidates are
	// sent in several requests. Default 1000 (cohere, jina) or 32 (tei, its
	// default --max-client-batch-size).
	MaxDocuments int
	// MaxRetries is how many times a request is retried on a connection
	// error, 408, 409, 429 or 5xx. Default 3; negative means none.
	MaxRetries int
	// RetryBackoff is the first backoff when the server gives no
	// Retry-After; it doubles per retry, with jitter, up to 16x. Default
	// 500ms.
	RetryBackoff time.Duration
	// MaxRetryAfter caps a server's Retry-After. Default 30s.
	MaxRetryAfter time.Duration
	// ScoreMapping maps service scores to 0..1: ScoreAuto (default),
	// ScoreIdentity or ScoreSigmoid.
	ScoreMapping string
	// HTTPClient is the client to use. Default: a new client with Timeout.
	HTTPClient *http.Client
	// Document, when set, builds the text sent for a candidate, e.g. to
	// prefix its heading path or filename. Default: the candidate's Text.
	Document func(Candidate) string
}

// EnsureDefaults fills zero fields with their defaults and returns o.
func (o *HTTPOptions) EnsureDefaults() *HTTPOptions {
	if o.Style == "" {
		o.Style = StyleCohere
	}
	o.Style = strings.ToLower(o.Style)
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.MaxDocuments <= 0 {
		o.MaxDocuments = 1000
		if o.Style == StyleTEI {
			o.MaxDocuments = 32
		}
	}
	switch {
	case o.MaxRetries == 0:
		o.MaxRetries = 3
	case o.MaxRetries < 0:
		o.MaxRetries = 0
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 30 * time.Second
	}
	if o.ScoreMapping == "" {
		o.ScoreMapping = ScoreAuto
	}
	return o
}

// Validate reports every problem with o at once (after defaults are
// applied, a missing URL or model or an unknown style or mapping).
func (o HTTPOptions) Validate() error {
	o.EnsureDefaults()
	var errs []error
	if o.URL == "" {
		errs = append(errs, fmt.Errorf("%w: URL is required", ErrInvalidOptions))
	} else if !strings.HasPrefix(o.URL, "http://") && !strings.HasPrefix(o.URL, "https://") {
		errs = append(errs, fmt.Errorf("%w: URL %q is not http(s)", ErrInvalidOptions, o.URL))
	}
	switch o.Style {
	case StyleCohere, StyleJina:
		if o.Model == "" {
			errs = append(errs, fmt.Errorf("%w: Model is required for style %q", ErrInvalidOptions, o.Style))
		}
	case StyleTEI:
	default:
		errs = append(errs, fmt.Errorf("%w: unknown Style %q (want cohere, jina or tei)", ErrInvalidOptions, o.Style))
	}
	switch o.ScoreMapping {
	case ScoreAuto, ScoreIdentity, ScoreSigmoid:
	default:
		errs = append(errs, fmt.Errorf("%w: unknown ScoreMapping %q", ErrInvalidOptions, o.ScoreMapping))
	}
	return errors.Join(errs...)
}

// HTTP is a Reranker backed by a cross-encoder reranking service (Cohere,
// Jina, TEI and compatible servers). It is safe for concurrent use.
type HTTP struct {
	opts     HTTPOptions
	endpoint string
	client   *http.Client
}

// NewHTTP returns an HTTP reranker, or an error wrapping ErrInvalidOptions
// listing every problem with opts.
func NewHTTP(opts HTTPOptions) (*HTTP, error) {
	opts.EnsureDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	ep := strings.TrimRight(opts.URL, "/")
	if !strings.HasSuffix(ep, "/rerank") {
		switch {
		case opts.Style == StyleTEI:
			ep += "/rerank"
		case strings.HasSuffix(ep, "/v1"), strings.HasSuffix(ep, "/v2"):
			ep += "/rerank"
		default:
			ep += "/v1/rerank"
		}
	}
	c := opts.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: opts.Timeout}
	}
	return &HTTP{opts: opts, endpoint: ep, client: c}, nil
}

// Rerank sends query and the candidates' texts to the service in batches of
// MaxDocuments and returns the candidates re-scored in 0..1, best first
// (ties keep the first-stage order). On failure it returns a *StatusError, an
// error wrapping ErrBadResponse, or the context's error; it never returns a
// partial result. cands is not modified.
func (h *HTTP) Rerank(ctx context.Context, query string, cands []Candidate) ([]Candidate, error) {
	raw := make([]float64, len(cands))
	for start := 0; start < len(cands); start += h.opts.MaxDocuments {
		end := min(start+h.opts.MaxDocuments, len(cands))
		if err := h.batch(ctx, query, cands[start:end], raw[start:end]); err != nil {
			return nil, err
		}
	}
	mapScores(raw, h.opts.ScoreMapping)
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case raw[a] > raw[b]:
			return -1
		case raw[a] < raw[b]:
			return 1
		}
		return 0
	})
	out := make([]Candidate, len(cands))
	for i, j := range order {
		out[i] = cands[j]
		out[i].Score = raw[j]
	}
	return out, nil
}

func mapScores(s []float64, mapping string) {
	sig := mapping == ScoreSigmoid
	if mapping == ScoreAuto {
		for _, x := range s {
			if x < 0 || x > 1 {
				sig = true
				break
			}
		}
	}
	for i, x := range s {
		if sig {
			x = 1 / (1 + math.Exp(-x))
		}
		s[i] = clamp01(x)
	}
}

type cohereRequest struct {
	Model     string   `json:"model,omitempty"`
	Query     string   `json:"query"`
	Documents []string `json:"documents"`
	TopN      int      `json:"top_n"`
}

type cohereResponse struct {
	Results *[]struct {
		Index          *int     `json:"index"`
		RelevanceScore *float64 `json:"relevance_score"`
	} `json:"results"`
}

type teiRequest struct {
	Query     string   `json:"query"`
	Texts     []string `json:"texts"`
	RawScores bool     `json:"raw_scores"`
	Truncate  bool     `json:"truncate"`
}

type teiResult struct {
	Index *int     `json:"index"`
	Score *float64 `json:"score"`
}

// batch scores one batch into out (same length as cands).
func (h *HTTP) batch(ctx context.Context, query string, cands []Candidate, out []float64) error {
	docs := make([]string, len(cands))
	for i, c := range cands {
		if h.opts.Document != nil {
			docs[i] = h.opts.Document(c)
		} else {
			docs[i] = c.Text
		}
	}
	var body []byte
	var err error
	if h.opts.Style == StyleTEI {
		body, err = json.Marshal(teiRequest{Query: query, Texts: docs, Truncate: true})
	} else {
		body, err = json.Marshal(cohereRequest{Model: h.opts.Model, Query: query, Documents: docs, TopN: len(docs)})
	}
	if err != nil {
		return fmt.Errorf("rerank: encode request: %w", err)
	}
	resp, err := h.post(ctx, body)
	if err != nil {
		return err
	}
	return parseResults(h.opts.Style, resp, out)
}

// parseResults decodes a rerank response for len(out) documents into out,
// validating that every document gets exactly one finite score.
func parseResults(style string, resp []byte, out []float64) error {
	type pair struct {
		index *int
		score *float64
	}
	var pairs []pair
	if style == StyleTEI {
		var r []teiResult
		if err := json.Unmarshal(resp, &r); err != nil {
			return fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		for _, x := range r {
			pairs = append(pairs, pair{x.Index, x.Score})
		}
	} else {
		var r cohereResponse
		if err := json.Unmarshal(resp, &r); err != nil {
			return fmt.Errorf("%w: %v", ErrBadResponse, err)
		}
		if r.Results == nil {
			return fmt.Errorf("%w: no results field", ErrBadResponse)
		}
		for _, x := range *r.Results {
			pairs = append(pairs, pair{x.Index, x.RelevanceScore})
		}
	}
	if len(pairs) != len(out) {
		return fmt.Errorf("%w: %d results for %d documents", ErrBadResponse, len(pairs), len(out))
	}
	seen := make([]bool, len(out))
	for _, p := range pairs {
		if p.index == nil || p.score == nil {
			return fmt.Errorf("%w: result without index or score", ErrBadResponse)
		}
		i := *p.index
		if i < 0 || i >= len(out) {
			return fmt.Errorf("%w: index %d out of range [0,%d)", ErrBadResponse, i, len(out))
		}
		if seen[i] {
			return fmt.Errorf("%w: index %d repeated", ErrBadResponse, i)
		}
		if math.IsNaN(*p.score) || math.IsInf(*p.score, 0) {
			return fmt.Errorf("%w: score for index %d is not finite", ErrBadResponse, i)
		}
		seen[i] = true
		out[i] = *p.score
	}
	return nil
}

// post sends body, retrying per the options, and returns the 2xx body.
func (h *HTTP) post(ctx context.Context, body []byte) ([]byte, error) {
	var last error
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("rerank: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if h.opts.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+h.opts.APIKey)
		}
		var wait time.Duration
		resp, err := h.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = fmt.Errorf("rerank: post %s: %w", h.endpoint, err)
		} else {
			data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
			resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2 && rerr == nil:
				return data, nil
			case resp.StatusCode/100 == 2:
				last = fmt.Errorf("rerank: read response: %w", rerr)
			default:
				msg := strings.TrimSpace(string(data[:min(len(data), 512)]))
				serr := &StatusError{StatusCode: resp.StatusCode, Message: msg, Attempts: attempt + 1}
				if !retryableStatus(resp.StatusCode) {
					return nil, serr
				}
				last = serr
				wait = retryAfter(resp.Header, h.opts.MaxRetryAfter)
			}
		}
		if attempt >= h.opts.MaxRetries {
			return nil, last
		}
		if wait <= 0 {
			b := h.opts.RetryBackoff << min(attempt, 4)
			wait = b/2 + rand.N(b/2+1)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds or HTTP date),
// capped at limit; 0 when absent.
func retryAfter(hd http.Header, limit time.Duration) time.Duration {
	var d time.Duration
	if v := hd.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			d = time.Duration(ms * float64(time.Millisecond))
		}
	} else if v := hd.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
			d = time.Duration(s * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			d = time.Until(t)
		}
	}
	return min(max(d, 0), limit)
}
