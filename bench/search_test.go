package bench

import (
	"context"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/store"
)

// TestSearchQuality is the search issue's quality gate on the shared IR
// collections with the offline default embedder: hybrid search with the
// local reranker must beat BM25 alone by 0.01 nDCG@10, and conversational
// variants of the queries with rewriting on must reach 95% of the original
// queries' nDCG@10.
func TestSearchQuality(t *testing.T) {
	if raceEnabled {
		t.Skip("quality gate: slow under -race; .ci/run runs it without")
	}
	if testing.Short() {
		t.Skip("slow: ingests the collections")
	}
	for _, name := range []string{"cranfield", "vaswani", "msmarco-5k"} {
		t.Run(name, func(t *testing.T) {
			dir := shareddata.Path(t, "datasets/ir/"+name)
			c, err := LoadBEIR(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			si, err := BuildSearchIndex(ctx, c, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer si.Close()
			res, err := RunSearch(ctx, c, si, DefaultSearchConfigs())
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, r := range res {
				got[r.Config] = r.Metrics.NDCG10
				t.Logf("%-24s nDCG@10 %.4f  R@100 %.4f  MAP %.4f  MRR@10 %.4f", r.Config, r.Metrics.NDCG10, r.Metrics.Recall100, r.Metrics.MAP, r.Metrics.MRR10)
			}
			t.Logf("ingested %d documents in %v", len(c.Corpus), si.Ingest)
			if got["hybrid+rerank"] < got["bm25"]+0.01 {
				t.Errorf("hybrid+rerank nDCG@10 %.4f < bm25 %.4f + 0.01", got["hybrid+rerank"], got["bm25"])
			}
			if got["conversational+rewrite"] < 0.95*got["hybrid+rerank"] {
				t.Errorf("conversational+rewrite nDCG@10 %.4f < 95%% of %.4f", got["conversational+rewrite"], got["hybrid+rerank"])
			}
		})
	}
}
