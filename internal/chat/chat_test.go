package chat

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEndpoint(t *testing.T) {
	tests := []struct{ base, want string }{
		{"https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"},
		{"http://localhost:11434/v1/", "http://localhost:11434/v1/chat/completions"},
		{"https://x.openai.azure.com/openai/deployments/gpt?api-version=2024-10-21", "https://x.openai.azure.com/openai/deployments/gpt/chat/completions?api-version=2024-10-21"},
	}
	for _, tt := range tests {
		if got, err := (&Client{BaseURL: tt.base}).Endpoint(); err != nil || got != tt.want {
			t.Errorf("Endpoint(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "localhost:8080", "ftp://x/v1", "http://"} {
		if _, err := (&Client{BaseURL: bad}).Endpoint(); err == nil {
			t.Errorf("Endpoint(%q) accepted", bad)
		}
	}
}

func TestComplete(t *testing.T) {
	var reply string
	status := 200
	var gotAzureKey string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAzureKey = r.Header.Get("api-key")
		w.WriteHeader(status)
		w.Write([]byte(reply))
	}))
	defer hs.Close()
	c := &Client{BaseURL: hs.URL + "/v1", APIKey: "k"}
	ctx := context.Background()

	// Arguments as a JSON object (some servers) read as the standard string.
	reply = `{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":{"q":"x"}}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}`
	resp, err := c.Complete(ctx, &Request{Model: "m"})
	if err != nil || resp.Choices[0].Message.ToolCalls[0].Function.Arguments != `{"q":"x"}` || resp.Usage.TotalTokens != 5 {
		t.Fatalf("Complete = %+v, %v", resp, err)
	}
	if gotAzureKey != "" {
		t.Errorf("api-key header sent to a non-Azure host")
	}

	tests := []struct {
		status int
		body   string
		msg    string
	}{
		{500, `{"error":{"message":"boom","type":"server_error"}}`, "boom"},
		{404, `{"error":"model 'x' not found"}`, "model 'x' not found"},
		{502, `<html>bad gateway</html>`, "<html>bad gateway</html>"},
		{503, ``, "Service Unavailable"},
	}
	for _, tt := range tests {
		status, reply = tt.status, tt.body
		_, err := c.Complete(ctx, &Request{Model: "m"})
		var ce *Error
		if !errors.As(err, &ce) || ce.Status != tt.status || ce.Message != tt.msg {
			t.Errorf("Complete with %d %s = %v, want status %d message %q", tt.status, tt.body, err, tt.status, tt.msg)
		}
	}
	status, reply = 200, `{"choices":[]}`
	if _, err := c.Complete(ctx, &Request{Model: "m"}); !errors.Is(err, ErrNoChoice) {
		t.Errorf("Complete with no choice = %v, want ErrNoChoice", err)
	}
	reply = `not json`
	if _, err := c.Complete(ctx, &Request{Model: "m"}); err == nil {
		t.Error("Complete with a non-JSON reply succeeded")
	}
	hs.Close()
	var ce *Error
	if _, err := c.Complete(ctx, &Request{Model: "m"}); !errors.As(err, &ce) || ce.Status != 0 {
		t.Errorf("Complete with the server down = %v, want an *Error with status 0", err)
	}
}
