package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/lexical"
	"github.com/quarrylabs/quarry/parse"
	"github.com/quarrylabs/quarry/rerank"
)

// Options configures a DB. The zero value gives the embedded defaults: the
// offline embedder, cl100k_base, as many ingestion workers as CPUs.
type Options struct {
	// Embedder computes vectors. Default: embed.NewDefault(), offline
	// (GloVe-SIF, shipped inside the module). A DB with the default serves
	// the vector stores built by the earlier default (embed.NewLocal,
	// hash-v3) with that embedder until DB.Reembed moves them.
	Embedder Embedder
	// EmbedCache controls the embedding cache: vectors from a remote
	// embedder are kept in embeddings.db in the DB's directory, keyed by
	// text hash and embedder identity, so re-indexing unchanged text and
	// re-embedding never ask the provider twice. Default CacheRemote: on
	// for every embedder but the offline local one, which is faster than
	// its cache.
	EmbedCache CachePolicy
	// Encoding is the tiktoken encoding for chunking. Default "cl100k_base".
	Encoding string
	// Workers is the number of ingestion workers that parse and chunk
	// files (the pipeline's first stage; embedding and commits run in
	// their own stages). Default max(2, CPUs).
	Workers int
	// IngestMemory bounds the bytes that files being ingested hold between
	// parsing and their commit (parsed text, chunks and vectors), across
	// files; a larger file than that is ingested alone. Parsing itself is
	// bounded by Parse.Memory. Default DefaultIngestMemory.
	IngestMemory int64
	// EmbedConcurrency bounds the Embed calls in flight in the whole DB
	// (ingestion workers, queries and Reembed together), whatever Workers
	// is. Each call may itself send several requests (see
	// embed.OpenAIOptions.Concurrency), so a remote provider sees at most
	// EmbedConcurrency times that many. Default 4.
	EmbedConcurrency int
	// Parse bounds the work spent on each file. Zero means parse's defaults,
	// and a Parse.Memory budget of DefaultParseMemory shared by the DB's
	// ingestion workers.
	Parse parse.Options
	// Lexical configures BM25. Zero means lexical's defaults.
	Lexical lexical.Options
	// Reranker reorders the fused candidates when a search's ranker is not
	// "none". Default: none, the fused ranking with pseudo-relevance
	// feedback is final. rerank.NewLocal (offline) is opt-in: measured on
	// the shared collections it lowered the fused ranking's nDCG@10 on
	// cranfield (0.393 → 0.377) and msmarco-5k (0.749 → 0.719); see bench
	// TestSearchQuality. The reranker orders the results; their scores stay
	// absolute (see SearchResult.Score).
	Reranker Reranker
	// RerankDepth is how many fused candidates the reranker sees. Default 50.
	RerankDepth int
	// Rewriter rewrites queries of searches with RewriteQuery set. Default:
	// the local rewriter, which corrects spelling against the index's own
	// vocabulary (no network).
	Rewriter Rewriter
	// Hybrid is the default weighting of the dense and keyword rankings.
	// Default: 1 and 1, except for the offline embedders (provider
	// "local": the default and hash-v3), whose vectors are weaker than BM25
	// on real collections: 0.1 and 1, and
	// USE-lite (embed.USELite, embed.USEStatic): 0.2 and 1.
	Hybrid HybridWeights
	// Fusion is the default fusion method: rerank.NormalizedScore (the
	// default; it measured better than RRF on the shared collections) or
	// rerank.RRF. It orders results; scores are absolute either way.
	Fusion rerank.Fusion
	// MaxFileTokens fails files with more tokens. Default 5,000,000.
	MaxFileTokens int
	// Logger receives the DB's operational messages: index rebuilds and
	// failed index updates (Warn, Error), a reranker that failed (Warn),
	// and each file that failed to ingest (Info; the file's LastError says
	// the same to the API). Default: slog.Default().
	Logger *slog.Logger

	// Clock, when set, replaces time.Now for expiry, last_active_at and
	// the creation time of uploads (simulations and tests move it
	// forward).
	Clock func() time.Time
	// ReclaimInterval is how often the background reclaimer looks for
	// expired vector stores and uploads (it also runs at Open). Default 1
	// minute.
	ReclaimInterval time.Duration
}

// CachePolicy says which embedders the DB caches.
type CachePolicy int

const (
	CacheRemote CachePolicy = iota // cache all but the local embedder
	CacheNever                     // never cache
	CacheAlways                    // cache every embedder
)

// Embedder computes embeddings; see package embed.
type Embedder = embed.Embedder

// Reranker re-scores first-stage candidates for a query, returning them best
// first with scores in 0..1. See package rerank.
type Reranker interface {
	Rerank(ctx context.Context, query string, cands []rerank.Candidate) ([]rerank.Candidate, error)
}

// Rewriter turns a query into the one to five queries to run. It must not
// fail: on any trouble it returns the query unchanged. See package rewrite.
type Rewriter interface {
	Rewrite(ctx context.Context, query string) ([]string, error)
}

func (o *Options) ensureDefaults() {
	if o.Embedder == nil {
		o.Embedder = embed.NewDefault()
	}
	if o.Encoding == "" {
		o.Encoding = chunk.CL100K
	}
	if o.Workers <= 0 {
		// Parsing and chunking are CPU-bound; commits and embedding
		// requests have stages of their own.
		o.Workers = max(2, runtime.NumCPU())
	}
	if o.IngestMemory <= 0 {
		o.IngestMemory = DefaultIngestMemory
	}
	if o.EmbedConcurrency <= 0 {
		o.EmbedConcurrency = 4
	}
	if o.Hybrid == (HybridWeights{}) {
		o.Hybrid = HybridWeights{EmbeddingWeight: 1, TextWeight: 1}
		switch o.Embedder.Identity().Provider {
		case "local":
			o.Hybrid.EmbeddingWeight = 0.1
		case "use": // USE-lite and its static distillation: best at 0.2 (bench.TestEmbedderQuality)
			o.Hybrid.EmbeddingWeight = 0.2
		}
	}
	if o.Fusion == "" {
		o.Fusion = rerank.NormalizedScore
	}
	if o.RerankDepth <= 0 {
		o.RerankDepth = 50
	}
	if o.MaxFileTokens <= 0 {
		o.MaxFileTokens = 5_000_000
	}
	if o.Parse.Memory == nil {
		// The memory in flight across the ingestion workers' parsers.
		o.Parse.Memory = parse.NewBudget(DefaultParseMemory)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Validate reports every problem with o at once.
func (o *Options) Validate() error {
	var errs []error
	if o.Workers < 0 {
		errs = append(errs, invalidf("Workers must be >= 0, got %d", o.Workers))
	}
	if o.Encoding != "" && o.Encoding != chunk.CL100K && o.Encoding != chunk.O200K {
		errs = append(errs, invalidf("Encoding must be %s or %s, got %q", chunk.CL100K, chunk.O200K, o.Encoding))
	}
	if o.IngestMemory < 0 {
		errs = append(errs, invalidf("IngestMemory must be >= 0, got %d", o.IngestMemory))
	}
	if o.EmbedConcurrency < 0 {
		errs = append(errs, invalidf("EmbedConcurrency must be >= 0, got %d", o.EmbedConcurrency))
	}
	if o.MaxFileTokens < 0 {
		errs = append(errs, invalidf("MaxFileTokens must be >= 0, got %d", o.MaxFileTokens))
	}
	if h := o.Hybrid; h != (HybridWeights{}) && !h.valid() {
		errs = append(errs, invalidf("Hybrid weights must be >= 0 and not both 0, got %v and %v", h.EmbeddingWeight, h.TextWeight))
	}
	if !validFusion(o.Fusion) {
		errs = append(errs, invalidf("Fusion must be %q or %q, got %q", rerank.RRF, rerank.NormalizedScore, o.Fusion))
	}
	if err := o.Lexical.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrInvalid, err))
	}
	return errors.Join(errs...)
}

// DefaultParseMemory is the memory the ingestion workers' parsers may hold
// at once when Options.Parse.Memory is nil (see parse.Budget).
const DefaultParseMemory = 1 << 30

// DefaultIngestMemory is Options.IngestMemory's default.
const DefaultIngestMemory = 64 << 20
