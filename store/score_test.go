package store

import (
	"context"
	"fmt"
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

// TestUnknownWordsNoVectorNoise: with the default embedder a CJK text is a
// zero vector (no word of its vocabulary), so the vector side has nothing
// to say: a chunk sharing a keyword with the query ranks above every chunk
// that shares none, and the ones that share none score 0.
func TestUnknownWordsNoVectorNoise(t *testing.T) {
	ctx := context.Background()
	db, vs := openWithStore(t, t.TempDir())
	defer db.Close()
	// Those sharing no keyword come first, so that ties among zero
	// vectors cannot happen to leave tokyo.txt second.
	docs := [][2]string{
		{"shanghai.txt", "上海是一个国际大都市，以金融和贸易闻名。"},
		{"panda.txt", "熊猫是中国的国宝，主要生活在四川的竹林里。"},
		{"tea.txt", "绿茶产自杭州，龙井茶最有名。"},
		{"river.txt", "长江是亚洲最长的河流，流经许多省份。"},
		{"fox.txt", "The quick brown fox jumps over the lazy dog in the park."},
		{"beijing.txt", "北京是中国的首都，有很多历史古迹，比如故宫和长城。"},
		{"tokyo.txt", "东京是日本的首都，人口众多，交通发达。"},
	}
	for _, d := range docs {
		addText(t, vs, d[0], d[1], nil)
	}
	res, err := vs.Search(ctx, SearchRequest{Query: []string{"首都 故宫"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Data {
		got = append(got, fmt.Sprintf("%s %.3f", r.Filename, r.Score))
	}
	if len(res.Data) < 2 || res.Data[0].Filename != "beijing.txt" || res.Data[1].Filename != "tokyo.txt" {
		t.Fatalf("results %v, want beijing.txt then tokyo.txt (the two holding 首都)", got)
	}
	for _, r := range res.Data[2:] {
		if r.Score != 0 {
			t.Errorf("results %v: %s shares no keyword and has no vector, yet scores %v", got, r.Filename, r.Score)
		}
	}
}
