// Package chat is a minimal client of OpenAI-compatible chat-completions
// endpoints (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp server): one
// non-streaming request with tools, its reply and usage.
package chat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxReplyBytes bounds a reply body.
const maxReplyBytes = 16 << 20

// Client calls one chat-completions endpoint. It is safe for concurrent
// use.
type Client struct {
	// BaseURL is the API base, such as https://api.openai.com/v1 or
	// http://localhost:11434/v1; "/chat/completions" is appended to its
	// path (its query, such as Azure's api-version, is kept).
	BaseURL string
	// APIKey is sent as "Authorization: Bearer KEY" (and as "api-key" to
	// Azure hosts). Empty: no key.
	APIKey string
	// HTTP is the client; nil means one with a 10-minute timeout.
	HTTP *http.Client
}

// Message is a chat message.
type Message struct {
	Role       string     `json:"role"` // system, user, assistant, tool
	Content    string     `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is a function call the model asked for.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // "function"
	Function FunctionCall `json:"function"`
}

// FunctionCall is a call's name and JSON arguments.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// UnmarshalJSON accepts arguments as a JSON string (the standard) or as a
// JSON value, which some servers send.
func (f *FunctionCall) UnmarshalJSON(b []byte) error {
	var raw struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	f.Name = raw.Name
	a := bytes.TrimSpace(raw.Arguments)
	switch {
	case len(a) == 0 || string(a) == "null":
		f.Arguments = ""
	case a[0] == '"':
		return json.Unmarshal(a, &f.Arguments)
	default:
		f.Arguments = string(a)
	}
	return nil
}

// Request is a chat-completions request. Tools are passed as given, in
// the chat-completions shape.
type Request struct {
	Model          string            `json:"model"`
	Messages       []Message         `json:"messages"`
	Tools          []json.RawMessage `json:"tools,omitempty"`
	ToolChoice     any               `json:"tool_choice,omitempty"`
	Temperature    *float64          `json:"temperature,omitempty"`
	TopP           *float64          `json:"top_p,omitempty"`
	MaxTokens      *int              `json:"max_tokens,omitempty"`
	ResponseFormat json.RawMessage   `json:"response_format,omitempty"`
	ParallelTools  *bool             `json:"parallel_tool_calls,omitempty"`
}

// Response is a chat-completions reply.
type Response struct {
	ID      string   `json:"id"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   Usage    `json:"usage"`
}

// Choice is one completion.
type Choice struct {
	Index        int     `json:"index"`
	Message      Message `json:"message"`
	FinishReason string  `json:"finish_reason"` // stop, length, tool_calls, ...
}

// Usage counts tokens.
type Usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// ErrNoChoice is returned for a reply without a choice.
var ErrNoChoice = errors.New("chat: reply has no choice")

// Error is a reply with an error status, or a request that got no reply.
type Error struct {
	Status  int    // HTTP status; 0 when no reply came
	Message string // the server's error message
	Type    string
	Code    string
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return "chat: " + e.Message
	}
	return fmt.Sprintf("chat: upstream status %d: %s", e.Status, e.Message)
}

// Endpoint returns the chat-completions URL of BaseURL.
func (c *Client) Endpoint() (string, error) {
	u, err := url.Parse(strings.TrimSpace(c.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("chat: base URL %q is not an http(s) URL", c.BaseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/chat/completions"
	return u.String(), nil
}

// Complete sends req and returns the reply, which has at least one choice.
func (c *Client) Complete(ctx context.Context, req *Request) (*Response, error) {
	endpoint, err := c.Endpoint()
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("chat: encode request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("chat: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if c.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+c.APIKey)
		if strings.Contains(hr.URL.Host, ".azure.com") {
			hr.Header.Set("api-key", c.APIKey)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := hc.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &Error{Message: err.Error()}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return nil, &Error{Status: resp.StatusCode, Message: "read reply: " + err.Error()}
	}
	if len(data) > maxReplyBytes {
		return nil, &Error{Status: resp.StatusCode, Message: fmt.Sprintf("reply larger than %d bytes", maxReplyBytes)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, replyError(resp.StatusCode, data)
	}
	var out Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, &Error{Status: resp.StatusCode, Message: "reply is not a chat completion: " + err.Error()}
	}
	if len(out.Choices) == 0 {
		return nil, ErrNoChoice
	}
	return &out, nil
}

// replyError reads an error reply: OpenAI's {"error": {...}}, or
// {"error": "..."} (Ollama), or plain text.
func replyError(status int, data []byte) *Error {
	e := &Error{Status: status}
	var obj struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &obj) == nil && len(obj.Error) > 0 {
		var s string
		var full struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    any    `json:"code"`
		}
		if json.Unmarshal(obj.Error, &s) == nil {
			e.Message = s
		} else if json.Unmarshal(obj.Error, &full) == nil {
			e.Message, e.Type = full.Message, full.Type
			if full.Code != nil {
				e.Code = fmt.Sprint(full.Code)
			}
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(data[:min(len(data), 512)]))
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}
