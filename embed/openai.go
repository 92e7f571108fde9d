package embed

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/chunk"
)

// Limits of the OpenAI embeddings endpoint, the defaults of OpenAIOptions.
const (
	DefaultMaxBatch       = 2048    // inputs per request
	DefaultMaxBatchTokens = 300_000 // tokens per request, all inputs together
	DefaultMaxInputTokens = 8191    // tokens per input
	DefaultConcurrency    = 4       // requests in flight per Embed call
	DefaultMaxAttempts    = 6       // attempts per request, the first included
	DefaultOpenAIBaseURL  = "https://api.openai.com/v1"
	DefaultAzureVersion   = "2024-10-21"
)

// LongInputPolicy says what an OpenAI client does with an input over
// MaxInputTokens tokens.
type LongInputPolicy string

const (
	// Truncate keeps the first MaxInputTokens tokens (the default): a chunk
	// is embedded by its beginning, as most embedding servers do.
	Truncate LongInputPolicy = "truncate"
	// Split cuts the input into pieces of at most MaxInputTokens tokens,
	// embeds each and returns the token-weighted mean, normalized.
	Split LongInputPolicy = "split"
	// Reject fails the call with ErrInputTooLong.
	Reject LongInputPolicy = "reject"
)

// Encoding formats of the embeddings response.
const (
	Base64 = "base64" // little-endian float32, base64: a quarter of the JSON size
	Float  = "float"  // JSON arrays of numbers
)

// Usage counts what a client consumed.
type Usage struct {
	Requests     int64 `json:"requests"`      // successful HTTP requests
	Inputs       int64 `json:"inputs"`        // inputs embedded by the server
	PromptTokens int64 `json:"prompt_tokens"` // as reported by the server
	TotalTokens  int64 `json:"total_tokens"`  // as reported by the server
}

// OpenAIOptions configures an OpenAI-compatible embeddings client. The zero
// value of every field but Model means its documented default.
type OpenAIOptions struct {
	// Provider is Identity().Provider. Default "openai" ("azure" when
	// AzureDeployment is set).
	Provider string
	// BaseURL is the API root; requests go to BaseURL + "/embeddings".
	// Default DefaultOpenAIBaseURL. With AzureDeployment set it is the
	// resource endpoint (https://NAME.openai.azure.com) instead.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer KEY" (as "api-key: KEY" for
	// Azure). Empty: no authentication header.
	APIKey string
	// Organization and Project are sent as OpenAI-Organization and
	// OpenAI-Project when set.
	Organization, Project string
	// AzureDeployment switches to Azure OpenAI: requests go to
	// {BaseURL}/openai/deployments/{AzureDeployment}/embeddings?api-version=
	// {AzureAPIVersion} with an api-key header.
	AzureDeployment string
	// AzureAPIVersion defaults to DefaultAzureVersion.
	AzureAPIVersion string
	// Header holds extra request headers.
	Header http.Header

	// Model is the model name sent in every request and Identity().Model
	// (for Azure, default the deployment name). Required unless Azure.
	Model string
	// Dimensions, when > 0, is sent as the "dimensions" parameter: the
	// server shortens the vectors (text-embedding-3-* and Matryoshka models
	// served by vLLM and others). Servers refuse it for other models; see
	// ErrDimensionsUnsupported and Truncate for local shortening.
	Dimensions int
	// NativeDimensions is the size of the model's vectors when Dimensions
	// is 0. Default: known for OpenAI's models and some open ones; required
	// otherwise. Responses of another size are an error.
	NativeDimensions int
	// EncodingFormat is Base64 (default) or Float; always sent. Servers
	// that ignore it and answer with float arrays are accepted.
	EncodingFormat string

	// MaxBatch bounds the inputs per request (default DefaultMaxBatch);
	// lower it for servers with a small batch size (TEI, llama.cpp).
	MaxBatch int
	// MaxBatchTokens bounds the cl100k_base tokens per request (default
	// DefaultMaxBatchTokens).
	MaxBatchTokens int
	// MaxInputTokens bounds the cl100k_base tokens per input (default
	// DefaultMaxInputTokens); LongInput says what happens beyond it.
	MaxInputTokens int
	// LongInput is the policy for longer inputs; default Truncate.
	LongInput LongInputPolicy
	// Concurrency bounds the requests in flight per Embed call; default
	// DefaultConcurrency.
	Concurrency int

	// MaxAttempts bounds the attempts per request, the first included;
	// default DefaultMaxAttempts. Connection errors and statuses 408, 409,
	// 429 and 5xx are retried after the server's Retry-After-Ms or
	// Retry-After (seconds or HTTP date), else after a jittered exponential
	// backoff from InitialBackoff (default 500ms) capped at MaxBackoff
	// (default 30s). A server-requested wait over MaxRetryWait (default 60s)
	// is capped to it.
	MaxAttempts                              int
	InitialBackoff, MaxBackoff, MaxRetryWait time.Duration
	// Timeout bounds one request; default 2 minutes.
	Timeout time.Duration
	// HTTPClient defaults to a client with no overall timeout (Timeout and
	// the context bound each request).
	HTTPClient *http.Client
	// OnUsage, when set, is called after each successful request with its
	// usage; it may be called concurrently.
	OnUsage func(Usage)

	// sleep replaces time-based waiting in tests; nil means a timer.
	sleep func(ctx context.Context, d time.Duration) error
}

// knownModel describes models whose size and training we know.
type knownModel struct {
	dims       int
	matryoshka bool // trained so that prefixes of its vectors are embeddings
	dimsParam  bool // accepts the "dimensions" parameter at OpenAI
}

// knownModels are keyed by lower-cased name without organisation or tag
// (see modelKey).
var knownModels = map[string]knownModel{
	"text-embedding-3-small":   {1536, true, true},
	"text-embedding-3-large":   {3072, true, true},
	"text-embedding-ada-002":   {1536, false, false},
	"nomic-embed-text":         {768, true, false},
	"nomic-embed-text-v1.5":    {768, true, false},
	"mxbai-embed-large":        {1024, true, false},
	"mxbai-embed-large-v1":     {1024, true, false},
	"embeddinggemma":           {768, true, false},
	"all-minilm":               {384, false, false},
	"all-minilm-l6-v2":         {384, false, false},
	"bge-m3":                   {1024, false, false},
	"bge-small-en-v1.5":        {384, false, false},
	"bge-base-en-v1.5":         {768, false, false},
	"bge-large-en-v1.5":        {1024, false, false},
	"snowflake-arctic-embed":   {1024, false, false},
	"granite-embedding":        {384, false, false},
	"multilingual-e5-large":    {1024, false, false},
	"multilingual-e5-small":    {384, false, false},
	"snowflake-arctic-embed-m": {768, false, false},
}

// modelKey normalizes "BAAI/bge-small-en-v1.5" and "nomic-embed-text:latest"
// to table keys.
func modelKey(m string) string {
	m = strings.ToLower(m)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	if i := strings.IndexByte(m, ':'); i >= 0 {
		m = m[:i]
	}
	return m
}

func lookupModel(m string) (knownModel, bool) {
	k, ok := knownModels[modelKey(m)]
	return k, ok
}

// Validate reports every problem with o, wrapped in ErrInvalidOptions.
func (o OpenAIOptions) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, a...)...))
	}
	if o.Model == "" && o.AzureDeployment == "" {
		bad("model is required")
	}
	if o.BaseURL != "" {
		if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("base URL %q is not an http(s) URL", o.BaseURL)
		}
	} else if o.AzureDeployment != "" {
		bad("an Azure endpoint (base URL) is required")
	}
	if o.Dimensions < 0 || o.NativeDimensions < 0 {
		bad("dimensions must not be negative")
	}
	if o.Dimensions == 0 && o.NativeDimensions == 0 {
		if _, ok := lookupModel(o.Model); !ok {
			bad("the dimensions of model %q are unknown: set Dimensions (sent to the server) or NativeDimensions", o.Model)
		}
	}
	if k, ok := lookupModel(o.Model); ok && o.Dimensions > 0 && o.Dimensions > k.dims {
		errs = append(errs, fmt.Errorf("%w: %w: %d dimensions requested but model %q has %d",
			ErrInvalidOptions, ErrDimensionsUnsupported, o.Dimensions, o.Model, k.dims))
	}
	switch o.EncodingFormat {
	case "", Base64, Float:
	default:
		bad("encoding format must be %q or %q, got %q", Base64, Float, o.EncodingFormat)
	}
	switch o.LongInput {
	case "", Truncate, Split, Reject:
	default:
		bad("long input policy must be truncate, split or reject, got %q", o.LongInput)
	}
	if o.MaxBatch < 0 || o.MaxBatch > DefaultMaxBatch {
		bad("max batch must be between 1 and %d, got %d", DefaultMaxBatch, o.MaxBatch)
	}
	if o.MaxBatchTokens < 0 || o.MaxInputTokens < 0 || o.Concurrency < 0 || o.MaxAttempts < 0 {
		bad("limits must not be negative")
	}
	if o.MaxInputTokens > 0 && o.MaxBatchTokens > 0 && o.MaxInputTokens > o.MaxBatchTokens {
		bad("max input tokens (%d) exceeds max batch tokens (%d)", o.MaxInputTokens, o.MaxBatchTokens)
	}
	return errors.Join(errs...)
}

func (o *OpenAIOptions) ensureDefaults() {
	if o.AzureDeployment != "" {
		if o.Provider == "" {
			o.Provider = "azure"
		}
		if o.Model == "" {
			o.Model = o.AzureDeployment
		}
		if o.AzureAPIVersion == "" {
			o.AzureAPIVersion = DefaultAzureVersion
		}
	}
	if o.Provider == "" {
		o.Provider = "openai"
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultOpenAIBaseURL
	}
	if o.NativeDimensions == 0 {
		if k, ok := lookupModel(o.Model); ok {
			o.NativeDimensions = k.dims
		}
	}
	if o.EncodingFormat == "" {
		o.EncodingFormat = Base64
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxBatchTokens == 0 {
		o.MaxBatchTokens = DefaultMaxBatchTokens
	}
	if o.MaxInputTokens == 0 {
		o.MaxInputTokens = min(DefaultMaxInputTokens, o.MaxBatchTokens)
	}
	if o.LongInput == "" {
		o.LongInput = Truncate
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxRetryWait == 0 {
		o.MaxRetryWait = 60 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
}

// OpenAI embeds with an OpenAI-compatible /embeddings endpoint: OpenAI,
// Azure OpenAI, Ollama, vLLM, HuggingFace TEI, llama.cpp server, LocalAI.
// A *OpenAI is safe for concurrent use.
type OpenAI struct {
	opts     OpenAIOptions
	endpoint string
	dims     int

	tokOnce sync.Once
	tok     *chunk.Chunker
	tokErr  error

	requests, inputs, prompt, total atomic.Int64
}

// NewOpenAI returns a client for opts after validating them.
func NewOpenAI(opts OpenAIOptions) (*OpenAI, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	c := &OpenAI{opts: opts, dims: opts.Dimensions}
	if c.dims == 0 {
		c.dims = opts.NativeDimensions
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	switch {
	case opts.AzureDeployment != "":
		c.endpoint = base + "/openai/deployments/" + url.PathEscape(opts.AzureDeployment) +
			"/embeddings?api-version=" + url.QueryEscape(opts.AzureAPIVersion)
	case strings.HasSuffix(base, "/embeddings"):
		c.endpoint = base
	default:
		c.endpoint = base + "/embeddings"
	}
	return c, nil
}

// Identity implements Embedder.
func (c *OpenAI) Identity() Identity {
	return Identity{Provider: c.opts.Provider, Model: c.opts.Model, Dimensions: c.dims}
}

// Usage returns what the client consumed so far.
func (c *OpenAI) Usage() Usage {
	return Usage{Requests: c.requests.Load(), Inputs: c.inputs.Load(),
		PromptTokens: c.prompt.Load(), TotalTokens: c.total.Load()}
}

// Endpoint returns the URL requests are sent to.
func (c *OpenAI) Endpoint() string { return c.endpoint }

func (c *OpenAI) tokenizer() (*chunk.Chunker, error) {
	c.tokOnce.Do(func() { c.tok, c.tokErr = chunk.New(chunk.CL100K) })
	return c.tok, c.tokErr
}

// piece is one request input: a whole text or a part of it.
type piece struct {
	text   string
	tokens int
	owner  int // index of the text it comes from
}

// Embed implements Embedder. Inputs must not be empty (ErrEmptyInput); long
// inputs follow LongInput. The returned vectors are L2-normalized.
func (c *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	pieces, err := c.pieces(ctx, texts)
	if err != nil {
		return nil, err
	}
	vecs := make([][]float32, len(pieces))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Concurrency)
	for start := 0; start < len(pieces); {
		end, tokens := start, 0
		for end < len(pieces) && end-start < c.opts.MaxBatch &&
			(end == start || tokens+pieces[end].tokens <= c.opts.MaxBatchTokens) {
			tokens += pieces[end].tokens
			end++
		}
		batch := pieces[start:end]
		out := vecs[start:end]
		g.Go(func() error { return c.embedBatch(gctx, batch, out) })
		start = end
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if len(pieces) == len(texts) {
		return vecs, nil
	}
	// Split inputs: token-weighted mean of the pieces' vectors.
	out := make([][]float32, len(texts))
	for i, p := range pieces {
		v := out[p.owner]
		if v == nil {
			v = make([]float32, c.dims)
			out[p.owner] = v
		}
		w := float32(max(p.tokens, 1))
		for j, x := range vecs[i] {
			v[j] += w * x
		}
	}
	for i, v := range out {
		if !normalize(v, false) {
			return nil, fmt.Errorf("%w: the pieces of input %d average to a zero vector", ErrBadResponse, i)
		}
	}
	return out, nil
}

// pieces counts tokens and applies the long-input policy.
func (c *OpenAI) pieces(ctx context.Context, texts []string) ([]piece, error) {
	tok, err := c.tokenizer()
	if err != nil {
		return nil, err
	}
	limit := c.opts.MaxInputTokens
	ps := make([]piece, 0, len(texts))
	for i, t := range texts {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if t == "" {
			return nil, fmt.Errorf("%w: input %d", ErrEmptyInput, i)
		}
		n := tok.Count(t)
		if n <= limit {
			ps = append(ps, piece{t, n, i})
			continue
		}
		switch c.opts.LongInput {
		case Reject:
			return nil, fmt.Errorf("%w: input %d has %d tokens, the limit is %d", ErrInputTooLong, i, n, limit)
		case Truncate:
			p := tokenPrefix(tok, t, limit)
			if p == 0 {
				_, p = utf8.DecodeRuneInString(t)
			}
			ps = append(ps, piece{t[:p], tok.Count(t[:p]), i})
		case Split:
			for rest := t; rest != ""; {
				p := tokenPrefix(tok, rest, limit)
				if p == 0 { // one character over a tiny limit: send it alone
					_, p = utf8.DecodeRuneInString(rest)
				}
				ps = append(ps, piece{rest[:p], tok.Count(rest[:p]), i})
				rest = rest[p:]
			}
		}
	}
	return ps, nil
}

// tokenPrefix returns the largest rune-aligned byte length p, within the
// first 16·limit bytes, such that t[:p] has at most limit tokens: a binary
// search over prefixes (their token counts are non-decreasing but for BPE
// merges at the cut, which the final check absorbs).
func tokenPrefix(tok *chunk.Chunker, t string, limit int) int {
	down := func(i int) int { // the rune boundary at or before i
		for i > 0 && i < len(t) && !runeStart(t[i]) {
			i--
		}
		return i
	}
	lo, hi := 0, down(min(len(t), 16*limit)) // INVARIANT: t[:lo] fits; lo and hi are boundaries
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		for mid < hi && !runeStart(t[mid]) {
			mid++
		}
		if tok.Count(t[:mid]) <= limit {
			lo = mid
		} else {
			hi = down(mid - 1)
		}
	}
	for lo > 0 && tok.Count(t[:lo]) > limit {
		lo = down(lo - 1)
	}
	return lo
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }

type embeddingsRequest struct {
	Input          []string `json:"input"`
	Model          string   `json:"model"`
	EncodingFormat string   `json:"encoding_format"`
	Dimensions     int      `json:"dimensions,omitempty"`
}

type embeddingsResponse struct {
	Object string `json:"object"`
	Data   []struct {
		Index     *int            `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage *struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage"`
}

// embedBatch embeds batch into out, halving the batch when the server
// says it is too large.
func (c *OpenAI) embedBatch(ctx context.Context, batch []piece, out [][]float32) error {
	err := c.request(ctx, batch, out)
	var ae *APIError
	if len(batch) > 1 && errors.As(err, &ae) && errors.Is(err, ErrBatchTooLarge) {
		h := len(batch) / 2
		if err := c.embedBatch(ctx, batch[:h], out[:h]); err != nil {
			return err
		}
		return c.embedBatch(ctx, batch[h:], out[h:])
	}
	return err
}

// request sends one embeddings request with retries and fills out.
func (c *OpenAI) request(ctx context.Context, batch []piece, out [][]float32) error {
	in := make([]string, len(batch))
	for i, p := range batch {
		in[i] = p.text
	}
	body, err := json.Marshal(embeddingsRequest{Input: in, Model: c.opts.Model,
		EncodingFormat: c.opts.EncodingFormat, Dimensions: c.opts.Dimensions})
	if err != nil {
		return fmt.Errorf("embed: %s: encode request: %w", c.opts.Provider, err)
	}
	for attempt := 1; ; attempt++ {
		resp, status, hdr, err := c.do(ctx, body)
		if err == nil && status == http.StatusOK {
			return c.decode(resp, batch, out)
		}
		var wait time.Duration
		var final error
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			final = fmt.Errorf("embed: %s: post %s (attempt %d): %w", c.opts.Provider, c.endpoint, attempt, err)
			wait = -1
		} else {
			ae := c.apiError(status, resp, len(batch))
			ae.Attempts = attempt
			final = ae
			wait = retryDelay(status, hdr, c.opts.MaxRetryWait)
			if !retryable(status, hdr) || errors.Is(ae, ErrBatchTooLarge) || errors.Is(ae, ErrInputTooLong) {
				return ae
			}
		}
		if attempt >= c.opts.MaxAttempts {
			return final
		}
		if wait < 0 {
			wait = c.backoff(attempt)
		}
		if err := c.opts.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (c *OpenAI) do(ctx context.Context, body []byte) ([]byte, int, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.opts.APIKey != "" {
		if c.opts.AzureDeployment != "" {
			req.Header.Set("api-key", c.opts.APIKey)
		} else {
			req.Header.Set("Authorization", "Bearer "+c.opts.APIKey)
		}
	}
	if c.opts.Organization != "" {
		req.Header.Set("OpenAI-Organization", c.opts.Organization)
	}
	if c.opts.Project != "" {
		req.Header.Set("OpenAI-Project", c.opts.Project)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, nil, err
	}
	defer resp.Body.Close()
	const maxBody = 1 << 30
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, 0, nil, fmt.Errorf("read response: %w", err) // connection error: retried
	}
	return b, resp.StatusCode, resp.Header, nil
}

func retryable(status int, hdr http.Header) bool {
	switch hdr.Get("X-Should-Retry") {
	case "true":
		return true
	case "false":
		return false
	}
	return status == 408 || status == 409 || status == 429 || status >= 500
}

// retryDelay returns the server-requested wait, or -1 when there is none.
func retryDelay(status int, hdr http.Header, maxWait time.Duration) time.Duration {
	d := time.Duration(-1)
	if v := hdr.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			d = time.Duration(ms * float64(time.Millisecond))
		}
	}
	if v := hdr.Get("Retry-After"); d < 0 && v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			d = time.Duration(s * float64(time.Second))
		} else if t, err := http.ParseTime(v); err == nil {
			d = max(time.Until(t), 0)
		}
	}
	if d > maxWait {
		d = maxWait
	}
	return d
}

// backoff is the jittered exponential wait before attempt+1: a random
// duration in [b/2, b] with b = InitialBackoff·2^(attempt-1), capped.
func (c *OpenAI) backoff(attempt int) time.Duration {
	b := float64(c.opts.InitialBackoff) * math.Pow(2, float64(attempt-1))
	b = min(b, float64(c.opts.MaxBackoff))
	return time.Duration(b/2 + rand.Float64()*b/2)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// apiError parses the error shapes of OpenAI ({"error":{"message",...}}),
// Ollama and TEI ({"error":"..."}), vLLM ({"message":...}) and llama.cpp,
// and classifies the known quirks.
func (c *OpenAI) apiError(status int, body []byte, n int) *APIError {
	ae := &APIError{Provider: c.opts.Provider, StatusCode: status}
	var v struct {
		Error     json.RawMessage `json:"error"`
		ErrorType string          `json:"error_type"`
		Message   string          `json:"message"`
		Type      string          `json:"type"`
		Detail    json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		var obj struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Error, &obj) == nil && obj.Message != "":
			ae.Message, ae.Type = obj.Message, obj.Type
			var code string
			if json.Unmarshal(obj.Code, &code) == nil {
				ae.Code = code
			}
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			ae.Message, ae.Type = s, v.ErrorType
		case v.Message != "":
			ae.Message, ae.Type = v.Message, v.Type
		case len(v.Detail) > 0:
			ae.Message = truncateMsg(string(v.Detail))
		}
	}
	if ae.Message == "" {
		ae.Message = truncateMsg(strings.TrimSpace(string(body)))
	}
	msg := strings.ToLower(ae.Message)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case status == 401 || status == 403:
		ae.kind = ErrAuth
		ae.Hint = "check the API key"
	case status == 429:
		ae.kind = ErrRateLimited
		if ae.Code == "insufficient_quota" {
			ae.Hint = "the account is out of quota"
		}
	case c.opts.Dimensions > 0 && (status == 400 || status == 422) && has("dimension", "matryoshka"):
		ae.kind = ErrDimensionsUnsupported
		ae.Hint = fmt.Sprintf("model %q does not accept the dimensions parameter: drop --dimensions "+
			"(or, for a Matryoshka model, shorten locally with the matryoshka spec option)", c.opts.Model)
	case has("batch size", "too large to process", "physical batch", "too many inputs", "batch_size") ||
		(status == 413 && n > 1):
		ae.kind = ErrBatchTooLarge
		ae.Hint = fmt.Sprintf("the server refused %d inputs in one request; lower the batch size (MaxBatch, spec option batch=N)", n)
		if n == 1 {
			ae.Hint = "the server cannot fit even one input in its batch: raise the server's batch size " +
				"(llama.cpp -b/-ub, TEI --max-batch-tokens) or lower MaxInputTokens (spec option max-tokens=N)"
		}
	case status == 413 || has("context length", "too long", "maximum context", "exceeds the context",
		"too many tokens", "must have less than", "input length"):
		ae.kind = ErrInputTooLong
		ae.Hint = "an input is longer than the server's model accepts: lower MaxInputTokens (spec option max-tokens=N) " +
			"so long inputs are truncated or split before sending"
	}
	return ae
}

func truncateMsg(s string) string {
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// decode validates a 200 response and writes the normalized vectors to out.
func (c *OpenAI) decode(body []byte, batch []piece, out [][]float32) error {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadResponse, c.opts.Provider, fmt.Sprintf(format, a...))
	}
	var r embeddingsResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fail("malformed JSON (%v): %q", err, truncateMsg(string(body)))
	}
	if len(r.Data) != len(batch) {
		return fail("%d embeddings for %d inputs", len(r.Data), len(batch))
	}
	seen := make([]bool, len(batch))
	for pos, d := range r.Data {
		i := pos
		if d.Index != nil {
			i = *d.Index
		}
		if i < 0 || i >= len(batch) {
			return fail("index %d out of range [0, %d)", i, len(batch))
		}
		if seen[i] {
			return fail("duplicate index %d", i)
		}
		seen[i] = true
		v, err := decodeVector(d.Embedding)
		if err != nil {
			return fail("embedding %d: %v", i, err)
		}
		if len(v) != c.dims {
			hint := ""
			if c.opts.Dimensions == 0 {
				hint = fmt.Sprintf(" (the model's vectors have %d dimensions: declare them with --dimensions %d, "+
					"or shorten a Matryoshka model with the matryoshka spec option)", len(v), len(v))
			} else {
				hint = " (the server ignored the dimensions parameter; this model cannot be shortened by it)"
			}
			return fail("embedding %d has %d dimensions, want %d%s", i, len(v), c.dims, hint)
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fail("embedding %d has a non-finite component", i)
			}
		}
		if !normalize(v, false) {
			return fail("embedding %d is a zero vector", i)
		}
		out[i] = v
	}
	c.requests.Add(1)
	c.inputs.Add(int64(len(batch)))
	u := Usage{Requests: 1, Inputs: int64(len(batch))}
	if r.Usage != nil {
		u.PromptTokens, u.TotalTokens = r.Usage.PromptTokens, r.Usage.TotalTokens
		c.prompt.Add(u.PromptTokens)
		c.total.Add(u.TotalTokens)
	}
	if c.opts.OnUsage != nil {
		c.opts.OnUsage(u)
	}
	return nil
}

// decodeVector accepts a base64 string of little-endian float32s or a JSON
// array of numbers.
func decodeVector(raw json.RawMessage) ([]float32, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("missing")
	}
	if raw[0] == '"' {
		var src []byte
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
			src = raw[1 : len(raw)-1] // no escapes: the common case, without a second JSON scan or a copy
		} else {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			src = []byte(s)
		}
		b := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
		n, err := base64.StdEncoding.Decode(b, src)
		if err != nil {
			return nil, fmt.Errorf("bad base64: %w", err)
		}
		b = b[:n]
		if len(b)%4 != 0 {
			return nil, fmt.Errorf("base64 payload of %d bytes is not float32s", len(b))
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v, nil
	}
	if v, ok := parseFloats(raw); ok {
		return v, nil
	}
	// Into float64, not float32: a value beyond float32 range is then no
	// unmarshal error but becomes ±Inf below, as on the fast path, and the
	// caller rejects it as non-finite. Only a value beyond float64 range
	// fails here.
	var f []float64
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("not a base64 string or an array of numbers: %w", err)
	}
	v := make([]float32, len(f))
	for i, x := range f {
		v[i] = float32(x)
	}
	return v, nil
}

// parseFloats parses a JSON array of numbers faster than encoding/json.
// It is looser than JSON: any comma-separated token that starts with '-'
// or a digit and that strconv.ParseFloat accepts is taken (so also 0x1p3,
// 1_000, 01, 1., -.5, -Inf), which is harmless because raw comes from a
// body json.Unmarshal has already validated. ok is false for other
// arrays (null, strings, NaN, trailing commas...) and for non-arrays,
// which the caller hands to encoding/json. Values beyond float32 range
// become ±Inf, which decode rejects.
func parseFloats(raw []byte) (v []float32, ok bool) {
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return nil, false
	}
	body := bytes.TrimSpace(raw[1 : len(raw)-1])
	if len(body) == 0 {
		return []float32{}, true
	}
	v = make([]float32, 0, bytes.Count(body, []byte{','})+1)
	for len(body) > 0 {
		i := bytes.IndexByte(body, ',')
		tok := body
		if i >= 0 {
			tok, body = body[:i], body[i+1:]
			if len(bytes.TrimSpace(body)) == 0 {
				return nil, false // trailing comma
			}
		} else {
			body = nil
		}
		tok = bytes.TrimSpace(tok)
		if len(tok) == 0 || !(tok[0] == '-' || tok[0] >= '0' && tok[0] <= '9') {
			return nil, false // not a JSON number (NaN, Infinity, "1", ...)
		}
		x, err := strconv.ParseFloat(string(tok), 32)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, false
		}
		v = append(v, float32(x))
	}
	return v, true
}
