package lexical

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/filter"
)

// randCorpus returns n documents whose words follow a Zipf law over a
// vocabulary of vocab words, so a few terms are in most documents and most
// terms in few; short titles, filenames and headings share the vocabulary.
func randCorpus(r *rand.Rand, n, vocab int, firstID uint64) []Doc {
	z := rand.NewZipf(r, 1.1, 2, uint64(vocab-1))
	words := func(m int) string {
		var sb strings.Builder
		for i := 0; i < m; i++ {
			fmt.Fprintf(&sb, "w%d ", z.Uint64())
		}
		return sb.String()
	}
	docs := make([]Doc, n)
	for i := range docs {
		d := Doc{ID: firstID + uint64(i), Text: words(1 + r.IntN(120))}
		if r.IntN(2) == 0 {
			d.Title = words(1 + r.IntN(6))
		}
		if r.IntN(3) == 0 {
			d.Filename = words(1+r.IntN(2)) + ".txt"
		}
		if r.IntN(3) == 0 {
			d.Headings = []string{words(1 + r.IntN(4)), words(1 + r.IntN(3))}
		}
		d.Attributes = map[string]any{}
		for _, k := range []string{"k0", "k1", "k2"} {
			if r.IntN(4) > 0 {
				d.Attributes[k] = randValue(r)
			}
		}
		docs[i] = d
	}
	return docs
}

// randQuery returns 1 to 30 weighted terms, most drawn uniformly from the
// vocabulary (so common and rare terms mix), some repeated, a few with
// weights that count for nothing.
func randQuery(r *rand.Rand, vocab int) []WeightedTerm {
	q := make([]WeightedTerm, 1+r.IntN(30))
	for i := range q {
		var term string
		switch r.IntN(4) {
		case 0:
			term = fmt.Sprintf("w%d", r.IntN(8)) // very common
		case 1:
			term = "absent"
		default:
			term = fmt.Sprintf("w%d", r.IntN(vocab))
		}
		w := []float64{1, 1, 2, 0.5, 0.01, r.Float64() * 3, 0, -1}[r.IntN(8)]
		q[i] = WeightedTerm{Term: term, Weight: w}
	}
	if r.IntN(5) == 0 && len(q) > 1 {
		q[len(q)-1] = q[0] // the same term twice
	}
	return q
}

// TestPrunedMatchesExhaustive checks that the pruned search returns the
// same hits, in the same order and with the same scores, as scoring every
// document, on random corpora (several segments, replacements and deletes)
// and random long weighted queries, with and without filters.
func TestPrunedMatchesExhaustive(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 7))
	ctx := context.Background()
	configs := []Options{
		{},
		{K1: 0.9, B: 0.4, LuceneLengths: true},
		{K1: 2, B: 1, TitleBoost: 5, HeadingBoost: 0.1},
		{K1: 0.01, B: 1e-9},
	}
	for ci, opts := range configs {
		t.Run(fmt.Sprintf("config%d", ci), func(t *testing.T) {
			ix, err := OpenMem(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			const vocab = 400
			n := 0
			var pruned, queries, fullClauses, clauses int
			for seq := uint64(1); seq <= 3; seq++ {
				add := randCorpus(r, 600, vocab, uint64(n))
				// Replace some documents of earlier batches, delete others.
				for i := 0; i < 100 && n > 0; i++ {
					add[i].ID = uint64(r.IntN(n))
				}
				var del []uint64
				for i := 0; i < 80 && n > 0; i++ {
					del = append(del, uint64(r.IntN(n)))
				}
				mustApply(t, ix, seq, add, del)
				n += len(add)
				for qi := 0; qi < 30; qi++ {
					terms := randQuery(r, vocab)
					k := []int{1, 10, 100, 1000}[r.IntN(4)]
					var f *filter.Filter
					if r.IntN(4) == 0 {
						ff := randFilter(r, 2)
						f = &ff
					}
					want, _, err := ix.searchTerms(ctx, terms, k, f, true)
					if err != nil {
						t.Fatalf("exhaustive search: %v", err)
					}
					got, ss, err := ix.searchTerms(ctx, terms, k, f, false)
					if err != nil {
						t.Fatalf("pruned search: %v", err)
					}
					what := fmt.Sprintf("seq %d, query %v, k %d, filter %v", seq, terms, k, f)
					sameHits(t, what, got, want)
					// The same search on parts of the index at once.
					parts := 2 + r.IntN(4)
					par, _, err := inParts(parts, func() ([]Hit, searchStats, error) { return ix.searchTerms(ctx, terms, k, f, false) })
					if err != nil {
						t.Fatalf("search in %d parts: %v", parts, err)
					}
					sameHits(t, fmt.Sprintf("%s, in %d parts", what, parts), par, want)
					queries++
					clauses += ss.clauses
					fullClauses += ss.full
					if ss.full < ss.clauses {
						pruned++
					}
				}
			}
			t.Logf("%d of %d queries pruned; %d of %d clauses read in full", pruned, queries, fullClauses, clauses)
			if pruned == 0 {
				t.Fatalf("no query was pruned: the test exercises nothing")
			}
		})
	}
}

func sameHits(t *testing.T, what string, got, want []Hit) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d hits, want %d", what, len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || math.Abs(g.Score-w.Score) > 1e-9*math.Abs(w.Score) {
			t.Fatalf("%s: hit %d = %+v, want %+v", what, i, g, w)
		}
	}
}

// TestPrunedSearchScores pins pruned scores to the textbook formula on a
// corpus where one common term cannot lift a document into the top 2.
func TestPrunedSearchScores(t *testing.T) {
	ix, err := OpenMem(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	var docs []Doc
	for i := 0; i < 200; i++ {
		text := "common filler"
		switch i {
		case 3:
			text = "rare common rare"
		case 50:
			text = "rare filler"
		case 120:
			text = "other common"
		}
		docs = append(docs, Doc{ID: uint64(i), Text: text})
	}
	mustApply(t, ix, 1, docs, nil)
	terms := []WeightedTerm{{"rare", 1}, {"other", 1}, {"common", 0.1}}
	hits, ss, err := ix.searchTerms(context.Background(), terms, 2, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if ss.full == ss.clauses {
		t.Fatalf("search was not pruned: %+v", ss)
	}
	avgdl := float64(2*197+3+2+2) / 200
	want := map[uint64]float64{
		3:   bm25(2, 3, 2, 200, avgdl, DefaultK1, DefaultB) + 0.1*bm25(1, 3, 199, 200, avgdl, DefaultK1, DefaultB),
		120: bm25(1, 2, 1, 200, avgdl, DefaultK1, DefaultB) + 0.1*bm25(1, 2, 199, 200, avgdl, DefaultK1, DefaultB),
	}
	got := map[uint64]float64{}
	for _, h := range hits {
		got[h.ID] = h.Score
	}
	checkScores(t, "pruned", got, want)
}

// inParts runs search with every search split into parts of the index.
func inParts(parts int, search func() ([]Hit, searchStats, error)) ([]Hit, searchStats, error) {
	oldMin, oldParts := parallelPostings, searchParts
	parallelPostings, searchParts = 0, func() int { return parts }
	defer func() { parallelPostings, searchParts = oldMin, oldParts }()
	return search()
}
