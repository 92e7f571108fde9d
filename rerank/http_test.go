package rerank

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// provider reproduces a reranking API: it scores a document by how often the
// query's first word occurs in it, returns results best first (as Cohere,
// Jina and TEI do), and lets a test inject failures per call number.
type provider struct {
	t      *testing.T
	style  string
	calls  atomic.Int32
	docs   atomic.Int32 // total documents seen
	maxDoc int
	// fail, when set, may write a response for call n (1-based) and return
	// true to skip the normal answer.
	fail func(w http.ResponseWriter, n int) bool
	// mangle rewrites the normal JSON results before they are sent.
	mangle func(results []map[string]any) any
	logits bool
}

func (p *provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(p.calls.Add(1))
	wantPath := "/v1/rerank"
	if p.style == StyleTEI {
		wantPath = "/rerank"
	}
	if r.Method != http.MethodPost || r.URL.Path != wantPath {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer sk-test" {
		http.Error(w, `{"message":"invalid api token"}`, http.StatusUnauthorized)
		return
	}
	if p.fail != nil && p.fail(w, n) {
		return
	}
	var query string
	var docs []string
	if p.style == StyleTEI {
		var req struct {
			Query     string   `json:"query"`
			Texts     []string `json:"texts"`
			RawScores *bool    `json:"raw_scores"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.RawScores == nil || *req.RawScores {
			http.Error(w, `{"error":"bad request","error_type":"validation"}`, http.StatusUnprocessableEntity)
			return
		}
		query, docs = req.Query, req.Texts
	} else {
		var req struct {
			Model     string   `json:"model"`
			Query     string   `json:"query"`
			Documents []string `json:"documents"`
			TopN      int      `json:"top_n"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model == "" || req.TopN != len(req.Documents) {
			http.Error(w, `{"message":"invalid request"}`, http.StatusBadRequest)
			return
		}
		query, docs = req.Query, req.Documents
	}
	if p.maxDoc > 0 && len(docs) > p.maxDoc {
		http.Error(w, `{"error":"batch size too large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	p.docs.Add(int32(len(docs)))
	word := strings.Fields(query)[0]
	results := make([]map[string]any, len(docs))
	for i, d := range docs {
		s := float64(strings.Count(d, word)) / 10
		if p.logits {
			s = s*20 - 5
		}
		key := "relevance_score"
		if p.style == StyleTEI {
			key = "score"
		}
		results[i] = map[string]any{"index": i, key: s}
	}
	// Best first, like the real services.
	for i := 1; i < len(results); i++ {
		for j := i; j > 0 && score(results[j]) > score(results[j-1]); j-- {
			results[j], results[j-1] = results[j-1], results[j]
		}
	}
	var body any = map[string]any{"id": "x", "results": results, "meta": map[string]any{}}
	if p.style == StyleTEI {
		body = results
	}
	if p.mangle != nil {
		body = p.mangle(results)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func score(m map[string]any) float64 {
	if v, ok := m["relevance_score"].(float64); ok {
		return v
	}
	return m["score"].(float64)
}

func testCands() []Candidate {
	return []Candidate{
		{ID: 10, Text: "cat", Score: 0.9},
		{ID: 11, Text: "cat cat cat", Score: 0.8},
		{ID: 12, Text: "dog", Score: 0.7},
		{ID: 13, Text: "cat cat", Score: 0.6},
		{ID: 14, Text: "bird", Score: 0.5},
	}
}

func newTestHTTP(t *testing.T, p *provider, opts HTTPOptions) *HTTP {
	t.Helper()
	p.t = t
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	opts.URL = srv.URL
	opts.APIKey = "sk-test"
	opts.Style = p.style
	if opts.Model == "" && p.style != StyleTEI {
		opts.Model = "rerank-v3.5"
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	h, err := NewHTTP(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHTTPStyles(t *testing.T) {
	for _, style := range []string{StyleCohere, StyleJina, StyleTEI} {
		for _, maxDocs := range []int{0, 2} {
			t.Run(fmt.Sprintf("%s/max=%d", style, maxDocs), func(t *testing.T) {
				p := &provider{style: style, maxDoc: 1000}
				h := newTestHTTP(t, p, HTTPOptions{MaxDocuments: maxDocs})
				in := testCands()
				got, err := h.Rerank(context.Background(), "cat please", in)
				if err != nil {
					t.Fatal(err)
				}
				// cat x3 (.3), x2 (.2), x1 (.1); dog, bird 0 keep input order.
				if fmt.Sprint(ids(got)) != "[11 13 10 12 14]" {
					t.Fatalf("Rerank = %v, want [11 13 10 12 14]", ids(got))
				}
				if want := []float64{0.3, 0.2, 0.1, 0, 0}; fmt.Sprint(scores(got)) != fmt.Sprint(want) {
					t.Fatalf("scores = %v, want %v", scores(got), want)
				}
				wantCalls := int32(1)
				if maxDocs == 2 {
					wantCalls = 3
				}
				if p.calls.Load() != wantCalls || p.docs.Load() != 5 {
					t.Fatalf("calls, docs = %d, %d, want %d, 5", p.calls.Load(), p.docs.Load(), wantCalls)
				}
				if in[0].Score != 0.9 {
					t.Fatal("input modified")
				}
			})
		}
	}
}

func TestHTTPTEIDefaultBatch(t *testing.T) {
	p := &provider{style: StyleTEI, maxDoc: 32} // TEI's default --max-client-batch-size
	h := newTestHTTP(t, p, HTTPOptions{})
	cands := make([]Candidate, 70)
	for i := range cands {
		cands[i] = Candidate{ID: uint64(i), Text: strings.Repeat("cat ", i%7)}
	}
	got, err := h.Rerank(context.Background(), "cat", cands)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 70 || p.calls.Load() != 3 {
		t.Fatalf("got %d results in %d calls, want 70 in 3", len(got), p.calls.Load())
	}
}

func TestHTTPLogits(t *testing.T) {
	p := &provider{style: StyleTEI, logits: true}
	h := newTestHTTP(t, p, HTTPOptions{})
	got, err := h.Rerank(context.Background(), "cat", testCands())
	if err != nil {
		t.Fatal(err)
	}
	// 0.3 → logit 1 → sigmoid 0.731...; 0 → -5 → 0.0067.
	if s := got[0].Score; s < 0.73 || s > 0.732 || got[4].Score > 0.007 || got[4].Score <= 0 {
		t.Fatalf("sigmoid scores = %v", scores(got))
	}
}

func TestHTTPRetries(t *testing.T) {
	tests := []struct {
		name      string
		fail      func(w http.ResponseWriter, n int) bool
		opts      HTTPOptions
		wantCalls int32
		wantErr   func(error) bool
	}{
		{
			name: "429 with Retry-After then success",
			fail: func(w http.ResponseWriter, n int) bool {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					http.Error(w, `{"message":"You are using a Trial key, which is limited to 10 API calls / minute."}`, http.StatusTooManyRequests)
					return true
				}
				return false
			},
			opts:      HTTPOptions{MaxRetryAfter: 5 * time.Millisecond},
			wantCalls: 2,
		},
		{
			name: "500 twice then success",
			fail: func(w http.ResponseWriter, n int) bool {
				if n <= 2 {
					http.Error(w, "internal", http.StatusInternalServerError)
					return true
				}
				return false
			},
			wantCalls: 3,
		},
		{
			name: "503 forever",
			fail: func(w http.ResponseWriter, n int) bool {
				w.Header().Set("Retry-After-Ms", "1")
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return true
			},
			opts:      HTTPOptions{MaxRetries: 2},
			wantCalls: 3,
			wantErr: func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.StatusCode == 503 && se.Attempts == 3 && se.Temporary()
			},
		},
		{
			name: "400 is not retried",
			fail: func(w http.ResponseWriter, n int) bool {
				http.Error(w, `{"message":"invalid request: query must not be empty"}`, http.StatusBadRequest)
				return true
			},
			wantCalls: 1,
			wantErr: func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.StatusCode == 400 && !se.Temporary() && strings.Contains(se.Message, "query must not be empty")
			},
		},
		{
			name: "retries off",
			fail: func(w http.ResponseWriter, n int) bool {
				http.Error(w, "x", http.StatusBadGateway)
				return true
			},
			opts:      HTTPOptions{MaxRetries: -1},
			wantCalls: 1,
			wantErr: func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.StatusCode == 502
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &provider{style: StyleCohere, fail: tc.fail}
			h := newTestHTTP(t, p, tc.opts)
			got, err := h.Rerank(context.Background(), "cat", testCands())
			if p.calls.Load() != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", p.calls.Load(), tc.wantCalls)
			}
			if tc.wantErr == nil {
				if err != nil || len(got) != 5 {
					t.Fatalf("Rerank = %v, %v", ids(got), err)
				}
				return
			}
			if !tc.wantErr(err) || got != nil {
				t.Fatalf("Rerank = %v, %v: unexpected error", got, err)
			}
		})
	}
}

func TestHTTPBadResponses(t *testing.T) {
	tests := []struct {
		name   string
		style  string
		mangle func(results []map[string]any) any
		raw    string
	}{
		{name: "malformed json", style: StyleCohere, raw: `{"results": [`},
		{name: "not json", style: StyleTEI, raw: `<html>gateway</html>`},
		{name: "no results field", style: StyleJina, mangle: func([]map[string]any) any { return map[string]any{"data": []int{}} }},
		{name: "index out of range", style: StyleCohere, mangle: func(r []map[string]any) any {
			r[0]["index"] = 5
			return map[string]any{"results": r}
		}},
		{name: "negative index", style: StyleTEI, mangle: func(r []map[string]any) any {
			r[0]["index"] = -1
			return r
		}},
		{name: "repeated index", style: StyleCohere, mangle: func(r []map[string]any) any {
			r[1]["index"] = r[0]["index"]
			return map[string]any{"results": r}
		}},
		{name: "missing result", style: StyleJina, mangle: func(r []map[string]any) any {
			return map[string]any{"results": r[:4]}
		}},
		{name: "missing score", style: StyleTEI, mangle: func(r []map[string]any) any {
			delete(r[2], "score")
			return r
		}},
		{name: "string score", style: StyleCohere, mangle: func(r []map[string]any) any {
			r[0]["relevance_score"] = "high"
			return map[string]any{"results": r}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &provider{style: tc.style, mangle: tc.mangle}
			if tc.raw != "" {
				p.fail = func(w http.ResponseWriter, n int) bool {
					w.Write([]byte(tc.raw))
					return true
				}
			}
			h := newTestHTTP(t, p, HTTPOptions{})
			got, err := h.Rerank(context.Background(), "cat", testCands())
			if !errors.Is(err, ErrBadResponse) || got != nil {
				t.Fatalf("Rerank = %v, %v, want ErrBadResponse", got, err)
			}
			if p.calls.Load() != 1 {
				t.Fatalf("bad 2xx response retried: %d calls", p.calls.Load())
			}
		})
	}
}

func TestHTTPContext(t *testing.T) {
	p := &provider{style: StyleCohere, fail: func(w http.ResponseWriter, n int) bool {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return true
	}}
	h := newTestHTTP(t, p, HTTPOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Rerank(ctx, "cat", testCands())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("Rerank = %v after %v, want deadline exceeded promptly", err, time.Since(start))
	}
}

func TestHTTPUnauthorized(t *testing.T) {
	p := &provider{style: StyleCohere}
	h := newTestHTTP(t, p, HTTPOptions{})
	h.opts.APIKey = "wrong"
	_, err := h.Rerank(context.Background(), "cat", testCands())
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 401 {
		t.Fatalf("Rerank with wrong key = %v, want 401", err)
	}
}

func TestHTTPOptions(t *testing.T) {
	tests := []struct {
		opts     HTTPOptions
		wantErrs []string
		endpoint string
	}{
		{opts: HTTPOptions{URL: "https://api.cohere.com", Model: "rerank-v3.5"}, endpoint: "https://api.cohere.com/v1/rerank"},
		{opts: HTTPOptions{URL: "https://api.jina.ai/v1/", Model: "jina-reranker-v2-base-multilingual", Style: "Jina"}, endpoint: "https://api.jina.ai/v1/rerank"},
		{opts: HTTPOptions{URL: "http://localhost:8080", Style: StyleTEI}, endpoint: "http://localhost:8080/rerank"},
		{opts: HTTPOptions{URL: "http://h/custom/rerank", Model: "m"}, endpoint: "http://h/custom/rerank"},
		{opts: HTTPOptions{}, wantErrs: []string{"URL is required", "Model is required"}},
		{opts: HTTPOptions{URL: "ftp://x", Style: "voyage", ScoreMapping: "cubic"}, wantErrs: []string{"not http", "unknown Style", "unknown ScoreMapping"}},
	}
	for _, tc := range tests {
		h, err := NewHTTP(tc.opts)
		if len(tc.wantErrs) == 0 {
			if err != nil || h.endpoint != tc.endpoint {
				t.Errorf("NewHTTP(%+v) endpoint = %v, %v, want %s", tc.opts, h, err, tc.endpoint)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("NewHTTP(%+v) = %v, want ErrInvalidOptions", tc.opts, err)
			continue
		}
		for _, w := range tc.wantErrs {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("NewHTTP(%+v) = %v, want it to mention %q", tc.opts, err, w)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	date := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		h        map[string]string
		min, max time.Duration
	}{
		{map[string]string{}, 0, 0},
		{map[string]string{"Retry-After": "2"}, 2 * time.Second, 2 * time.Second},
		{map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond, 500 * time.Millisecond},
		{map[string]string{"Retry-After-Ms": "150", "Retry-After": "9"}, 150 * time.Millisecond, 150 * time.Millisecond},
		{map[string]string{"Retry-After": date}, time.Second, 3 * time.Second},
		{map[string]string{"Retry-After": "3600"}, 10 * time.Second, 10 * time.Second}, // capped
		{map[string]string{"Retry-After": "soon"}, 0, 0},
		{map[string]string{"Retry-After": "-4"}, 0, 0},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range tc.h {
			h.Set(k, v)
		}
		if got := retryAfter(h, 10*time.Second); got < tc.min || got > tc.max {
			t.Errorf("retryAfter(%v) = %v, want %v..%v", tc.h, got, tc.min, tc.max)
		}
	}
}

func TestHTTPDocument(t *testing.T) {
	p := &provider{style: StyleJina}
	h := newTestHTTP(t, p, HTTPOptions{Document: func(c Candidate) string {
		return strings.Join(c.Headings, " > ") + "\n\n" + c.Text
	}})
	cands := []Candidate{
		{ID: 1, Text: "nothing here"},
		{ID: 2, Text: "nor here", Headings: []string{"cat", "cat care"}},
	}
	got, err := h.Rerank(context.Background(), "cat", cands)
	if err != nil || fmt.Sprint(ids(got)) != "[2 1]" {
		t.Fatalf("Rerank with Document = %v, %v, want [2 1]", ids(got), err)
	}
}

func FuzzParseResults(f *testing.F) {
	f.Add(`{"results":[{"index":1,"relevance_score":0.5},{"index":0,"relevance_score":0.1}]}`, 2, false)
	f.Add(`[{"index":0,"score":3.5}]`, 1, true)
	f.Add(`{"results":null}`, 0, false)
	f.Fuzz(func(t *testing.T, body string, n int, tei bool) {
		n = max(0, n%64)
		style := StyleCohere
		if tei {
			style = StyleTEI
		}
		out := make([]float64, n)
		for i := range out {
			out[i] = math.NaN()
		}
		if err := parseResults(style, []byte(body), out); err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("parseResults error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		for i, s := range out {
			if math.IsNaN(s) || math.IsInf(s, 0) {
				t.Fatalf("parseResults(%q) accepted, but document %d has score %v", body, i, s)
			}
		}
	})
}
