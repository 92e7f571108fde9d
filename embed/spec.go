package embed

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// FromSpec returns the embedder a spec string names, as the CLI's
// --embedder and --dimensions flags give them. env looks up environment
// variables (os.Getenv; nil means none are set).
//
// Grammar:
//
//	SPEC   = BASE *("," OPTION)
//	BASE   = "local"                  the offline default, GloVe-SIF (see NewDefault; "" and
//	                                  "local:glove-sif" too); 100 dimensions
//	       | "local:hash-v3"          offline feature hashing (NewLocal), any --dimensions
//	       | "openai:" MODEL          OpenAI, e.g. openai:text-embedding-3-small
//	       | "azure:" DEPLOYMENT      Azure OpenAI deployment
//	       | "ollama:" MODEL          Ollama's /v1/embeddings, e.g. ollama:nomic-embed-text
//	       | "tei:" URL ["#" MODEL]   HuggingFace text-embeddings-inference
//	       | "compat:" URL "#" MODEL  any OpenAI-compatible server (vLLM, llama.cpp, LocalAI, ...)
//	       | "model2vec:" DIR         a local Model2Vec static model
//	       | "use-lite:" FILE         Universal Sentence Encoder lite (see LoadUSELite)
//	OPTION = "native=" N        the model's vector size, for models FromSpec does not know
//	       | "matryoshka"       the model is trained for shortening (see Shorten)
//	       | "send-dimensions"  send --dimensions to the server as the dimensions parameter
//	       | "batch=" N         inputs per request (default 2048; TEI and llama.cpp need less)
//	       | "batch-tokens=" N  tokens per request (default 300000)
//	       | "max-tokens=" N    tokens per input (default 8191)
//	       | "long=" truncate|split|reject   what to do with longer inputs (default truncate)
//	       | "concurrency=" N   requests in flight (default 4)
//	       | "attempts=" N      attempts per request (default 6)
//	       | "float"            ask for JSON float arrays instead of base64
//	       | "key-env=" VAR     send $VAR as the bearer token (ollama, tei, compat)
//	       | "model=" NAME      (azure) the model name recorded in the identity
//
// A URL is the server's root, its /v1, or its full /embeddings endpoint.
//
// dims is --dimensions; 0 means the model's own size. For a model that
// accepts the dimensions parameter (text-embedding-3-*, or any model with
// send-dimensions) it is sent to the server. Otherwise it must equal the
// model's size, or be smaller for a Matryoshka model (known ones, or declared
// with matryoshka), whose vectors are then truncated and renormalized
// locally; any other value is refused with ErrDimensionsUnsupported. For a
// model FromSpec does not know, dims declares its size.
//
// Environment: OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID,
// OPENAI_PROJECT_ID (openai); AZURE_OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT,
// OPENAI_API_VERSION (azure); OLLAMA_HOST (ollama, default
// http://127.0.0.1:11434). The OpenAI key is never sent to other servers.
//
// FromSpec makes no network call.
func FromSpec(spec string, dims int, env func(string) string) (Embedder, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	if dims < 0 {
		return nil, fmt.Errorf("%w: dimensions must not be negative, got %d", ErrInvalidSpec, dims)
	}
	spec = strings.TrimSpace(spec)
	parts := strings.Split(spec, ",")
	base := parts[0]
	provider, arg, _ := strings.Cut(base, ":")
	o, err := parseSpecOptions(parts[1:])
	if err != nil {
		return nil, err
	}
	if provider == "" || provider == "local" {
		switch arg {
		case "", "glove-sif":
			if dims != 0 && dims != DefaultDimensions {
				return nil, fmt.Errorf("%w: the offline default (GloVe-SIF) produces %d-dimensional vectors: drop --dimensions, or use local:hash-v3 for hashed vectors of %d",
					ErrDimensionsUnsupported, DefaultDimensions, dims)
			}
			return NewDefault(), nil
		case localModel:
			return NewLocal(dims), nil
		}
		return nil, fmt.Errorf("%w: %q: local is local (the default, GloVe-SIF), local:glove-sif (the same) or local:%s (feature hashing)",
			ErrInvalidSpec, spec, localModel)
	}
	if arg == "" {
		return nil, fmt.Errorf("%w: %q: %s needs an argument, e.g. %s", ErrInvalidSpec, spec, provider, specExample(provider))
	}
	if provider == "model2vec" {
		m, err := LoadModel2Vec(arg)
		if err != nil {
			return nil, err
		}
		if dims == 0 || dims == m.dim {
			return m, nil
		}
		return Shorten(m, dims, ShortenOptions{Matryoshka: o.matryoshka})
	}

	if provider == "use-lite" {
		m, err := LoadUSELite(arg)
		if err != nil {
			return nil, err
		}
		if dims != 0 && dims != USELiteDimensions {
			return nil, fmt.Errorf("%w: USE-lite produces %d-dimensional vectors; drop --dimensions",
				ErrDimensionsUnsupported, USELiteDimensions)
		}
		return m, nil
	}

	opts := o.client
	switch provider {
	case "openai":
		opts.Model = arg
		opts.APIKey = env("OPENAI_API_KEY")
		opts.BaseURL = env("OPENAI_BASE_URL")
		opts.Organization = env("OPENAI_ORG_ID")
		opts.Project = env("OPENAI_PROJECT_ID")
		if opts.APIKey == "" && (opts.BaseURL == "" || opts.BaseURL == DefaultOpenAIBaseURL) {
			return nil, fmt.Errorf("%w: %q: OPENAI_API_KEY is not set", ErrInvalidSpec, spec)
		}
	case "azure":
		opts.AzureDeployment = arg
		opts.Model = o.model
		opts.APIKey = env("AZURE_OPENAI_API_KEY")
		opts.BaseURL = env("AZURE_OPENAI_ENDPOINT")
		opts.AzureAPIVersion = env("OPENAI_API_VERSION")
		if opts.BaseURL == "" || opts.APIKey == "" {
			return nil, fmt.Errorf("%w: %q: AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_API_KEY must be set", ErrInvalidSpec, spec)
		}
	case "ollama":
		opts.Provider, opts.Model = "ollama", arg
		opts.BaseURL = ollamaURL(env("OLLAMA_HOST"))
	case "tei", "compat":
		u, model, _ := strings.Cut(arg, "#")
		if model == "" {
			if provider == "compat" {
				return nil, fmt.Errorf("%w: %q: compat needs URL#MODEL, e.g. %s", ErrInvalidSpec, spec, specExample(provider))
			}
			model = "tei"
		}
		opts.Provider, opts.Model = provider, model
		var err error
		if opts.BaseURL, err = serverURL(u); err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrInvalidSpec, spec, err)
		}
	default:
		return nil, fmt.Errorf("%w: %q: unknown provider %q (want local, openai, azure, ollama, tei, compat, model2vec or use-lite)",
			ErrInvalidSpec, spec, provider)
	}
	if o.keyEnv != "" {
		if provider == "openai" || provider == "azure" {
			return nil, fmt.Errorf("%w: %q: key-env is for ollama, tei and compat", ErrInvalidSpec, spec)
		}
		opts.APIKey = env(o.keyEnv)
	}

	// Dimensions: see the doc comment.
	model := opts.Model
	if model == "" {
		model = opts.AzureDeployment
	}
	k, known := lookupModel(model)
	native := o.native
	if native == 0 && known {
		native = k.dims
	}
	opts.NativeDimensions = native
	var shorten int
	switch {
	case dims == 0:
		if native == 0 {
			return nil, fmt.Errorf("%w: %q: the vector size of model %q is unknown: pass --dimensions N (the size of its vectors) or the native=N option",
				ErrInvalidSpec, spec, model)
		}
	case o.sendDims || (k.dimsParam && known):
		opts.Dimensions = dims
	case native == 0 || dims == native:
		opts.NativeDimensions = dims
	case dims > native:
		return nil, fmt.Errorf("%w: model %q has %d dimensions, cannot produce %d", ErrDimensionsUnsupported, model, native, dims)
	case o.matryoshka || k.matryoshka:
		shorten = dims
	default:
		return nil, fmt.Errorf("%w: model %q produces %d-dimensional vectors and is not known to be trained for shortening: "+
			"drop --dimensions, or append ,matryoshka to the spec if it is a Matryoshka model, or ,send-dimensions if its server shortens",
			ErrDimensionsUnsupported, model, native)
	}
	c, err := NewOpenAI(opts)
	if err != nil {
		return nil, err
	}
	if shorten > 0 {
		return Shorten(c, shorten, ShortenOptions{Matryoshka: true})
	}
	return c, nil
}

func specExample(provider string) string {
	switch provider {
	case "openai":
		return "openai:text-embedding-3-small"
	case "azure":
		return "azure:my-embedding-deployment"
	case "ollama":
		return "ollama:nomic-embed-text"
	case "tei":
		return "tei:http://localhost:8080#BAAI/bge-small-en-v1.5"
	case "compat":
		return "compat:http://localhost:8000/v1#BAAI/bge-m3"
	case "model2vec":
		return "model2vec:/models/potion-base-8M"
	case "use-lite":
		return "use-lite:/models/use-lite.safetensors"
	}
	return "local"
}

type specOptions struct {
	client               OpenAIOptions
	native               int
	matryoshka, sendDims bool
	keyEnv, model        string
}

func parseSpecOptions(opts []string) (specOptions, error) {
	var o specOptions
	var errs []error
	for _, kv := range opts {
		k, v, hasV := strings.Cut(strings.TrimSpace(kv), "=")
		num := func(dst *int) {
			n, err := strconv.Atoi(v)
			if !hasV || err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%w: option %s needs a positive number, got %q", ErrInvalidSpec, k, v))
				return
			}
			*dst = n
		}
		switch k {
		case "native":
			num(&o.native)
		case "batch":
			num(&o.client.MaxBatch)
		case "batch-tokens":
			num(&o.client.MaxBatchTokens)
		case "max-tokens":
			num(&o.client.MaxInputTokens)
		case "concurrency":
			num(&o.client.Concurrency)
		case "attempts":
			num(&o.client.MaxAttempts)
		case "long":
			o.client.LongInput = LongInputPolicy(v)
		case "matryoshka":
			o.matryoshka = true
		case "send-dimensions":
			o.sendDims = true
		case "float":
			o.client.EncodingFormat = Float
		case "key-env":
			o.keyEnv = v
		case "model":
			o.model = v
		default:
			errs = append(errs, fmt.Errorf("%w: unknown option %q", ErrInvalidSpec, kv))
		}
	}
	return o, errors.Join(errs...)
}

// ollamaURL turns OLLAMA_HOST ("", "0.0.0.0", "host:port", "http://h:p")
// into the base URL of Ollama's OpenAI-compatible API.
func ollamaURL(host string) string {
	host = strings.TrimRight(strings.TrimSpace(host), "/")
	if host == "" {
		return "http://127.0.0.1:11434/v1"
	}
	if !strings.Contains(host, "://") {
		host = "http://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return "http://127.0.0.1:11434/v1"
	}
	h, port := u.Hostname(), u.Port()
	if h == "" || h == "0.0.0.0" || h == "::" {
		h = "127.0.0.1"
	}
	if port == "" {
		port = "11434"
	}
	u.Host = h + ":" + port
	if strings.Contains(h, ":") {
		u.Host = "[" + h + "]:" + port
	}
	return strings.TrimRight(u.String(), "/") + "/v1"
}

// serverURL turns a server root, its /v1 or its /embeddings endpoint into
// the base the client appends /embeddings to (or the endpoint itself).
func serverURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an http(s) URL", s)
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case strings.HasSuffix(p, "/embeddings"), strings.HasSuffix(p, "/v1"):
	default:
		p += "/v1"
	}
	u.Path = p
	return u.String(), nil
}
