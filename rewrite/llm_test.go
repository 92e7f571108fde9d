package rewrite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// chatServer reproduces POST /v1/chat/completions, answering with content
// (or with a raw body / status when set) and checking the request shape.
func chatServer(t *testing.T, content string, status int, raw string, delay time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer sk-test" {
			http.Error(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Model          string `json:"model"`
			Messages       []struct{ Role, Content string }
			ResponseFormat struct{ Type string } `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Model != "test-model" ||
			len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" ||
			!strings.Contains(req.Messages[0].Content, `"queries"`) || req.ResponseFormat.Type != "json_object" {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if status != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
		}
		if raw != "" {
			w.Write([]byte(raw))
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": "test-model",
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": content}}},
			"usage": map[string]any{"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLLM(t *testing.T) {
	const q = "hi, can you tell me about hnsw and bm25?"
	tests := []struct {
		name    string
		content string
		status  int
		raw     string
		delay   time.Duration
		max     int
		want    []string
		wantErr bool // OnError called
	}{
		{name: "json object", content: `{"queries": ["HNSW", "BM25"]}`, want: []string{"HNSW", "BM25"}},
		{name: "fenced", content: "```json\n{\"queries\": [\"HNSW graph index\"]}\n```", want: []string{"HNSW graph index"}},
		{name: "fence without language", content: "```\n{\"queries\": [\"a\", \"b\"]}\n```", want: []string{"a", "b"}},
		{name: "prose around", content: `Sure! Here you go: {"queries": ["HNSW"]} Hope it helps.`, want: []string{"HNSW"}},
		{name: "bare array", content: `["HNSW", "BM25"]`, want: []string{"HNSW", "BM25"}},
		{name: "single string", content: `{"queries": "HNSW vs BM25"}`, want: []string{"HNSW vs BM25"}},
		{name: "other key", content: `{"search_queries": ["x"]}`, want: []string{"x"}},
		{name: "dedupe and trim", content: `{"queries": [" HNSW ", "hnsw", "", "BM25", "  "]}`, want: []string{"HNSW", "BM25"}},
		{name: "cap at 5", content: `{"queries": ["1","2","3","4","5","6","7"]}`, want: []string{"1", "2", "3", "4", "5"}},
		{name: "cap at MaxQueries", content: `{"queries": ["1","2","3"]}`, max: 2, want: []string{"1", "2"}},
		{name: "empty list", content: `{"queries": []}`, want: []string{q}, wantErr: true},
		{name: "garbage content", content: `I cannot help with that.`, want: []string{q}, wantErr: true},
		{name: "wrong types", content: `{"queries": [1, 2]}`, want: []string{q}, wantErr: true},
		{name: "truncated json", content: `{"queries": ["HNSW", "BM`, want: []string{q}, wantErr: true},
		{name: "http 500", status: 500, raw: `{"error":{"message":"The server had an error"}}`, want: []string{q}, wantErr: true},
		{name: "http 429", status: 429, raw: `{"error":{"message":"Rate limit reached"}}`, want: []string{q}, wantErr: true},
		{name: "malformed body", raw: `{"choices": [`, want: []string{q}, wantErr: true},
		{name: "no choices", raw: `{"choices": []}`, want: []string{q}, wantErr: true},
		{name: "null content", raw: `{"choices": [{"message": {"role": "assistant", "content": null}}]}`, want: []string{q}, wantErr: true},
		{name: "timeout", content: `{"queries": ["late"]}`, delay: 2 * time.Second, want: []string{q}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := chatServer(t, tc.content, tc.status, tc.raw, tc.delay)
			var mu sync.Mutex
			var reported []error
			l := NewLLM(LLMOptions{
				BaseURL: srv.URL, APIKey: "sk-test", Model: "test-model", MaxQueries: tc.max,
				Timeout: 100 * time.Millisecond,
				OnError: func(query string, err error) {
					mu.Lock()
					defer mu.Unlock()
					if query != q {
						t.Errorf("OnError query = %q", query)
					}
					reported = append(reported, err)
				},
			})
			got, err := l.Rewrite(context.Background(), q)
			if err != nil {
				t.Fatalf("Rewrite = %v, want no error ever", err)
			}
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) {
				t.Fatalf("Rewrite = %q, want %q", got, tc.want)
			}
			if (len(reported) > 0) != tc.wantErr {
				t.Fatalf("OnError calls = %v, want called: %v", reported, tc.wantErr)
			}
		})
	}
}

func TestLLMEndpoint(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"", "https://api.openai.com/v1/chat/completions"},
		{"http://localhost:11434/v1", "http://localhost:11434/v1/chat/completions"},
		{"http://localhost:8000/", "http://localhost:8000/v1/chat/completions"},
		{"http://h/openai/deployments/x/chat/completions", "http://h/openai/deployments/x/chat/completions"},
	} {
		if got := NewLLM(LLMOptions{BaseURL: tc.base}).endpoint; got != tc.want {
			t.Errorf("NewLLM(%q).endpoint = %q, want %q", tc.base, got, tc.want)
		}
	}
}

func TestLLMFailures(t *testing.T) {
	// Unreachable server, wrong key, empty query, cancelled context.
	srv := chatServer(t, `{"queries":["x"]}`, 0, "", 0)
	var got error
	l := NewLLM(LLMOptions{BaseURL: srv.URL, APIKey: "wrong", Model: "test-model", OnError: func(_ string, err error) { got = err }})
	if qs, err := l.Rewrite(context.Background(), "q"); err != nil || fmt.Sprint(qs) != "[q]" || got == nil || !strings.Contains(got.Error(), "401") {
		t.Fatalf("wrong key: Rewrite = %v, %v; reported %v", qs, err, got)
	}
	if _, err := l.Rewrite(context.Background(), "  "); !errors.Is(err, ErrEmptyQuery) {
		t.Fatalf("Rewrite(blank) = %v, want ErrEmptyQuery", err)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	got = nil
	l = NewLLM(LLMOptions{BaseURL: dead.URL, OnError: func(_ string, err error) { got = err }})
	if qs, err := l.Rewrite(context.Background(), "q"); err != nil || fmt.Sprint(qs) != "[q]" || got == nil {
		t.Fatalf("unreachable: Rewrite = %v, %v; reported %v", qs, err, got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	l = NewLLM(LLMOptions{BaseURL: srv.URL, APIKey: "sk-test", Model: "test-model"}) // no hook: must not panic
	if qs, err := l.Rewrite(ctx, "q"); err != nil || fmt.Sprint(qs) != "[q]" {
		t.Fatalf("cancelled: Rewrite = %v, %v", qs, err)
	}
}

func FuzzParseQueries(f *testing.F) {
	f.Add(`{"queries": ["a"]}`)
	f.Add("```json\n[\"a\"]\n```")
	f.Add("``` {")
	f.Fuzz(func(t *testing.T, s string) {
		_, err := parseQueries(s)
		if err != nil && !errors.Is(err, ErrLLMResponse) {
			t.Fatalf("parseQueries(%q) error %v does not wrap ErrLLMResponse", s, err)
		}
	})
}
