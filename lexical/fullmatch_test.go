package lexical

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// TestFullMatchScore: the anchor is the documented sum (a term no document
// holds counts with the idf of df = 0); a document of average length
// holding each term once scores it; one holding half the query's idf mass
// scores about half; one repeating every term scores above it, by at most
// the saturation's limit k1+1.
func TestFullMatchScore(t *testing.T) {
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
		{ID: 5, Text: "quark zebra"},
	}
	if err := ix.Apply(ctx, 1, docs, nil); err != nil {
		t.Fatal(err)
	}
	terms := ix.QueryTerms("zebra quark")
	bound, err := ix.FullMatchScore(ctx, terms)
	if err != nil {
		t.Fatal(err)
	}
	idf := func(df float64) float64 { return math.Log(1 + (5-df+0.5)/(df+0.5)) }
	if want := idf(3) + idf(2); math.Abs(bound-want) > 1e-9 {
		t.Fatalf("full-match score %v, want %v", bound, want)
	}
	hits, err := ix.ScoreAmong(ctx, terms, []uint64{1, 2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	score := map[uint64]float64{}
	for _, h := range hits {
		score[h.ID] = h.Score
	}
	if len(hits) != 3 || hits[0].ID != 2 {
		t.Fatalf("hits %v", hits)
	}
	// Doc 5 holds each term once and is short (2 tokens against an
	// average of about 201): at or above the anchor, below k1+1 times it.
	if r := score[5] / bound; r < 1 || r >= DefaultK1+1 {
		t.Errorf("a short full match scores %.3f of the anchor", r)
	}
	// Doc 1 holds zebra only: its share is about zebra's idf share.
	if r, share := score[1]/bound, idf(3)/bound; r < share || r >= (DefaultK1+1)*share {
		t.Errorf("a half match scores %.3f of the anchor, its idf share %.3f", r, share)
	}
	if r := score[2] / bound; r >= DefaultK1+1 {
		t.Errorf("a document repeating every term 500 times scores %.3f of the anchor, above k1+1", r)
	}
	absent, err := ix.FullMatchScore(ctx, ix.QueryTerms("zebra unicorn"))
	if err != nil {
		t.Fatal(err)
	}
	if want := idf(3) + idf(0); math.Abs(absent-want) > 1e-9 {
		t.Errorf("anchor with an absent term %v, want %v", absent, want)
	}
	if b, err := ix.FullMatchScore(ctx, nil); err != nil || b != 0 {
		t.Errorf("FullMatchScore(nil) = %v, %v", b, err)
	}
	// The collection model: df over the text's tokens (2+1000+3+1+2).
	probs, floor, err := ix.CollectionProbs(ctx, []string{"zebra", "unicorn", "cat"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{3.0 / 1008, 0, 2.0 / 1008}; fmt.Sprint(probs) != fmt.Sprint(want) || floor != 1.0/1008 {
		t.Errorf("CollectionProbs = %v, floor %v; want %v, %v", probs, floor, want, 1.0/1008)
	}
}

// TestCollectionProbsAfterApply: the document frequencies CollectionProbs
// caches are those of the index as it is: a batch that adds or deletes
// documents holding a term changes what the next call returns.
func TestCollectionProbsAfterApply(t *testing.T) {
	ctx := context.Background()
	ix, err := Open(filepath.Join(t.TempDir(), "idx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	mustApply(t, ix, 1, []Doc{{ID: 1, Text: "zebra dog"}, {ID: 2, Text: "cat"}}, nil)
	df := func() float64 {
		t.Helper()
		var p []float64
		for range 2 { // the second call is answered from the cache
			var err error
			if p, _, err = ix.CollectionProbs(ctx, []string{"zebra", "cat"}); err != nil {
				t.Fatal(err)
			}
		}
		_, floor, _ := ix.CollectionProbs(ctx, nil)
		return p[0] / floor // zebra's document frequency
	}
	if got := df(); got != 1 {
		t.Fatalf("zebra in %v documents, want 1", got)
	}
	mustApply(t, ix, 2, []Doc{{ID: 3, Text: "zebra crossing"}, {ID: 4, Text: "zebra"}}, nil)
	if got := df(); got != 3 {
		t.Errorf("after adding two: zebra in %v documents, want 3", got)
	}
	mustApply(t, ix, 3, nil, []uint64{1, 3})
	if got := df(); got != 1 {
		t.Errorf("after deleting two: zebra in %v documents, want 1", got)
	}
}
