package bench

import (
	"context"
	"embed"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/store"
)

// SearchConfig is one way of searching a store, evaluated by RunSearch.
type SearchConfig struct {
	Name    string
	Request store.SearchRequest // Query is filled in per query
	// Conversational rewrites each query with a conversational template
	// before searching (see Conversational).
	Conversational bool
	// HeldOut, when n > 0, wraps each query in one of the n-th held-back
	// set's templates instead (see HeldOutConversational); it takes
	// precedence over Conversational.
	HeldOut int
	// Typos misspells one word of each query first (see Typo).
	Typos bool
}

// DefaultSearchConfigs are the configurations the quality gate measures:
// BM25 alone, vectors alone, hybrid fusion, the default pipeline (hybrid
// fusion with pseudo-relevance feedback, and the DB's reranker if it has
// one: none by default), the plain queries rewritten, and variants of the
// queries through the default pipeline: conversational (templates in the rewriter's lists, and four
// held-back sets) and misspelled, without and with query rewriting.
func DefaultSearchConfigs() []SearchConfig {
	only := func(e, t float64) *store.HybridWeights {
		return &store.HybridWeights{EmbeddingWeight: e, TextWeight: t}
	}
	none := store.RankingOptions{Ranker: store.RankerNone}
	cfgs := []SearchConfig{
		{Name: "bm25", Request: store.SearchRequest{Ranking: store.RankingOptions{Ranker: store.RankerNone, Hybrid: only(0, 1)}}},
		{Name: "vector", Request: store.SearchRequest{Ranking: store.RankingOptions{Ranker: store.RankerNone, Hybrid: only(1, 0)}}},
		{Name: "hybrid", Request: store.SearchRequest{Ranking: none}},
		{Name: "default", Request: store.SearchRequest{}},
		{Name: "plain+rewrite", Request: store.SearchRequest{RewriteQuery: true}},
		{Name: "conversational", Request: store.SearchRequest{}, Conversational: true},
		{Name: "conversational+rewrite", Request: store.SearchRequest{RewriteQuery: true}, Conversational: true},
		{Name: "heldout", Request: store.SearchRequest{}, HeldOut: 1},
	}
	for n := range len(heldOutFiles) {
		cfgs = append(cfgs, SearchConfig{Name: HeldOutName(n + 1), Request: store.SearchRequest{RewriteQuery: true}, HeldOut: n + 1})
	}
	return append(cfgs,
		SearchConfig{Name: "typo", Request: store.SearchRequest{}, Typos: true},
		SearchConfig{Name: "typo+rewrite", Request: store.SearchRequest{RewriteQuery: true}, Typos: true},
	)
}

// HeldOutName is the name of the configuration that runs the n-th
// held-back set (1-based) with rewriting: "heldout+rewrite" for the first,
// "heldoutN+rewrite" for the others.
func HeldOutName(n int) string {
	if n == 1 {
		return "heldout+rewrite"
	}
	return fmt.Sprintf("heldout%d+rewrite", n)
}

// The held-back sets of conversational templates, in the order they were
// written; none was in the rewriter's lists when it was written:
//
//  1. heldout_templates.txt, kept apart from the rewriter's filler lists
//     and from Conversational's templates;
//  2. heldout_templates_2.txt, written after the rewriter's frame rules;
//  3. heldout_templates_3.txt, written after its interjection rule;
//  4. heldout_templates_4.txt (20 templates), written after its
//     collection statistics and before its first run on them;
//  5. heldout_templates_5.txt (20 templates), written before any change
//     made after the fourth set's results were read.
//
// Sets the rewriter was later developed on (per-query diagnosis, never
// by adding their words or templates to its lists) are regression guards,
// no longer unseen; the latest set is the test of generalization.
//
//go:embed testdata/heldout_templates.txt testdata/heldout_templates_2.txt testdata/heldout_templates_3.txt testdata/heldout_templates_4.txt testdata/heldout_templates_5.txt
var heldOutFS embed.FS

var heldOutFiles = []string{"heldout_templates.txt", "heldout_templates_2.txt", "heldout_templates_3.txt", "heldout_templates_4.txt", "heldout_templates_5.txt"}

// heldOutTemplates returns the templates of each held-back set.
var heldOutTemplates = sync.OnceValue(func() [][]string {
	out := make([][]string, len(heldOutFiles))
	for i, name := range heldOutFiles {
		data, err := heldOutFS.ReadFile("testdata/" + name)
		if err != nil {
			panic(err) // embedded above
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				out[i] = append(out[i], line)
			}
		}
	}
	return out
})

// HeldOutConversational wraps query i in one of the templates of the
// held-back set (1-based), chosen by i, so that rewriting is judged on
// phrasings it was not written for.
func HeldOutConversational(query string, set, i int) string {
	q := strings.TrimRight(strings.TrimSpace(query), ".?!")
	ts := heldOutTemplates()[set-1]
	return fmt.Sprintf(ts[i%len(ts)], strings.ToLower(q))
}

// Typo misspells the longest word of query (6 letters or more; none
// changes otherwise) with one of three patterns chosen by i: two adjacent
// letters swapped, a letter dropped, a letter doubled, always past the
// first two letters. The rewriter has no list of misspellings: these test
// its edit-distance correction.
func Typo(query string, i int) string {
	words := strings.Fields(query)
	best := -1
	for j, w := range words {
		if isLetters(w) && len(w) >= 6 && (best < 0 || len(w) > len(words[best])) {
			best = j
		}
	}
	if best < 0 {
		return query
	}
	w := words[best]
	m := len(w) / 2
	switch i % 3 {
	case 0:
		w = w[:m] + w[m+1:m+2] + w[m:m+1] + w[m+2:]
	case 1:
		w = w[:m] + w[m+1:]
	default:
		w = w[:m] + w[m:m+1] + w[m:]
	}
	words[best] = w
	return strings.Join(words, " ")
}

func isLetters(w string) bool {
	for i := 0; i < len(w); i++ {
		if c := w[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// conversationalTemplates wrap a query the way people talk to assistants.
var conversationalTemplates = []string{
	"can you tell me about %s?",
	"I'd like to know %s",
	"what do you know about %s",
	"please explain %s, thanks",
	"hey, I'm looking for information on %s",
	"could you find documents about %s please",
}

// Conversational wraps query i in one of several conversational templates,
// chosen by i so that a run is deterministic.
func Conversational(query string, i int) string {
	q := strings.TrimRight(strings.TrimSpace(query), ".?!")
	return fmt.Sprintf(conversationalTemplates[i%len(conversationalTemplates)], strings.ToLower(q))
}

// SearchResult is the quality of one SearchConfig on one collection.
type SearchResult struct {
	Config  string
	Metrics Metrics
	// Run is the ranking as the search returned it: its scores are
	// positions (higher first), since absolute scores need not fall in
	// result order.
	Run Run
	// Scores is the same documents with the scores the search returned.
	Scores Run
}

// SearchIndex is a collection loaded into a store, one file per document.
type SearchIndex struct {
	DB     *store.DB
	VS     *store.VectorStore
	ByID   map[string]string // file id -> document id
	Dir    string
	Ingest time.Duration
}

// Close closes the store and removes its directory.
func (si *SearchIndex) Close() error {
	err := si.DB.Close()
	os.RemoveAll(si.Dir)
	return err
}

// BuildSearchIndex ingests the collection into a fresh store in a temporary
// directory with opts (zero: the offline defaults): each document is a file
// named after its id holding its title and text.
func BuildSearchIndex(ctx context.Context, c *BEIR, opts store.Options) (*SearchIndex, error) {
	dir, err := os.MkdirTemp("", "quarry-bench-search-")
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	si := &SearchIndex{DB: db, Dir: dir, ByID: map[string]string{}}
	if si.VS, err = db.CreateVectorStore(ctx, store.VectorStoreParams{Name: c.Name}); err != nil {
		si.Close()
		return nil, err
	}
	start := time.Now()
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, d := range c.Corpus {
		text := strings.TrimSpace(d.Title + "\n" + d.Text)
		if text == "" {
			continue
		}
		g.Go(func() error {
			f, err := si.VS.AddFile(gctx, store.FileInput{Name: d.ID + ".txt", Body: strings.NewReader(text)})
			if err != nil {
				return err
			}
			mu.Lock()
			si.ByID[f.ID] = d.ID
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		si.Close()
		return nil, err
	}
	for {
		info, err := si.VS.Info(ctx)
		if err != nil {
			si.Close()
			return nil, err
		}
		if info.FileCounts.InProgress == 0 {
			if info.FileCounts.Failed > 0 {
				si.Close()
				return nil, fmt.Errorf("bench: %d documents failed to ingest", info.FileCounts.Failed)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	si.Ingest = time.Since(start)
	return si, nil
}

// RunSearch runs every query of c through si with each configuration and
// evaluates the rankings of documents (files in result order).
func RunSearch(ctx context.Context, c *BEIR, si *SearchIndex, configs []SearchConfig) ([]SearchResult, error) {
	var out []SearchResult
	for _, cfg := range configs {
		run, scores := Run{}, Run{}
		for i, q := range c.Queries {
			req := cfg.Request
			req.Query = []string{variantText(cfg, q.Text, i)}
			req.MaxResults = 50
			res, err := si.VS.Search(ctx, req)
			if err != nil {
				return nil, fmt.Errorf("bench: %s: query %s: %w", cfg.Name, q.ID, err)
			}
			var ranked, scored []Scored
			seen := map[string]bool{}
			for _, r := range res.Data {
				id := si.ByID[r.FileID]
				if !seen[id] {
					seen[id] = true
					ranked = append(ranked, Scored{DocID: id, Score: float64(len(res.Data) - len(ranked))})
					scored = append(scored, Scored{DocID: id, Score: r.Score})
				}
			}
			run[q.ID], scores[q.ID] = ranked, scored
		}
		out = append(out, SearchResult{Config: cfg.Name, Metrics: Evaluate(c.Qrels, run), Run: run, Scores: scores})
	}
	return out, nil
}

// Latency is a latency distribution.
type Latency struct {
	N             int
	P50, P90, P99 time.Duration
}

// MeasureLatency runs each query once as a warm-up, then passes times, one
// at a time, and reports the distribution of single-search latencies.
func MeasureLatency(ctx context.Context, vs *store.VectorStore, queries []string, req store.SearchRequest, passes int) (Latency, error) {
	var ds []time.Duration
	for pass := -1; pass < passes; pass++ {
		for _, q := range queries {
			r := req
			r.Query = []string{q}
			start := time.Now()
			if _, err := vs.Search(ctx, r); err != nil {
				return Latency{}, err
			}
			if pass >= 0 {
				ds = append(ds, time.Since(start))
			}
		}
	}
	slices.Sort(ds)
	at := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return Latency{N: len(ds), P50: at(0.5), P90: at(0.9), P99: at(0.99)}, nil
}

// Calibration splits the results of a run at a score: how many results
// score at least at, and how many of those are judged relevant, and the
// same below at.
type Calibration struct {
	Above, AboveRelevant int
	Below, BelowRelevant int
}

// Precision returns the share of judged-relevant results above and below
// the split (0 for an empty side).
func (c Calibration) Precision() (above, below float64) {
	if c.Above > 0 {
		above = float64(c.AboveRelevant) / float64(c.Above)
	}
	if c.Below > 0 {
		below = float64(c.BelowRelevant) / float64(c.Below)
	}
	return above, below
}

// Calibrate splits every result of run at score at (see Calibration).
func Calibrate(run Run, qrels Qrels, at float64) Calibration {
	var c Calibration
	for qid, ranked := range run {
		for _, r := range ranked {
			rel := qrels[qid][r.DocID] > 0
			if r.Score >= at {
				c.Above++
				if rel {
					c.AboveRelevant++
				}
			} else {
				c.Below++
				if rel {
					c.BelowRelevant++
				}
			}
		}
	}
	return c
}

// variantText is the query RunSearch sends for query i under cfg.
func variantText(cfg SearchConfig, text string, i int) string {
	if cfg.Typos {
		text = Typo(text, i)
	}
	switch {
	case cfg.HeldOut > 0:
		return HeldOutConversational(text, cfg.HeldOut, i)
	case cfg.Conversational:
		return Conversational(text, i)
	}
	return text
}
