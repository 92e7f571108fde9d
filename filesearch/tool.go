package filesearch

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/store"
)

// Searcher runs one search over vector stores; *store.DB is one.
type Searcher interface {
	Search(ctx context.Context, vsIDs []string, req store.SearchRequest) (*store.SearchResults, error)
}

// Config is what a Tool searches and how.
type Config struct {
	// VectorStoreIDs are the stores searched, the only ones: the model
	// never names a store. Required.
	VectorStoreIDs []string
	// MaxResults caps the results of one call over all its queries and
	// stores: 1..50, default 10.
	MaxResults int
	// Filter keeps chunks of files whose attributes match.
	Filter *filter.Filter
	// Ranking tunes each search.
	Ranking store.RankingOptions
	// Sources are sources shown in earlier turns of the conversation, with
	// their handles; they keep them, and new sources are numbered after
	// them.
	Sources []Source
	// Parallel bounds the searches run at once. Default 4.
	Parallel int
}

// Source is a chunk shown to the model under its handle.
type Source struct {
	Handle        int            `json:"handle"` // cited as [Handle]
	FileID        string         `json:"file_id"`
	Filename      string         `json:"filename"`
	VectorStoreID string         `json:"vector_store_id"`
	Score         float64        `json:"score"`
	Attributes    map[string]any `json:"attributes,omitempty"`
	store.ChunkResult
}

// Result is the outcome of one call.
type Result struct {
	Queries []string `json:"queries"`
	// Sources are the results, best first, at most Config.MaxResults.
	Sources []Source `json:"sources"`
	// Text is the tool message for the model: each source under its
	// handle with file, pages and heading path.
	Text string `json:"text"`
}

// Tool is the file_search tool of one conversation. It is safe for
// concurrent use.
type Tool struct {
	s   Searcher
	cfg Config

	mu       sync.Mutex
	byChunk  map[string]*Source // guarded by mu: every source shown, by chunk id
	byHandle map[int]*Source    // guarded by mu
	next     int                // guarded by mu: the next handle
}

// New returns a Tool searching cfg's vector stores with s.
func New(s Searcher, cfg Config) (*Tool, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: no searcher", ErrConfig)
	}
	if len(cfg.VectorStoreIDs) == 0 {
		return nil, fmt.Errorf("%w: no vector store", ErrConfig)
	}
	if cfg.MaxResults == 0 {
		cfg.MaxResults = 10
	}
	if cfg.MaxResults < 1 || cfg.MaxResults > 50 {
		return nil, fmt.Errorf("%w: max results must be between 1 and 50, got %d", ErrConfig, cfg.MaxResults)
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	probe := store.SearchRequest{Query: []string{"probe"}, MaxResults: cfg.MaxResults, Filter: cfg.Filter, Ranking: cfg.Ranking}
	if err := probe.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t := &Tool{s: s, cfg: cfg, byChunk: map[string]*Source{}, byHandle: map[int]*Source{}, next: 1}
	for _, src := range cfg.Sources {
		if src.Handle < 1 || t.byHandle[src.Handle] != nil || src.ChunkID == "" {
			return nil, fmt.Errorf("%w: source with handle %d and chunk %q", ErrConfig, src.Handle, src.ChunkID)
		}
		t.remember(src)
	}
	t.cfg.Sources = nil
	return t, nil
}

// remember records src under its handle.
// REQUIRES: t.mu held, or t not yet shared.
func (t *Tool) remember(src Source) *Source {
	p := &src
	t.byHandle[src.Handle] = p
	if _, ok := t.byChunk[src.ChunkID]; !ok {
		t.byChunk[src.ChunkID] = p
	}
	t.next = max(t.next, src.Handle+1)
	return p
}

// Sources returns every source shown so far, by handle: what a later turn
// passes as Config.Sources.
func (t *Tool) Sources() []Source {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Source, 0, len(t.byHandle))
	for _, s := range t.byHandle {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Source) int { return cmp.Compare(a.Handle, b.Handle) })
	return out
}

// Call runs a tool call with the model's JSON arguments (see
// ParseArguments). Bad arguments give an *ArgumentsError; a failed search
// gives its error.
func (t *Tool) Call(ctx context.Context, arguments string) (*Result, error) {
	qs, err := ParseArguments(arguments)
	if err != nil {
		return nil, err
	}
	return t.Search(ctx, qs)
}

// Search runs queries (1..MaxQueries) against every configured store in
// parallel, fuses the rankings by reciprocal rank, keeps each chunk once
// and at most Config.MaxResults in all.
func (t *Tool) Search(ctx context.Context, queries []string) (*Result, error) {
	if len(queries) == 0 || len(queries) > MaxQueries {
		return nil, &ArgumentsError{Msg: fmt.Sprintf("pass 1 to %d queries, got %d", MaxQueries, len(queries))}
	}
	stores := slices.Compact(slices.Sorted(slices.Values(t.cfg.VectorStoreIDs)))
	lists := make([][]Source, len(queries)*len(stores))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.cfg.Parallel)
	for qi, q := range queries {
		for si, vs := range stores {
			g.Go(func() error {
				res, err := t.s.Search(gctx, []string{vs}, store.SearchRequest{
					Query: []string{q}, MaxResults: t.cfg.MaxResults, Filter: t.cfg.Filter, Ranking: t.cfg.Ranking,
				})
				if err != nil {
					return fmt.Errorf("filesearch: search %q in %s: %w", q, vs, err)
				}
				lists[qi*len(stores)+si] = flatten(res)
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	fused := fuse(lists, t.cfg.MaxResults)

	t.mu.Lock()
	for i := range fused {
		if old, ok := t.byChunk[fused[i].ChunkID]; ok {
			fused[i].Handle = old.Handle
			continue
		}
		fused[i].Handle = t.next
		t.remember(fused[i])
	}
	t.mu.Unlock()
	return &Result{Queries: queries, Sources: fused, Text: Format(queries, fused)}, nil
}

// flatten lists a result page's chunks in the search's order, best first
// (ChunkResult.Rank: scores are absolute and need not fall in it).
func flatten(r *store.SearchResults) []Source {
	var out []Source
	for _, d := range r.Data {
		for _, c := range d.Content {
			out = append(out, Source{FileID: d.FileID, Filename: d.Filename, VectorStoreID: d.VectorStoreID,
				Score: c.Score, Attributes: d.Attributes, ChunkResult: c})
		}
	}
	slices.SortStableFunc(out, func(a, b Source) int { return cmp.Compare(a.Rank, b.Rank) })
	return out
}

// rrfK is the reciprocal-rank constant.
const rrfK = 60

// fuse merges ranked lists by reciprocal rank (ties: the better score),
// one entry per chunk (its best score), at most n.
func fuse(lists [][]Source, n int) []Source {
	type acc struct {
		src Source
		rrf float64
	}
	byChunk := map[string]*acc{}
	var order []*acc
	for _, l := range lists {
		for rank, s := range l {
			a, ok := byChunk[s.ChunkID]
			if !ok {
				a = &acc{src: s}
				byChunk[s.ChunkID] = a
				order = append(order, a)
			} else if s.Score > a.src.Score {
				a.src.Score = s.Score
			}
			a.rrf += 1 / float64(rrfK+rank+1)
		}
	}
	slices.SortStableFunc(order, func(a, b *acc) int {
		if c := cmp.Compare(b.rrf, a.rrf); c != 0 {
			return c
		}
		return cmp.Compare(b.src.Score, a.src.Score)
	})
	out := make([]Source, 0, min(n, len(order)))
	for _, a := range order[:min(n, len(order))] {
		out = append(out, a.src)
	}
	return out
}

// Format renders sources for the model, each under its handle.
func Format(queries []string, sources []Source) string {
	var sb strings.Builder
	quoted := make([]string, len(queries))
	for i, q := range queries {
		quoted[i] = fmt.Sprintf("%q", q)
	}
	if len(sources) == 0 {
		fmt.Fprintf(&sb, "No results in the searched files for %s.\n", strings.Join(quoted, ", "))
		return sb.String()
	}
	fmt.Fprintf(&sb, "%d results for %s. Cite a source by its handle, such as [%d].\n\n", len(sources), strings.Join(quoted, ", "), sources[0].Handle)
	for _, s := range sources {
		s.WriteSource(&sb, s.Handle, s.Filename)
	}
	return sb.String()
}
