package lexical

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestScoreBound: every document's text scores below the bound, a document
// repeating every term comes close to it, and the bound is the documented
// sum (a term no document holds counts with the idf of df = 0).
func TestScoreBound(t *testing.T) {
	ctx := context.Background()
	ix, err := Open(filepath.Join(t.TempDir(), "idx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	docs := []Doc{
		{ID: 1, Text: "zebra dog"},
		{ID: 2, Text: strings.Repeat("zebra quark ", 500)},
		{ID: 3, Text: "dog cat bird"},
		{ID: 4, Text: "cat"},
	}
	if err := ix.Apply(ctx, 1, docs, nil); err != nil {
		t.Fatal(err)
	}
	terms := ix.QueryTerms("zebra quark")
	bound, err := ix.ScoreBound(ctx, terms)
	if err != nil {
		t.Fatal(err)
	}
	idf := func(df float64) float64 { return math.Log(1 + (4-df+0.5)/(df+0.5)) }
	if want := (idf(2) + idf(1)) * (DefaultK1 + 1); math.Abs(bound-want) > 1e-9 {
		t.Fatalf("bound %v, want %v", bound, want)
	}
	hits, err := ix.ScoreAmong(ctx, terms, []uint64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 || hits[0].ID != 2 {
		t.Fatalf("hits %v", hits)
	}
	for _, h := range hits {
		if h.Score >= bound {
			t.Errorf("doc %d scores %v >= bound %v", h.ID, h.Score, bound)
		}
	}
	if r := hits[0].Score / bound; r < 0.95 {
		t.Errorf("a document repeating every term 500 times scores %.3f of the bound", r)
	}
	absent, err := ix.ScoreBound(ctx, ix.QueryTerms("zebra unicorn"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (idf(2) + idf(0)) * (DefaultK1 + 1); math.Abs(absent-want) > 1e-9 {
		t.Errorf("bound with an absent term %v, want %v", absent, want)
	}
	if b, err := ix.ScoreBound(ctx, nil); err != nil || b != 0 {
		t.Errorf("ScoreBound(nil) = %v, %v", b, err)
	}
	// The collection model: df over the text's tokens (2+1000+3+1).
	probs, floor, err := ix.CollectionProbs(ctx, []string{"zebra", "unicorn", "cat"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{2.0 / 1006, 0, 2.0 / 1006}; fmt.Sprint(probs) != fmt.Sprint(want) || floor != 1.0/1006 {
		t.Errorf("CollectionProbs = %v, floor %v; want %v, %v", probs, floor, want, 1.0/1006)
	}
}
