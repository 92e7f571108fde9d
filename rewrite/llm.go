package rewrite

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// LLMOptions configures an LLM rewriter.
type LLMOptions struct {
	// BaseURL is the OpenAI-compatible server, e.g. "https://api.openai.com"
	// or "http://localhost:11434/v1"; "/v1/chat/completions" (or
	// "/chat/completions" after a trailing "/v1") is appended unless the URL
	// already ends in "/chat/completions". Default "https://api.openai.com".
	BaseURL string
	// APIKey, when set, is sent as "Authorization: Bearer <APIKey>".
	APIKey string
	// Model is the chat model. Default "gpt-4o-mini".
	Model string
	// Timeout bounds the whole call. Default 10s.
	Timeout time.Duration
	// MaxQueries caps the queries returned, 1..5. Default 5.
	MaxQueries int
	// HTTPClient is the client to use. Default: a new http.Client.
	HTTPClient *http.Client
	// OnError, when set, is called with the reason each time Rewrite falls
	// back to the original query. It must be safe for concurrent use.
	OnError func(query string, err error)
	// SystemPrompt replaces the default instructions; it must ask for a JSON
	// object {"queries": [...]}.
	SystemPrompt string
}

// DefaultSystemPrompt is the instruction LLM sends unless
// LLMOptions.SystemPrompt is set.
const DefaultSystemPrompt = `You rewrite a user's message into search queries for a document retrieval engine (hybrid keyword and semantic search).
Rules:
- Remove conversational filler (greetings, "can you tell me", "please", "thanks").
- Keep names, identifiers, numbers, quoted phrases and technical terms exactly as written; fix obvious misspellings.
- If the message asks several distinct things, return one self-contained query per thing; otherwise return a single query.
- Return between 1 and 5 queries, most important first, each short (under 20 words), in the language of the message.
- Answer only with a JSON object of the form {"queries": ["...", "..."]}.`

// LLM is a Rewriter backed by any OpenAI-compatible chat-completions
// endpoint. It never fails a search: on any trouble (timeout, HTTP error,
// malformed or empty answer) it returns the original query and reports the
// reason to OnError. It is safe for concurrent use.
type LLM struct {
	opts     LLMOptions
	endpoint string
	client   *http.Client
}

// NewLLM returns an LLM rewriter; zero fields of opts take their defaults.
func NewLLM(opts LLMOptions) *LLM {
	if opts.BaseURL == "" {
		opts.BaseURL = "https://api.openai.com"
	}
	if opts.Model == "" {
		opts.Model = "gpt-4o-mini"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxQueries <= 0 || opts.MaxQueries > MaxQueries {
		opts.MaxQueries = MaxQueries
	}
	if opts.SystemPrompt == "" {
		opts.SystemPrompt = DefaultSystemPrompt
	}
	ep := strings.TrimRight(opts.BaseURL, "/")
	switch {
	case strings.HasSuffix(ep, "/chat/completions"):
	case strings.HasSuffix(ep, "/v1"):
		ep += "/chat/completions"
	default:
		ep += "/v1/chat/completions"
	}
	c := opts.HTTPClient
	if c == nil {
		c = &http.Client{}
	}
	return &LLM{opts: opts, endpoint: ep, client: c}
}

// Rewrite asks the model for up to MaxQueries queries. It returns
// ErrEmptyQuery for a blank query; otherwise it never returns an error: on
// failure the result is []string{query}.
func (l *LLM) Rewrite(ctx context.Context, query string) ([]string, error) {
	if strings.TrimSpace(query) == "" {
		return nil, ErrEmptyQuery
	}
	qs, err := l.ask(ctx, query)
	if err != nil {
		if l.opts.OnError != nil {
			l.opts.OnError(query, err)
		}
		return []string{query}, nil
	}
	return qs, nil
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []chatMessage  `json:"messages"`
	Temperature    float64        `json:"temperature"`
	ResponseFormat map[string]any `json:"response_format"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
}

func (l *LLM) ask(ctx context.Context, query string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	body, err := json.Marshal(chatRequest{
		Model: l.opts.Model,
		Messages: []chatMessage{
			{Role: "system", Content: l.opts.SystemPrompt},
			{Role: "user", Content: query},
		},
		ResponseFormat: map[string]any{"type": "json_object"},
	})
	if err != nil {
		return nil, fmt.Errorf("rewrite: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("rewrite: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if l.opts.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+l.opts.APIKey)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rewrite: post %s: %w", l.endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("rewrite: read response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("rewrite: http status %d: %s", resp.StatusCode, strings.TrimSpace(string(data[:min(len(data), 256)])))
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLLMResponse, err)
	}
	if len(cr.Choices) == 0 || cr.Choices[0].Message.Content == nil {
		return nil, fmt.Errorf("%w: no message content", ErrLLMResponse)
	}
	qs, err := parseQueries(*cr.Choices[0].Message.Content)
	if err != nil {
		return nil, err
	}
	qs = dedupe(qs, l.opts.MaxQueries)
	if len(qs) == 0 {
		return nil, fmt.Errorf("%w: no queries", ErrLLMResponse)
	}
	return qs, nil
}

// parseQueries extracts the query list from a model's answer: a JSON object
// {"queries": [...]} (also "queries" as one string, or the keys "query",
// "search_queries", "rewritten_queries"), or a bare JSON array of strings,
// possibly inside a ```json fence or surrounded by prose.
func parseQueries(content string) ([]string, error) {
	s := strings.TrimSpace(content)
	if i := strings.Index(s, "```"); i >= 0 {
		rest := s[i+3:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 && !strings.ContainsAny(rest[:nl], "{[") {
			rest = rest[nl+1:] // drop the fence's language tag
		}
		if j := strings.Index(rest, "```"); j >= 0 {
			rest = rest[:j]
		}
		s = strings.TrimSpace(rest)
	}
	candidates := []string{s}
	if i, j := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}'); i >= 0 && j > i {
		candidates = append(candidates, s[i:j+1])
	}
	if i, j := strings.IndexByte(s, '['), strings.LastIndexByte(s, ']'); i >= 0 && j > i {
		candidates = append(candidates, s[i:j+1])
	}
	for _, c := range candidates {
		if qs, ok := decodeQueries([]byte(c)); ok {
			return qs, nil
		}
	}
	return nil, fmt.Errorf("%w: no JSON queries in %q", ErrLLMResponse, s[:min(len(s), 120)])
}

func decodeQueries(b []byte) ([]string, bool) {
	var arr []string
	if json.Unmarshal(b, &arr) == nil {
		return arr, true
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		return nil, false
	}
	for _, k := range []string{"queries", "search_queries", "rewritten_queries", "query"} {
		raw, ok := obj[k]
		if !ok {
			continue
		}
		if json.Unmarshal(raw, &arr) == nil {
			return arr, true
		}
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return []string{one}, true
		}
	}
	return nil, false
}
