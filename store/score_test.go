package store

import (
	"context"
	"testing"

	"github.com/quarrylabs/quarry/filter"
)

// TestAbsoluteScores checks that a chunk's score depends on the query and
// the chunk only: the same whatever else is fused or shown, in 0..1, and
// below 0.1 for a query matching no word of the collection.
func TestAbsoluteScores(t *testing.T) {
	ctx := context.Background()
	db, vs := openWithStore(t, t.TempDir())
	defer db.Close()
	for name, text := range corpus {
		addText(t, vs, name, text, map[string]any{"name": name})
	}
	addText(t, vs, "keys2.md", "Production keys are rotated by the security team; a rotated key is revoked a day later.", map[string]any{"name": "keys2.md"})
	scores := func(req SearchRequest) map[string]float64 {
		t.Helper()
		res, err := vs.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, r := range res.Data {
			for _, c := range r.Content {
				if c.Score < 0 || c.Score > 1 {
					t.Errorf("%s: score %v out of 0..1", r.Filename, c.Score)
				}
			}
			out[r.Filename] = r.Score
		}
		return out
	}
	q := []string{"rotate production keys"}
	for _, ranker := range []string{RankerAuto, RankerNone} {
		all := scores(SearchRequest{Query: q, MaxResults: 10, Ranking: RankingOptions{Ranker: ranker}})
		one := scores(SearchRequest{Query: q, MaxResults: 1, Ranking: RankingOptions{Ranker: ranker}})
		if len(one) != 1 || len(all) < 2 {
			t.Fatalf("%s: results %v and %v", ranker, one, all)
		}
		for name, s := range one {
			if s != all[name] {
				t.Errorf("%s: %s scores %v alone, %v among %d results", ranker, name, s, all[name], len(all))
			}
		}
		t.Logf("%s: %v", ranker, all)
		if all["keys.md"] <= all["coffee.txt"] {
			t.Errorf("%s: keys.md %v <= coffee.txt %v", ranker, all["keys.md"], all["coffee.txt"])
		}
		if ranker == RankerNone {
			// No feedback: filtering the other candidates out changes nothing.
			only := scores(SearchRequest{Query: q, Ranking: RankingOptions{Ranker: ranker},
				Filter: &filter.Filter{Type: filter.Eq, Key: "name", Value: "keys.md"}})
			if only["keys.md"] != all["keys.md"] {
				t.Errorf("keys.md scores %v alone, %v among others", only["keys.md"], all["keys.md"])
			}
		}
	}
	for _, q := range []string{"zanzibarquux", "qwxzv plimbrokt"} {
		for name, s := range scores(SearchRequest{Query: []string{q}}) {
			if s >= 0.1 {
				t.Errorf("nonsense query %q: %s scores %v", q, name, s)
			}
		}
		if got := scores(SearchRequest{Query: []string{q}, Ranking: RankingOptions{ScoreThreshold: 0.1}}); len(got) != 0 {
			t.Errorf("nonsense query %q with threshold 0.1: %v", q, got)
		}
	}
}
