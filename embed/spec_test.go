package embed

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestFromSpec(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "sk-x", "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
		"AZURE_OPENAI_API_KEY": "k", "MY_KEY": "tok"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		spec     string
		dims     int
		want     Identity
		endpoint string // for *OpenAI results
		wantErr  error
		errHas   string
	}{
		{spec: "", want: DefaultIdentity()},
		{spec: "local", want: DefaultIdentity()},
		{spec: "local:glove-sif", dims: 100, want: DefaultIdentity()},
		{spec: "local", dims: 64, wantErr: ErrDimensionsUnsupported, errHas: "local:hash-v3"},
		{spec: "local:hash-v3", want: Identity{"local", "hash-v3", 384}},
		{spec: "local:hash-v3", dims: 64, want: Identity{"local", "hash-v3", 64}},
		{spec: "local:hash-v2", wantErr: ErrInvalidSpec, errHas: "local:hash-v3"},
		{spec: "openai:text-embedding-3-small", want: Identity{"openai", "text-embedding-3-small", 1536}, endpoint: "https://api.openai.com/v1/embeddings"},
		{spec: "openai:text-embedding-3-large", dims: 256, want: Identity{"openai", "text-embedding-3-large", 256}},
		{spec: "openai:text-embedding-ada-002", dims: 256, wantErr: ErrDimensionsUnsupported, errHas: "drop --dimensions"},
		{spec: "openai:text-embedding-ada-002", dims: 1536, want: Identity{"openai", "text-embedding-ada-002", 1536}},
		{spec: "openai:text-embedding-3-small", dims: 4000, wantErr: ErrDimensionsUnsupported},
		{spec: "openai:my-finetune", wantErr: ErrInvalidSpec, errHas: "--dimensions"},
		{spec: "openai:my-finetune", dims: 512, want: Identity{"openai", "my-finetune", 512}},
		{spec: "openai:my-finetune,native=1024,matryoshka", dims: 512, want: Identity{"openai", "my-finetune", 512}},
		{spec: "azure:dep", want: Identity{}, wantErr: ErrInvalidSpec, errHas: "vector size"},
		{spec: "azure:dep,model=text-embedding-3-small", want: Identity{"azure", "text-embedding-3-small", 1536},
			endpoint: "https://r.openai.azure.com/openai/deployments/dep/embeddings?api-version=2024-10-21"},
		{spec: "ollama:mxbai-embed-large", want: Identity{"ollama", "mxbai-embed-large", 1024}, endpoint: "http://127.0.0.1:11434/v1/embeddings"},
		{spec: "ollama:all-minilm", dims: 128, wantErr: ErrDimensionsUnsupported, errHas: "matryoshka"},
		{spec: "ollama:all-minilm,send-dimensions", dims: 128, want: Identity{"ollama", "all-minilm", 128}},
		{spec: "tei:http://localhost:8080#BAAI/bge-small-en-v1.5,batch=32", want: Identity{"tei", "BAAI/bge-small-en-v1.5", 384},
			endpoint: "http://localhost:8080/v1/embeddings"},
		{spec: "tei:http://localhost:8080", dims: 384, want: Identity{"tei", "tei", 384}},
		{spec: "compat:http://h:8000/v1#intfloat/e5-mistral-7b-instruct,key-env=MY_KEY", dims: 4096,
			want: Identity{"compat", "intfloat/e5-mistral-7b-instruct", 4096}, endpoint: "http://h:8000/v1/embeddings"},
		{spec: "compat:http://h:8000/api/embeddings#m", dims: 8, want: Identity{"compat", "m", 8}, endpoint: "http://h:8000/api/embeddings"},
		{spec: "compat:http://h:8000", dims: 8, wantErr: ErrInvalidSpec, errHas: "URL#MODEL"},
		{spec: "compat:localhost#m", dims: 8, wantErr: ErrInvalidSpec, errHas: "http(s)"},
		{spec: "cohere:embed-v4", wantErr: ErrInvalidSpec, errHas: "unknown provider"},
		{spec: "openai:", wantErr: ErrInvalidSpec, errHas: "openai:text-embedding-3-small"},
		{spec: "openai:text-embedding-3-small,bogus", wantErr: ErrInvalidSpec, errHas: "unknown option"},
		{spec: "openai:text-embedding-3-small,batch=0", wantErr: ErrInvalidSpec, errHas: "positive"},
		{spec: "openai:text-embedding-3-small,long=drop", wantErr: ErrInvalidOptions},
		{spec: "openai:text-embedding-3-small,key-env=MY_KEY", wantErr: ErrInvalidSpec},
		{spec: "local", dims: -1, wantErr: ErrInvalidSpec},
		{spec: "model2vec:/does/not/exist", wantErr: ErrModel},
		{spec: "use-lite:/does/not/exist", wantErr: ErrModel},
		{spec: "use-lite:", wantErr: ErrInvalidSpec, errHas: "use-lite:/models/use-lite.safetensors"},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			e, err := FromSpec(tc.spec, tc.dims, getenv)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("FromSpec(%q, %d) error = %v, want %v containing %q", tc.spec, tc.dims, err, tc.wantErr, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromSpec(%q, %d) error = %v", tc.spec, tc.dims, err)
			}
			if got := e.Identity(); got != tc.want {
				t.Errorf("FromSpec(%q, %d).Identity() = %v, want %v", tc.spec, tc.dims, got, tc.want)
			}
			if tc.endpoint != "" {
				if c, ok := e.(*OpenAI); !ok || c.Endpoint() != tc.endpoint {
					t.Errorf("endpoint of %T = %v, want %s", e, e, tc.endpoint)
				}
			}
		})
	}
}

func TestFromSpecEnvironment(t *testing.T) {
	if _, err := FromSpec("openai:text-embedding-3-small", 0, nil); !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Errorf("no key: error = %v", err)
	}
	env := map[string]string{"OPENAI_BASE_URL": "http://localhost:4000/v1"} // a proxy needs no key
	e, err := FromSpec("openai:text-embedding-3-small", 0, func(k string) string { return env[k] })
	if err != nil || e.(*OpenAI).Endpoint() != "http://localhost:4000/v1/embeddings" {
		t.Errorf("OPENAI_BASE_URL: %v, %v", e, err)
	}
	for host, want := range map[string]string{
		"":                     "http://127.0.0.1:11434/v1",
		"0.0.0.0":              "http://127.0.0.1:11434/v1",
		"gpu-box:8080":         "http://gpu-box:8080/v1",
		"https://ollama.local": "https://ollama.local:11434/v1",
		"http://[::1]:11434":   "http://[::1]:11434/v1",
	} {
		if got := ollamaURL(host); got != want {
			t.Errorf("ollamaURL(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestShorten(t *testing.T) {
	f := &fakeServer{t: t, dims: 32}
	c, _ := newClient(t, f, OpenAIOptions{Model: "text-embedding-3-large", NativeDimensions: 32})
	s, err := Shorten(c, 8, ShortenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id := s.Identity(); id != (Identity{"openai", "text-embedding-3-large", 8}) {
		t.Errorf("Identity() = %v", id)
	}
	short, full, err := s.EmbedFull(context.Background(), sampleTexts)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, sampleTexts, full, 32)
	for i := range short {
		want := append([]float32(nil), full[i][:8]...)
		normalize(want, false)
		for j := range want {
			if math.Abs(float64(short[i][j]-want[j])) > 1e-6 {
				t.Fatalf("short[%d] = %v, want normalized prefix %v", i, short[i], want)
			}
		}
	}
	short[0][0] = 9
	if full[0][0] == 9 {
		t.Error("short and full share memory")
	}

	for _, tc := range []struct {
		e    Embedder
		dims int
		opts ShortenOptions
		ok   bool
	}{
		{NewLocal(64), 32, ShortenOptions{}, false},
		{NewLocal(64), 32, ShortenOptions{Matryoshka: true}, true},
		{c, 32, ShortenOptions{}, false},
		{c, 0, ShortenOptions{}, false},
	} {
		_, err := Shorten(tc.e, tc.dims, tc.opts)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrDimensionsUnsupported)) {
			t.Errorf("Shorten(%v, %d, %+v) error = %v, want ok=%v", tc.e.Identity(), tc.dims, tc.opts, err, tc.ok)
		}
	}
	c2, _ := newClient(t, &fakeServer{t: t, dims: 32}, OpenAIOptions{Model: "text-embedding-ada-002", NativeDimensions: 32})
	if _, err := Shorten(c2, 8, ShortenOptions{}); !errors.Is(err, ErrDimensionsUnsupported) || !strings.Contains(err.Error(), "drop --dimensions") {
		t.Errorf("Shorten(ada-002) error = %v", err)
	}
}
