package lexical

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestScoreAmongMatchesSearch: scoring a candidate set gives each document
// the score a full search gives it, and leaves out non-matching and
// unknown documents.
func TestScoreAmongMatchesSearch(t *testing.T) {
	ctx := context.Background()
	ix, err := OpenMem(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"glacier", "river", "delta", "basin", "ice", "flow", "melt", "snow", "rock", "sand"}
	var docs []Doc
	for i := range 300 {
		text := ""
		for range 5 + rng.IntN(40) {
			text += words[min(rng.IntN(len(words)), rng.IntN(len(words)))] + " "
		}
		docs = append(docs, Doc{ID: uint64(i + 1), Text: text, Filename: fmt.Sprintf("f%d.txt", i)})
	}
	mustApply(t, ix, 1, docs, nil)
	mustApply(t, ix, 2, nil, []uint64{5, 6})
	terms := []WeightedTerm{{"glacier", 1}, {"melt", 0.5}, {"rock", 0.25}, {"sand", 2}}
	full, err := ix.SearchTerms(ctx, terms, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]float64{}
	for _, h := range full {
		want[h.ID] = h.Score
	}
	cands := []uint64{999999, 5} // unknown and deleted
	for i := 0; i < len(docs); i += 3 {
		cands = append(cands, docs[i].ID)
	}
	got, err := ix.ScoreAmong(ctx, terms, cands)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range got {
		if h.ID == 5 || h.ID == 999999 {
			t.Errorf("ScoreAmong returned document %d, deleted or unknown", h.ID)
		}
	}
	n := 0
	for _, id := range cands {
		if _, ok := want[id]; ok {
			n++
		}
	}
	if len(got) != n {
		t.Errorf("ScoreAmong returned %d documents, want %d", len(got), n)
	}
	for i, h := range got {
		if w, ok := want[h.ID]; !ok || math.Abs(h.Score-w) > 1e-9*w {
			t.Errorf("ScoreAmong: doc %d score %v, want %v (in search: %v)", h.ID, h.Score, w, ok)
		}
		if i > 0 && got[i-1].Score < h.Score {
			t.Errorf("ScoreAmong not sorted at %d", i)
		}
	}
}
