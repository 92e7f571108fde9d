package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The error bodies below are those the servers document or send:
// OpenAI {"error":{"message","type","param","code"}}; Ollama {"error":"..."};
// TEI {"error":"...","error_type":"..."}; vLLM {"object":"error","message",
// "type","code"}; llama.cpp {"error":{"code","message","type"}}.
func TestProviderQuirks(t *testing.T) {
	tests := []struct {
		name     string
		opts     OpenAIOptions
		inputs   int
		fail     func(req *embeddingsRequest) (int, string) // status 0: serve normally
		wantErr  error
		wantHint string
		wantReqs int64
	}{
		{
			name: "OpenAI 400 on dimensions (ada-002)",
			opts: OpenAIOptions{Model: "text-embedding-ada-002", Dimensions: 256},
			fail: func(*embeddingsRequest) (int, string) {
				return 400, `{"error":{"message":"This model does not support specifying dimensions.","type":"invalid_request_error","param":null,"code":null}}`
			},
			wantErr: ErrDimensionsUnsupported, wantHint: "drop --dimensions", wantReqs: 1,
		},
		{
			name: "vLLM 400 on dimensions (no matryoshka)",
			opts: OpenAIOptions{Model: "BAAI/bge-m3", Dimensions: 256},
			fail: func(*embeddingsRequest) (int, string) {
				return 400, `{"object":"error","message":"Model \"BAAI/bge-m3\" does not support matryoshka representation, changing output dimensions will lead to poor results.","type":"BadRequestError","param":null,"code":400}`
			},
			wantErr: ErrDimensionsUnsupported, wantHint: "drop --dimensions", wantReqs: 1,
		},
		{
			name:   "TEI 413 batch over max-client-batch-size: halved until it fits",
			opts:   OpenAIOptions{Model: "bge-small-en-v1.5"},
			inputs: 100,
			fail: func(r *embeddingsRequest) (int, string) {
				if len(r.Input) > 32 {
					return 413, fmt.Sprintf(`{"error":"batch size %d > maximum allowed batch size 32","error_type":"validation"}`, len(r.Input))
				}
				return 0, ""
			},
			wantReqs: 1 + 2 + 4, // 100 -> 50+50 -> 4×25
		},
		{
			name: "TEI 413 payload too large, single input",
			opts: OpenAIOptions{Model: "bge-small-en-v1.5"}, inputs: 1,
			fail: func(*embeddingsRequest) (int, string) {
				return 413, `Failed to buffer the request body: length limit exceeded`
			},
			wantErr: ErrInputTooLong, wantHint: "max-tokens", wantReqs: 1,
		},
		{
			name: "TEI 422 input too long",
			opts: OpenAIOptions{Model: "bge-small-en-v1.5"},
			fail: func(*embeddingsRequest) (int, string) {
				return 422, `{"error":"Input validation error: ` + "`inputs`" + ` must have less than 512 tokens. Given: 600","error_type":"validation"}`
			},
			wantErr: ErrInputTooLong, wantHint: "MaxInputTokens", wantReqs: 1,
		},
		{
			name: "llama.cpp 500 input over the physical batch: not retried",
			opts: OpenAIOptions{Model: "nomic-embed-text"}, inputs: 1,
			fail: func(*embeddingsRequest) (int, string) {
				return 500, `{"error":{"code":500,"message":"input is too large to process. increase the physical batch size","type":"server_error"}}`
			},
			wantErr: ErrBatchTooLarge, wantHint: "batch size", wantReqs: 1,
		},
		{
			name: "llama.cpp 500 on a batch: halved",
			opts: OpenAIOptions{Model: "nomic-embed-text"}, inputs: 4,
			fail: func(r *embeddingsRequest) (int, string) {
				if len(r.Input) > 1 {
					return 500, `{"error":{"code":500,"message":"input is too large to process. increase the physical batch size","type":"server_error"}}`
				}
				return 0, ""
			},
			wantReqs: 1 + 2 + 4,
		},
		{
			name: "Ollama 500 context length: not retried",
			opts: OpenAIOptions{Model: "all-minilm"},
			fail: func(*embeddingsRequest) (int, string) {
				return 500, `{"error":"the input length exceeds the context length"}`
			},
			wantErr: ErrInputTooLong, wantReqs: 1,
		},
		{
			name: "vLLM 400 context length",
			opts: OpenAIOptions{Model: "BAAI/bge-m3"},
			fail: func(*embeddingsRequest) (int, string) {
				return 400, `{"object":"error","message":"This model's maximum context length is 8192 tokens. However, you requested 9000 tokens in the input for embedding generation. Please reduce the length of the input.","type":"BadRequestError","code":400}`
			},
			wantErr: ErrInputTooLong, wantReqs: 1,
		},
		{
			name: "Ollama 404 unknown model",
			opts: OpenAIOptions{Model: "nomic-embed-text"},
			fail: func(*embeddingsRequest) (int, string) {
				return 404, `{"error":"model \"nomic-embed-text\" not found, try pulling it first"}`
			},
			wantErr: ErrAPI, wantHint: "not found", wantReqs: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeServer{t: t, dims: 8, ignoreEncoding: true, fail: func(_ int, w http.ResponseWriter, r *embeddingsRequest) bool {
				status, body := tc.fail(r)
				if status == 0 {
					return false
				}
				w.WriteHeader(status)
				fmt.Fprint(w, body)
				return true
			}}
			if tc.opts.Dimensions == 0 {
				tc.opts.NativeDimensions = 8
			}
			c, _ := newClient(t, f, tc.opts)
			n := tc.inputs
			if n == 0 {
				n = 3
			}
			texts := make([]string, n)
			for i := range texts {
				texts[i] = fmt.Sprintf("text number %d", i)
			}
			got, err := c.Embed(context.Background(), texts)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkVectors(t, texts, got, 8)
			} else {
				var ae *APIError
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &ae) {
					t.Fatalf("Embed() error = %v, want %v as *APIError", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantHint) {
					t.Errorf("Embed() error = %q, want it to mention %q", err, tc.wantHint)
				}
			}
			if got := f.n.Load(); got != tc.wantReqs {
				t.Errorf("%d requests, want %d", got, tc.wantReqs)
			}
		})
	}
}

func TestServerIgnoresDimensions(t *testing.T) {
	// A server that drops the dimensions parameter returns full vectors: the
	// length check says so.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]}]}`)
	}))
	defer srv.Close()
	c, err := NewOpenAI(OpenAIOptions{BaseURL: srv.URL, Model: "some-model", Dimensions: 4})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Embed(context.Background(), []string{"x"})
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "ignored the dimensions") {
		t.Fatalf("Embed() error = %v", err)
	}
}

func TestAzure(t *testing.T) {
	var gotPath, gotQuery, gotKey, gotAuth string
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.Path, r.URL.RawQuery
		gotKey, gotAuth = r.Header.Get("api-key"), r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&body)
		fmt.Fprint(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":"`+b64(3, 4)+`"}],"model":"text-embedding-3-large","usage":{"prompt_tokens":1,"total_tokens":1}}`)
	}))
	defer srv.Close()
	env := map[string]string{"AZURE_OPENAI_ENDPOINT": srv.URL + "/", "AZURE_OPENAI_API_KEY": "az-key", "OPENAI_API_KEY": "sk-must-not-leak"}
	e, err := FromSpec("azure:my-deploy,model=text-embedding-3-large", 2, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Embed(context.Background(), []string{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if gotPath != "/openai/deployments/my-deploy/embeddings" || gotQuery != "api-version="+DefaultAzureVersion {
		t.Errorf("request to %s?%s", gotPath, gotQuery)
	}
	if gotKey != "az-key" || gotAuth != "" {
		t.Errorf("api-key = %q, Authorization = %q", gotKey, gotAuth)
	}
	if body["dimensions"] != float64(2) {
		t.Errorf("body = %v, want dimensions 2", body)
	}
	if v[0][0] != 0.6 || v[0][1] != 0.8 {
		t.Errorf("vector = %v, want [0.6 0.8]", v[0])
	}
	if id := e.Identity(); id != (Identity{"azure", "text-embedding-3-large", 2}) {
		t.Errorf("Identity() = %v", id)
	}
}

func TestOllamaFromSpec(t *testing.T) {
	var path, auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, auth = r.URL.Path, r.Header.Get("Authorization")
		var req embeddingsRequest
		json.NewDecoder(r.Body).Decode(&req)
		// Ollama answers float arrays whatever encoding_format says.
		vec := make([]float32, 768)
		vec[len(req.Input[0])%768] = 2
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model,
			"data": []map[string]any{{"object": "embedding", "index": 0, "embedding": vec}}})
	}))
	defer srv.Close()
	env := map[string]string{"OLLAMA_HOST": strings.TrimPrefix(srv.URL, "http://"), "OPENAI_API_KEY": "sk-must-not-leak"}
	e, err := FromSpec("ollama:nomic-embed-text:latest", 0, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.Embed(context.Background(), []string{"abc"})
	if err != nil {
		t.Fatal(err)
	}
	if path != "/v1/embeddings" || auth != "" || v[0][3] != 1 {
		t.Errorf("path %q, auth %q, v[3] = %v", path, auth, v[0][3])
	}
	// nomic-embed-text is Matryoshka: --dimensions 256 truncates locally.
	e, err = FromSpec("ollama:nomic-embed-text", 256, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(*Shortened); !ok || e.Identity().Dimensions != 256 {
		t.Fatalf("FromSpec(nomic, 256) = %T %v, want *Shortened to 256", e, e.Identity())
	}
	if v, err = e.Embed(context.Background(), []string{"abc"}); err != nil || len(v[0]) != 256 || v[0][3] != 1 {
		t.Fatalf("Embed = %v, %v", v, err)
	}
}
