package embed

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/chunk"
)

// fakeServer reproduces OpenAI's embeddings endpoint: the request and
// response shapes of https://platform.openai.com/docs/api-reference/embeddings.
// Each input's vector is a deterministic, unnormalized function of its text.
type fakeServer struct {
	t    *testing.T
	dims int

	ignoreEncoding bool // answer float arrays whatever encoding_format says (Ollama, TEI)
	reverse        bool // return data in reverse order
	// mutate, when set, may rewrite the response data (or the whole body)
	// for the n-th request (1-based).
	mutate func(n int, data []map[string]any) ([]map[string]any, string)
	// fail, when set, may answer request n with an error.
	fail func(n int, w http.ResponseWriter, req *embeddingsRequest) bool

	mu       sync.Mutex
	requests []embeddingsRequest // guarded by mu
	headers  []http.Header       // guarded by mu
	n        atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64
}

func fakeVector(text string, dims int) []float32 {
	v, _ := NewLocal(dims).Embed(context.Background(), []string{text})
	out := v[0]
	for i := range out {
		out[i] = out[i]*3 + 0.01 // not normalized
	}
	return out
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxIn.Load()
		if in <= m || f.maxIn.CompareAndSwap(m, in) {
			break
		}
	}
	n := int(f.n.Add(1))
	var req embeddingsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, 400)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	if f.fail != nil && f.fail(n, w, &req) {
		return
	}
	time.Sleep(time.Millisecond) // let concurrent requests overlap
	dims := f.dims
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	data := make([]map[string]any, len(req.Input))
	tokens := 0
	for i, text := range req.Input {
		v := fakeVector(text, dims)
		tokens += len(strings.Fields(text))
		var emb any = v
		if req.EncodingFormat == Base64 && !f.ignoreEncoding {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	if f.reverse {
		slices.Reverse(data)
	}
	if f.mutate != nil {
		var body string
		if data, body = f.mutate(n, data); body != "" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, body)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

func (f *fakeServer) reqs() []embeddingsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// newClient starts f and returns a client for it with fast retries whose
// waits are recorded instead of slept.
func newClient(t *testing.T, f *fakeServer, opts OpenAIOptions) (*OpenAI, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	if opts.BaseURL == "" {
		opts.BaseURL = srv.URL + "/v1"
	}
	if opts.Model == "" {
		opts.Model = "text-embedding-3-small"
	}
	if opts.NativeDimensions == 0 && opts.Dimensions == 0 {
		opts.NativeDimensions = f.dims
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	opts.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*waits = append(*waits, d)
		mu.Unlock()
		return ctx.Err()
	}
	c, err := NewOpenAI(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, waits
}

func checkVectors(t *testing.T, texts []string, got [][]float32, dims int) {
	t.Helper()
	if len(got) != len(texts) {
		t.Fatalf("got %d vectors for %d texts", len(got), len(texts))
	}
	for i, text := range texts {
		want := fakeVector(text, dims)
		normalize(want, false)
		if len(got[i]) != dims {
			t.Fatalf("vector %d has %d dims, want %d", i, len(got[i]), dims)
		}
		if c := cosine(got[i], want); math.Abs(c-1) > 1e-5 {
			t.Fatalf("vector %d (%q): cos to expected = %v, want 1", i, text, c)
		}
		if n := cosine(got[i], got[i]); math.Abs(n-1) > 1e-5 {
			t.Fatalf("vector %d not normalized: |v|^2 = %v", i, n)
		}
	}
}

var sampleTexts = []string{"alpha beta", "gamma delta epsilon", "東京の天気", "zeta", "eta theta iota kappa"}

func TestOpenAIEncodings(t *testing.T) {
	tests := []struct {
		name           string
		format         string
		ignoreEncoding bool
		reverse        bool
	}{
		{"base64", "", false, false},
		{"float", Float, false, false},
		{"server ignores encoding_format", "", true, false},
		{"shuffled indexes", "", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{t: t, dims: 32, ignoreEncoding: tc.ignoreEncoding, reverse: tc.reverse}
			c, _ := newClient(t, f, OpenAIOptions{EncodingFormat: tc.format, APIKey: "sk-test",
				Organization: "org-1", Project: "proj-1"})
			got, err := c.Embed(context.Background(), sampleTexts)
			if err != nil {
				t.Fatal(err)
			}
			checkVectors(t, sampleTexts, got, 32)
			r := f.reqs()[0]
			want := tc.format
			if want == "" {
				want = Base64
			}
			if r.EncodingFormat != want || r.Model != "text-embedding-3-small" || r.Dimensions != 0 {
				t.Errorf("request = %+v, want encoding %s, model text-embedding-3-small, no dimensions", r, want)
			}
			h := f.headers[0]
			if h.Get("Authorization") != "Bearer sk-test" || h.Get("OpenAI-Organization") != "org-1" || h.Get("OpenAI-Project") != "proj-1" {
				t.Errorf("headers = %v", h)
			}
		})
	}
}

func TestOpenAIRequestAlwaysSendsEncodingFormat(t *testing.T) {
	var raw map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewDecoder(r.Body).Decode(&raw)
		fmt.Fprint(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0,0,0]}],"usage":{"prompt_tokens":1,"total_tokens":1}}`)
	}))
	defer srv.Close()
	c, err := NewOpenAI(OpenAIOptions{BaseURL: srv.URL, Model: "text-embedding-3-large", Dimensions: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if raw["encoding_format"] != "base64" || raw["dimensions"] != float64(4) || raw["model"] != "text-embedding-3-large" {
		t.Errorf("request body = %v", raw)
	}
	if got := c.Identity(); got != (Identity{"openai", "text-embedding-3-large", 4}) {
		t.Errorf("Identity() = %v", got)
	}
}

func b64(v ...float32) string {
	b := make([]byte, 4*len(v))
	for j, x := range v {
		binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func TestOpenAIBadResponses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(data []map[string]any) ([]map[string]any, string)
		want   string
	}{
		{"malformed JSON", func(d []map[string]any) ([]map[string]any, string) { return d, `{"object":"list","data":[` }, "malformed JSON"},
		{"HTML body", func(d []map[string]any) ([]map[string]any, string) { return d, `<html>gateway</html>` }, "malformed JSON"},
		{"too few", func(d []map[string]any) ([]map[string]any, string) { return d[:len(d)-1], "" }, "embeddings for"},
		{"too many", func(d []map[string]any) ([]map[string]any, string) { return append(d, d[0]), "" }, "embeddings for"},
		{"duplicate index", func(d []map[string]any) ([]map[string]any, string) { d[1]["index"] = 0; return d, "" }, "duplicate index 0"},
		{"index out of range", func(d []map[string]any) ([]map[string]any, string) { d[1]["index"] = 99; return d, "" }, "out of range"},
		{"wrong dimension", func(d []map[string]any) ([]map[string]any, string) { d[2]["embedding"] = []float32{1, 2}; return d, "" }, "has 2 dimensions, want 32"},
		{"NaN", func(d []map[string]any) ([]map[string]any, string) {
			d[0]["embedding"] = b64(append(make([]float32, 31), float32(math.NaN()))...)
			return d, ""
		}, "non-finite"},
		{"zero vector", func(d []map[string]any) ([]map[string]any, string) {
			d[0]["embedding"] = make([]float32, 32)
			return d, ""
		}, "zero vector"},
		{"bad base64", func(d []map[string]any) ([]map[string]any, string) { d[0]["embedding"] = "!!!"; return d, "" }, "base64"},
		{"odd base64 length", func(d []map[string]any) ([]map[string]any, string) { d[0]["embedding"] = "AAAAAAA="; return d, "" }, "not float32s"},
		{"missing embedding", func(d []map[string]any) ([]map[string]any, string) { delete(d[0], "embedding"); return d, "" }, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{t: t, dims: 32, mutate: func(_ int, d []map[string]any) ([]map[string]any, string) { return tc.mutate(d) }}
			c, _ := newClient(t, f, OpenAIOptions{})
			_, err := c.Embed(context.Background(), sampleTexts)
			if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Embed() error = %v, want ErrBadResponse containing %q", err, tc.want)
			}
			if n := f.n.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (bad responses are not retried)", n)
			}
		})
	}
}

func TestOpenAIRetries(t *testing.T) {
	future := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name     string
		failures int // requests answered with the error before success
		status   int
		header   map[string]string
		body     string
		attempts int // MaxAttempts
		wantErr  error
		wantReqs int64
		check    func(t *testing.T, waits []time.Duration)
	}{
		{name: "429 Retry-After-Ms", failures: 2, status: 429, header: map[string]string{"Retry-After-Ms": "7", "Retry-After": "9"},
			body: `{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}`, wantReqs: 3,
			check: func(t *testing.T, w []time.Duration) {
				if !slices.Equal(w, []time.Duration{7 * time.Millisecond, 7 * time.Millisecond}) {
					t.Errorf("waits = %v, want [7ms 7ms]", w)
				}
			}},
		{name: "429 Retry-After seconds", failures: 1, status: 429, header: map[string]string{"Retry-After": "2"}, wantReqs: 2,
			check: func(t *testing.T, w []time.Duration) {
				if !slices.Equal(w, []time.Duration{2 * time.Second}) {
					t.Errorf("waits = %v, want [2s]", w)
				}
			}},
		{name: "503 Retry-After HTTP date", failures: 1, status: 503, header: map[string]string{"Retry-After": future}, wantReqs: 2,
			check: func(t *testing.T, w []time.Duration) {
				if len(w) != 1 || w[0] < time.Second || w[0] > 3*time.Second {
					t.Errorf("waits = %v, want one in [1s, 3s]", w)
				}
			}},
		{name: "Retry-After capped", failures: 1, status: 429, header: map[string]string{"Retry-After": "3600"}, wantReqs: 2,
			check: func(t *testing.T, w []time.Duration) {
				if !slices.Equal(w, []time.Duration{60 * time.Second}) {
					t.Errorf("waits = %v, want [60s]", w)
				}
			}},
		{name: "500 then success, jittered backoff", failures: 3, status: 500, body: `{"error":{"message":"The server had an error","type":"server_error"}}`, wantReqs: 4,
			check: func(t *testing.T, w []time.Duration) {
				if len(w) != 3 {
					t.Fatalf("waits = %v, want 3", w)
				}
				for i, d := range w {
					hi := 500 * time.Millisecond << i
					if d < hi/2 || d > hi {
						t.Errorf("wait %d = %v, want in [%v, %v]", i, d, hi/2, hi)
					}
				}
			}},
		{name: "408, 409, 502 retried", failures: 1, status: 409, wantReqs: 2},
		{name: "persistent 429", failures: 100, status: 429, attempts: 3, wantErr: ErrRateLimited, wantReqs: 3},
		{name: "persistent 502", failures: 100, status: 502, body: "<html>bad gateway</html>", attempts: 4, wantErr: ErrAPI, wantReqs: 4},
		{name: "400 not retried", failures: 100, status: 400, body: `{"error":{"message":"'$.input' is invalid.","type":"invalid_request_error"}}`, wantErr: ErrAPI, wantReqs: 1},
		{name: "401", failures: 100, status: 401, body: `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, wantErr: ErrAuth, wantReqs: 1},
		{name: "x-should-retry false", failures: 100, status: 500, header: map[string]string{"X-Should-Retry": "false"}, wantErr: ErrAPI, wantReqs: 1},
		{name: "x-should-retry true on 400", failures: 1, status: 400, header: map[string]string{"X-Should-Retry": "true"}, wantReqs: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{t: t, dims: 8, fail: func(n int, w http.ResponseWriter, _ *embeddingsRequest) bool {
				if n > tc.failures {
					return false
				}
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
				return true
			}}
			c, waits := newClient(t, f, OpenAIOptions{MaxAttempts: tc.attempts})
			got, err := c.Embed(context.Background(), sampleTexts)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Embed() error = %v, want %v", err, tc.wantErr)
				}
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != tc.status {
					t.Fatalf("Embed() error = %#v, want *APIError with status %d", err, tc.status)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				checkVectors(t, sampleTexts, got, 8)
			}
			if n := f.n.Load(); n != tc.wantReqs {
				t.Errorf("%d requests, want %d", n, tc.wantReqs)
			}
			if tc.check != nil {
				tc.check(t, *waits)
			}
		})
	}
}

func TestOpenAIConnectionErrorRetried(t *testing.T) {
	f := &fakeServer{t: t, dims: 8, fail: func(n int, w http.ResponseWriter, _ *embeddingsRequest) bool {
		if n > 2 {
			return false
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // connection reset before any response
		}
		return true
	}}
	c, waits := newClient(t, f, OpenAIOptions{})
	got, err := c.Embed(context.Background(), sampleTexts)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, sampleTexts, got, 8)
	if len(*waits) != 2 {
		t.Errorf("waits = %v, want 2 backoffs", *waits)
	}
}

func TestOpenAIContextCanceledDuringRetry(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c, err := NewOpenAI(OpenAIOptions{BaseURL: srv.URL, Model: "text-embedding-3-small"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Embed(ctx, []string{"x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Embed() error = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Embed took %v after its context ended", d)
	}
}

func TestOpenAIBatching(t *testing.T) {
	tests := []struct {
		name                       string
		n                          int
		text                       string
		opts                       OpenAIOptions
		maxInputs, maxTokens, reqs int
	}{
		{"2048 inputs per request", 5000, "word", OpenAIOptions{}, 2048, 0, 3},
		{"MaxBatch", 100, "word", OpenAIOptions{MaxBatch: 32}, 32, 0, 4},
		{"token budget", 100, strings.Repeat("lorem ipsum ", 50), OpenAIOptions{MaxBatchTokens: 1000, MaxInputTokens: 1000}, 0, 1000, 0},
	}
	tok, err := chunk.New(chunk.CL100K)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{t: t, dims: 4}
			tc.opts.Concurrency = 2
			c, _ := newClient(t, f, tc.opts)
			texts := make([]string, tc.n)
			for i := range texts {
				texts[i] = fmt.Sprintf("%s %d", tc.text, i)
			}
			got, err := c.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			checkVectors(t, texts, got, 4)
			reqs := f.reqs()
			if tc.reqs > 0 && len(reqs) != tc.reqs {
				t.Errorf("%d requests, want %d", len(reqs), tc.reqs)
			}
			total := 0
			for _, r := range reqs {
				total += len(r.Input)
				if tc.maxInputs > 0 && len(r.Input) > tc.maxInputs {
					t.Errorf("request of %d inputs, limit %d", len(r.Input), tc.maxInputs)
				}
				if tc.maxTokens > 0 {
					n := 0
					for _, s := range r.Input {
						n += tok.Count(s)
					}
					if n > tc.maxTokens {
						t.Errorf("request of %d tokens, limit %d", n, tc.maxTokens)
					}
				}
			}
			if total != tc.n {
				t.Errorf("%d inputs sent, want %d", total, tc.n)
			}
			if m := f.maxIn.Load(); m > 2 {
				t.Errorf("%d requests in flight, limit 2", m)
			}
			if u := c.Usage(); u.Inputs != int64(tc.n) || u.Requests != int64(len(reqs)) {
				t.Errorf("Usage() = %+v, want %d inputs in %d requests", u, tc.n, len(reqs))
			}
		})
	}
}

func TestOpenAILongInputs(t *testing.T) {
	tok, err := chunk.New(chunk.CL100K)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("the quick brown fox jumps over the lazy dog; 東京 ", 40) // ~500 tokens
	const limit = 64
	t.Run("truncate", func(t *testing.T) {
		f := &fakeServer{t: t, dims: 16}
		c, _ := newClient(t, f, OpenAIOptions{MaxInputTokens: limit})
		got, err := c.Embed(context.Background(), []string{long, "short"})
		if err != nil {
			t.Fatal(err)
		}
		sent := f.reqs()[0].Input
		if n := tok.Count(sent[0]); n > limit || n < limit-4 || !strings.HasPrefix(long, sent[0]) {
			t.Errorf("truncated input has %d tokens (limit %d), prefix of the input: %v", n, limit, strings.HasPrefix(long, sent[0]))
		}
		checkVectors(t, []string{sent[0], "short"}, got, 16)
	})
	t.Run("split", func(t *testing.T) {
		f := &fakeServer{t: t, dims: 16}
		c, _ := newClient(t, f, OpenAIOptions{MaxInputTokens: limit, LongInput: Split})
		got, err := c.Embed(context.Background(), []string{"short", long})
		if err != nil {
			t.Fatal(err)
		}
		sent := f.reqs()[0].Input
		if sent[0] != "short" || strings.Join(sent[1:], "") != long || len(sent) < 1+tok.Count(long)/limit {
			t.Fatalf("split into %d pieces that do not rebuild the input", len(sent)-1)
		}
		want := make([]float32, 16)
		for _, p := range sent[1:] {
			v := fakeVector(p, 16)
			normalize(v, false)
			for j := range v {
				want[j] += float32(tok.Count(p)) * v[j]
			}
		}
		normalize(want, false)
		if c := cosine(got[1], want); math.Abs(c-1) > 1e-5 {
			t.Errorf("split vector: cos to token-weighted mean = %v", c)
		}
		checkVectors(t, []string{"short"}, got[:1], 16)
	})
	t.Run("reject", func(t *testing.T) {
		f := &fakeServer{t: t, dims: 16}
		c, _ := newClient(t, f, OpenAIOptions{MaxInputTokens: limit, LongInput: Reject})
		if _, err := c.Embed(context.Background(), []string{"a", long}); !errors.Is(err, ErrInputTooLong) || !strings.Contains(err.Error(), "input 1") {
			t.Fatalf("Embed() error = %v, want ErrInputTooLong for input 1", err)
		}
		if f.n.Load() != 0 {
			t.Error("request sent")
		}
	})
	t.Run("empty input", func(t *testing.T) {
		f := &fakeServer{t: t, dims: 16}
		c, _ := newClient(t, f, OpenAIOptions{})
		if _, err := c.Embed(context.Background(), []string{"a", ""}); !errors.Is(err, ErrEmptyInput) {
			t.Fatalf("Embed() error = %v, want ErrEmptyInput", err)
		}
		if got, err := c.Embed(context.Background(), nil); err != nil || len(got) != 0 {
			t.Fatalf("Embed(nil) = %v, %v", got, err)
		}
		if f.n.Load() != 0 {
			t.Error("request sent")
		}
	})
}

func TestTokenPrefix(t *testing.T) {
	tok, err := chunk.New(chunk.CL100K)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hello world", strings.Repeat("naïve café 東京 ", 50), strings.Repeat("=", 5000), "🙂🙂🙂🙂"} {
		for _, limit := range []int{1, 2, 7, 100} {
			p := tokenPrefix(tok, s, limit)
			if p > 0 && !runeStart(s[p%len(s)]) && p != len(s) {
				t.Errorf("tokenPrefix(%.20q, %d) = %d, not a rune boundary", s, limit, p)
			}
			if n := tok.Count(s[:p]); n > limit {
				t.Errorf("tokenPrefix(%.20q, %d) = %d with %d tokens", s, limit, p, n)
			}
			if p < len(s) && p+utf8Len(s[p:]) <= len(s) && tok.Count(s[:p+utf8Len(s[p:])]) <= limit && p < 16*limit {
				t.Errorf("tokenPrefix(%.20q, %d) = %d, one more rune still fits", s, limit, p)
			}
		}
	}
}

func utf8Len(s string) int {
	for i := 1; i < len(s); i++ {
		if runeStart(s[i]) {
			return i
		}
	}
	return len(s)
}

func TestOpenAIUsage(t *testing.T) {
	var calls []Usage
	var mu sync.Mutex
	f := &fakeServer{t: t, dims: 4}
	c, _ := newClient(t, f, OpenAIOptions{MaxBatch: 2, OnUsage: func(u Usage) { mu.Lock(); calls = append(calls, u); mu.Unlock() }})
	if _, err := c.Embed(context.Background(), []string{"a b", "c d e", "f"}); err != nil {
		t.Fatal(err)
	}
	if u := c.Usage(); u != (Usage{Requests: 2, Inputs: 3, PromptTokens: 6, TotalTokens: 6}) {
		t.Errorf("Usage() = %+v", u)
	}
	if len(calls) != 2 {
		t.Errorf("OnUsage called %d times, want 2", len(calls))
	}
}

func TestOpenAIValidate(t *testing.T) {
	err := OpenAIOptions{BaseURL: "ftp://x", EncodingFormat: "hex", LongInput: "drop", MaxBatch: 5000, Model: "mystery"}.Validate()
	for _, want := range []string{"not an http(s) URL", "unknown", "encoding format", "long input policy", "max batch"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("Validate() = %v, want ErrInvalidOptions", err)
	}
	if err := (OpenAIOptions{Model: "text-embedding-ada-002"}).Validate(); err != nil {
		t.Errorf("Validate(ada-002) = %v", err)
	}
	if err := (OpenAIOptions{Model: "text-embedding-3-small", Dimensions: 4096}).Validate(); err == nil {
		t.Error("Validate(4096 dims of a 1536-dim model) = nil")
	}
}

func FuzzDecodeResponse(f *testing.F) {
	f.Add([]byte(`{"object":"list","data":[{"object":"embedding","index":1,"embedding":[1,2]},{"index":0,"embedding":"AACAPwAAAEA="}]}`))
	f.Add([]byte(`{"data":[{"index":0,"embedding":[1e300,0]},{"index":-1}]}`))
	f.Add([]byte(`{"data":null}`))
	c, err := NewOpenAI(OpenAIOptions{BaseURL: "http://localhost", Model: "m", NativeDimensions: 2})
	if err != nil {
		f.Fatal(err)
	}
	batch := []piece{{text: "a"}, {text: "b"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		out := make([][]float32, 2)
		if err := c.decode(body, batch, out); err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("decode error %v is not ErrBadResponse", err)
			}
			return
		}
		for i, v := range out {
			if len(v) != 2 || math.Abs(cosine(v, v)-1) > 1e-5 {
				t.Fatalf("decode accepted vector %d = %v", i, v)
			}
		}
	})
}

func FuzzAPIError(f *testing.F) {
	f.Add(400, []byte(`{"error":{"message":"This model does not support specifying dimensions.","code":null}}`))
	f.Add(413, []byte(`{"error":"batch size 64 > maximum allowed batch size 32","error_type":"validation"}`))
	f.Add(500, []byte(`{"object":"error","message":"x","code":500}`))
	c, err := NewOpenAI(OpenAIOptions{BaseURL: "http://localhost", Model: "m", NativeDimensions: 2, Dimensions: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		ae := c.apiError(status, body, 2)
		if !errors.Is(ae, ErrAPI) || len(ae.Message) > 400 {
			t.Fatalf("apiError = %v", ae)
		}
	})
}

// BenchmarkOpenAIClient measures the client's own cost (request encoding,
// response decoding, validation, normalization) against a local server that
// returns precomputed 1536-dimensional responses.
func BenchmarkOpenAIClient(b *testing.B) {
	const n, dims = 256, 1536
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("chunk %d of a document about retrieval", i)
	}
	for _, format := range []string{Base64, Float} {
		b.Run(format, func(b *testing.B) {
			data := make([]map[string]any, n)
			for i := range data {
				v := fakeVector(texts[i], dims)
				var emb any = v
				if format == Base64 {
					emb = b64(v...)
				}
				data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
			}
			body, _ := json.Marshal(map[string]any{"object": "list", "data": data, "usage": map[string]int{"prompt_tokens": 1, "total_tokens": 1}})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
			defer srv.Close()
			c, err := NewOpenAI(OpenAIOptions{BaseURL: srv.URL, Model: "text-embedding-3-small", EncodingFormat: format})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Embed(context.Background(), texts); err != nil { // loads the tokenizer
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := c.Embed(context.Background(), texts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "inputs/s")
		})
	}
}

func TestParseFloats(t *testing.T) {
	tests := []struct {
		in   string
		want []float32
		ok   bool
	}{
		{"[1, -2.5e-3 ,0]", []float32{1, -0.0025, 0}, true},
		{"[]", []float32{}, true},
		{"[ 3.4028235e+38 ]", []float32{math.MaxFloat32}, true},
		{"[1,]", nil, false},
		{"[,1]", nil, false},
		{`["1"]`, nil, false},
		{"[NaN]", nil, false},
		{"[1 2]", nil, false},
		{"{}", nil, false},
	}
	for _, tc := range tests {
		got, ok := parseFloats([]byte(tc.in))
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("parseFloats(%s) = %v, %v, want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
