package bench

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/store"
)

// TestRewriteVariants runs only the query-rewriting variants of
// DefaultSearchConfigs beside the default pipeline, to work on the
// rewriter without the rest of TestSearchQuality: nDCG@10 and its share of
// the plain queries' per collection, and with QUARRY_REWRITE_DUMP=1 every
// query that loses, with what the rewriter ran (search_query).
// QUARRY_IR_COLLECTIONS (space separated) picks collections. It checks
// nothing; TestSearchQuality is the gate.
func TestRewriteVariants(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: ingests the collections")
	}
	names := strings.Fields(os.Getenv("QUARRY_IR_COLLECTIONS"))
	if len(names) == 0 {
		names = []string{"cranfield", "vaswani", "msmarco-5k"}
	}
	dump := os.Getenv("QUARRY_REWRITE_DUMP") == "1"
	var configs []SearchConfig
	for _, cfg := range DefaultSearchConfigs() {
		if cfg.Name == "default" || strings.HasSuffix(cfg.Name, "+rewrite") {
			configs = append(configs, cfg)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c, si, res := searchCollection(t, shareddata.Path(t, "datasets/ir/"+name), configs)
			def := res[0].Metrics.NDCG10
			plain := map[string]float64{}
			for _, q := range c.Queries {
				plain[q.ID] = NDCG10(Ranking(res[0].Run[q.ID]), c.Qrels[q.ID])
			}
			for ci, r := range res {
				t.Logf("%-24s nDCG@10 %.4f  %.1f%% of default", r.Config, r.Metrics.NDCG10, 100*r.Metrics.NDCG10/def)
				if !dump || ci == 0 {
					continue
				}
				for i, q := range c.Queries {
					if d := NDCG10(Ranking(r.Run[q.ID]), c.Qrels[q.ID]) - plain[q.ID]; d < 0 {
						text := variantText(configs[ci], q.Text, i)
						rw, err := si.VS.Search(ctx, store.SearchRequest{Query: []string{text}, RewriteQuery: true, MaxResults: 1})
						if err != nil {
							t.Fatal(err)
						}
						t.Logf("  %+.3f %q -> %q", d, text, rw.SearchQuery)
					}
				}
			}
		})
	}
}
