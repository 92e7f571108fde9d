package bench

import (
	"context"
	_ "embed"
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
	// HeldOut wraps each query in one of the held-back templates instead
	// (see HeldOutConversational); it takes precedence over Conversational.
	HeldOut bool
	// HeldOut2 wraps each query in one of the second held-back set's
	// templates (see HeldOutConversational2).
	HeldOut2 bool
	// HeldOut3 wraps each query in one of the third held-back set's
	// templates (see HeldOutConversational3).
	HeldOut3 bool
	// HeldOut4 wraps each query in one of the fourth held-back set's
	// templates (see HeldOutConversational4).
	HeldOut4 bool
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
	return []SearchConfig{
		{Name: "bm25", Request: store.SearchRequest{Ranking: store.RankingOptions{Ranker: store.RankerNone, Hybrid: only(0, 1)}}},
		{Name: "vector", Request: store.SearchRequest{Ranking: store.RankingOptions{Ranker: store.RankerNone, Hybrid: only(1, 0)}}},
		{Name: "hybrid", Request: store.SearchRequest{Ranking: none}},
		{Name: "default", Request: store.SearchRequest{}},
		{Name: "plain+rewrite", Request: store.SearchRequest{RewriteQuery: true}},
		{Name: "conversational", Request: store.SearchRequest{}, Conversational: true},
		{Name: "conversational+rewrite", Request: store.SearchRequest{RewriteQuery: true}, Conversational: true},
		{Name: "heldout", Request: store.SearchRequest{}, HeldOut: true},
		{Name: "heldout+rewrite", Request: store.SearchRequest{RewriteQuery: true}, HeldOut: true},
		{Name: "heldout2+rewrite", Request: store.SearchRequest{RewriteQuery: true}, HeldOut2: true},
		{Name: "heldout3+rewrite", Request: store.SearchRequest{RewriteQuery: true}, HeldOut3: true},
		{Name: "heldout4+rewrite", Request: store.SearchRequest{RewriteQuery: true}, HeldOut4: true},
		{Name: "typo", Request: store.SearchRequest{}, Typos: true},
		{Name: "typo+rewrite", Request: store.SearchRequest{RewriteQuery: true}, Typos: true},
	}
}

var (
	//go:embed testdata/heldout_templates.txt
	heldOutFile string
	//go:embed testdata/heldout_templates_2.txt
	heldOutFile2 string
	//go:embed testdata/heldout_templates_3.txt
	heldOutFile3 string
	//go:embed testdata/heldout_templates_4.txt
	heldOutFile4 string
)

// templates returns the templates of a held-back file.
func templates(file string) []string {
	var out []string
	for _, line := range strings.Split(file, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

var (
	heldOutTemplates  = sync.OnceValue(func() []string { return templates(heldOutFile) })
	heldOutTemplates2 = sync.OnceValue(func() []string { return templates(heldOutFile2) })
	heldOutTemplates3 = sync.OnceValue(func() []string { return templates(heldOutFile3) })
	heldOutTemplates4 = sync.OnceValue(func() []string { return templates(heldOutFile4) })
)

// HeldOutConversational4 is HeldOutConversational with the fourth held-back
// set, testdata/heldout_templates_4.txt (20 templates), written after the
// rewriter's collection statistics and before its first run on them.
func HeldOutConversational4(query string, i int) string {
	q := strings.TrimRight(strings.TrimSpace(query), ".?!")
	ts := heldOutTemplates4()
	return fmt.Sprintf(ts[i%len(ts)], strings.ToLower(q))
}

// HeldOutConversational3 is HeldOutConversational with the third held-back
// set, testdata/heldout_templates_3.txt, written after the rewriter's
// interjection rule and never used to develop anything.
func HeldOutConversational3(query string, i int) string {
	q := strings.TrimRight(strings.TrimSpace(query), ".?!")
	ts := heldOutTemplates3()
	return fmt.Sprintf(ts[i%len(ts)], strings.ToLower(q))
}

// HeldOutConversational2 is HeldOutConversational with the second held-back
// set, testdata/heldout_templates_2.txt, written after the rewriter's frame
// rules and never used to develop them.
func HeldOutConversational2(query string, i int) string {
	q := strings.TrimRight(strings.TrimSpace(query), ".?!")
	ts := heldOutTemplates2()
	return fmt.Sprintf(ts[i%len(ts)], strings.ToLower(q))
}

// HeldOutConversational wraps query i in one of the conversational
// templates of testdata/heldout_templates.txt, chosen by i. Those templates
// are kept apart from the rewriter's filler lists (and from
// Conversational's templates) so that rewriting is judged on phrasings it
// was not written for.
func HeldOutConversational(query string, i int) string {
	q := strings.TrimRight(strings.TrimSpace(query), ".?!")
	ts := heldOutTemplates()
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
	case cfg.HeldOut:
		return HeldOutConversational(text, i)
	case cfg.HeldOut2:
		return HeldOutConversational2(text, i)
	case cfg.HeldOut3:
		return HeldOutConversational3(text, i)
	case cfg.HeldOut4:
		return HeldOutConversational4(text, i)
	case cfg.Conversational:
		return Conversational(text, i)
	}
	return text
}
