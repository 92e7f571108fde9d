package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/store"
)

// TestSearchQuality is the quality gate of the default search pipeline
// (hybrid fusion with pseudo-relevance feedback, no reranker) on the three
// shared IR collections with the offline default embedder, measured on the
// results in the order the search returns them. On every collection the
// default pipeline must reach BM25 alone and the best Lucene configuration,
// and the default embedder's hybrid leg (no reranker, no feedback) must
// beat BM25 alone (issue 20's condition for an offline default);
// conversational queries with rewriting must keep 95% of the plain
// queries' nDCG@10 with templates in the rewriter's lists, and 96% with
// each of the first three held-back sets; and scores must be calibrated
// (checkCalibration).
//
// The first three held-back sets are no longer unseen: the rewriter's
// collection statistics and grammar rules were developed on their
// per-query results (never by adding their words or templates to its
// lists), so they guard against regressions, a point under what they
// measure. The later sets (see heldOutFiles), each written before its
// first run and never developed on, are the test of generalization; they
// keep less than the 97% today (see the log), which
// QUARRY_STRICT_QUALITY=1 enforces on every set.
func TestSearchQuality(t *testing.T) {
	if raceEnabled {
		t.Skip("quality gate: slow under -race; .ci/run runs it without")
	}
	if testing.Short() {
		t.Skip("slow: ingests the collections")
	}
	strict := os.Getenv("QUARRY_STRICT_QUALITY") == "1"
	for _, name := range []string{"cranfield", "vaswani", "msmarco-5k"} {
		t.Run(name, func(t *testing.T) {
			dir := shareddata.Path(t, "datasets/ir/"+name)
			ref := shareddata.Path(t, "datasets/ir/reference")
			lucene := 0.0
			for tag, v := range referenceTable(t, filepath.Join(ref, "README.md"))[name] {
				if strings.HasPrefix(tag, "lucene-") {
					lucene = max(lucene, v[0])
				}
			}
			ctx := context.Background()
			c, si, res := searchCollection(t, dir, DefaultSearchConfigs())
			got := map[string]float64{}
			for _, r := range res {
				got[r.Config] = r.Metrics.NDCG10
				t.Logf("%-24s nDCG@10 %.4f  R@100 %.4f  MAP %.4f  MRR@10 %.4f", r.Config, r.Metrics.NDCG10, r.Metrics.Recall100, r.Metrics.MAP, r.Metrics.MRR10)
			}
			def := got["default"]
			var held []string
			for n := range len(heldOutFiles) {
				held = append(held, fmt.Sprintf("%.1f%%", 100*got[HeldOutName(n+1)]/def))
			}
			t.Logf("ingested %d documents in %v; default %.4f vs bm25 %+.4f, vs best Lucene (%.4f) %+.4f; rewrite keeps %.1f%% (plain queries), %.1f%% (templates in its lists), %s (held-back sets 1-%d); without rewrite: %.1f%% (in-list), %.1f%% (set 1); typos: %.1f%% without rewrite, %.1f%% with",
				len(c.Corpus), si.Ingest, def, def-got["bm25"], lucene, def-lucene,
				100*got["plain+rewrite"]/def, 100*got["conversational+rewrite"]/def, strings.Join(held, " / "), len(heldOutFiles),
				100*got["conversational"]/def, 100*got["heldout"]/def, 100*got["typo"]/def, 100*got["typo+rewrite"]/def)
			// Sets 1-3 were developed on: regression guards at 96% (they
			// measure 97.0-100.7%). The 97% holds for none of the
			// later, unseen sets yet; QUARRY_STRICT_QUALITY=1 enforces it on
			// every set.
			bar := map[string]float64{HeldOutName(1): 0.96, HeldOutName(2): 0.96, HeldOutName(3): 0.96}
			if strict {
				for n := 1; n <= len(heldOutFiles); n++ {
					bar[HeldOutName(n)] = 0.97
				}
			}
			if def < got["bm25"] {
				t.Errorf("default nDCG@10 %.4f < bm25 %.4f", def, got["bm25"])
			}
			// Issue 20's rule for the offline default embedder: its
			// hybrid leg (default weights, no reranker, no feedback)
			// beats BM25 alone on every collection.
			if got["hybrid"] <= got["bm25"] {
				t.Errorf("hybrid with the default embedder (%s): nDCG@10 %.4f, not above bm25 %.4f", embed.DefaultIdentity(), got["hybrid"], got["bm25"])
			}
			if def < lucene {
				t.Errorf("default nDCG@10 %.4f below best Lucene %.4f", def, lucene)
			}
			if got["conversational+rewrite"] < 0.95*def {
				t.Errorf("conversational+rewrite nDCG@10 %.4f < 95%% of %.4f", got["conversational+rewrite"], def)
			}
			for cfg, b := range bar {
				if got[cfg] < b*def {
					t.Errorf("%s nDCG@10 %.4f < %.0f%% of %.4f", cfg, got[cfg], 100*b, def)
				}
			}
			for _, r := range res {
				if r.Config == "default" {
					// cmd/quarry and filesearch order by score.
					t.Logf("default ordered by score instead of rank: nDCG@10 %.4f", Evaluate(c.Qrels, r.Scores).NDCG10)
					checkCalibration(t, ctx, si, c, r.Scores)
				}
			}
		})
	}
}

// nonsenseQueries match nothing in any collection.
var nonsenseQueries = []string{"zanzibarquux", "qwxzv plimbrokt", "xylofrobnitz quarklewump"}

// noMatchScore is the score threshold store's documentation gives: with
// the default weights a chunk sharing no term with the query scores below
// it.
const noMatchScore = 0.1

// checkCalibration checks that scores are absolute: results scoring 0.5
// or more are judged relevant more often than those below 0.5, and
// nonsense queries return nothing at noMatchScore or above.
func checkCalibration(t *testing.T, ctx context.Context, si *SearchIndex, c *BEIR, run Run) {
	t.Helper()
	cal := Calibrate(run, c.Qrels, 0.5)
	above, below := cal.Precision()
	t.Logf("calibration: %d results score >= 0.5, %.1f%% judged relevant; %d below, %.1f%%", cal.Above, 100*above, cal.Below, 100*below)
	if cal.Above == 0 || cal.Below == 0 || above <= below {
		t.Errorf("scores not calibrated: %d results >= 0.5 (%.3f relevant), %d below (%.3f)", cal.Above, above, cal.Below, below)
	}
	for _, q := range nonsenseQueries {
		res, err := si.VS.Search(ctx, store.SearchRequest{Query: []string{q}, MaxResults: 50})
		if err != nil {
			t.Fatal(err)
		}
		best := 0.0
		for _, r := range res.Data {
			best = max(best, r.Score)
		}
		t.Logf("nonsense query %q: %d results, best score %.4f", q, len(res.Data), best)
		if best >= noMatchScore {
			t.Errorf("nonsense query %q: a result scores %.4f >= %v", q, best, noMatchScore)
		}
		res, err = si.VS.Search(ctx, store.SearchRequest{Query: []string{q}, Ranking: store.RankingOptions{ScoreThreshold: noMatchScore}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 0 {
			t.Errorf("nonsense query %q with score_threshold %v: %d results", q, noMatchScore, len(res.Data))
		}
	}
}

func TestTypo(t *testing.T) {
	for i, want := range []string{"the scheudler", "the scheuler", "the schedduler"} {
		if got := Typo("the scheduler", i); got != want {
			t.Errorf("Typo(%d) = %q, want %q", i, got, want)
		}
	}
	if got := Typo("a bc", 0); got != "a bc" {
		t.Errorf("Typo(short) = %q", got)
	}
	for i, ts := range heldOutTemplates() {
		if want := []int{8, 8, 8, 20, 20}[i]; len(ts) < want {
			t.Errorf("%d templates in held-back set %d, want at least %d", len(ts), i+1, want)
		}
		for _, tpl := range ts {
			if strings.Count(tpl, "%s") != 1 || strings.Count(tpl, "%") != 1 {
				t.Errorf("held-back set %d: template %q must hold one %%s and no other verb", i+1, tpl)
			}
		}
	}
}

// searchCollection ingests the BEIR collection in dir into a store with
// the default options (closed when t ends) and runs configs on it.
func searchCollection(t *testing.T, dir string, configs []SearchConfig) (*BEIR, *SearchIndex, []SearchResult) {
	t.Helper()
	c, err := LoadBEIR(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	si, err := BuildSearchIndex(ctx, c, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { si.Close() })
	res, err := RunSearch(ctx, c, si, configs)
	if err != nil {
		t.Fatal(err)
	}
	return c, si, res
}
