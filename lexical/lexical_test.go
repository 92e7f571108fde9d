package lexical

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/quarrylabs/quarry/filter"
)

// bm25 is the textbook formula, written independently of search.go.
func bm25(tf, dl, df, n int, avgdl, k1, b float64) float64 {
	idf := math.Log(1 + (float64(n)-float64(df)+0.5)/(float64(df)+0.5))
	return idf * float64(tf) * (k1 + 1) / (float64(tf) + k1*(1-b+b*float64(dl)/avgdl))
}

func mustApply(t *testing.T, ix *Index, seq uint64, add []Doc, del []uint64) {
	t.Helper()
	if err := ix.Apply(context.Background(), seq, add, del); err != nil {
		t.Fatalf("Apply(seq %d) = %v", seq, err)
	}
}

func searchMap(t *testing.T, ix *Index, q string, k int, f *filter.Filter) map[uint64]float64 {
	t.Helper()
	hits, err := ix.Search(context.Background(), q, k, f)
	if err != nil {
		t.Fatalf("Search(%q) = %v", q, err)
	}
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Fatalf("Search(%q) not best first: %v", q, hits)
		}
	}
	m := make(map[uint64]float64, len(hits))
	for _, h := range hits {
		m[h.ID] = h.Score
	}
	return m
}

func checkScores(t *testing.T, what string, got, want map[uint64]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok || math.Abs(g-w) > 1e-9*math.Max(1, w) {
			t.Fatalf("%s: doc %d score %v, want %v (all: %v)", what, id, g, w, got)
		}
	}
}

// TestBM25HandComputed pins scores against the formula on a corpus whose
// token counts are known (no stop words, words the stemmer leaves alone),
// through adds, a replacement, a delete and a reopen.
func TestBM25HandComputed(t *testing.T) {
	k1, b := 1.2, 0.75
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(dir, Options{K1: k1, B: b})
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, ix, 1, []Doc{
		{ID: 1, Text: "cat dog"},
		{ID: 2, Text: "cat cat bird fish"},
		{ID: 3, Text: "dog dog dog cow horse pig"},
		{ID: 4, Text: "bird"},
	}, nil)
	// N=4, tokens 2+4+6+1=13.
	avg := 13.0 / 4
	checkScores(t, "cat", searchMap(t, ix, "cat", 10, nil), map[uint64]float64{
		1: bm25(1, 2, 2, 4, avg, k1, b),
		2: bm25(2, 4, 2, 4, avg, k1, b),
	})
	checkScores(t, "dog bird dog", searchMap(t, ix, "Dog bird dog", 10, nil), map[uint64]float64{
		1: 2 * bm25(1, 2, 2, 4, avg, k1, b),
		2: bm25(1, 4, 2, 4, avg, k1, b),
		3: 2 * bm25(3, 6, 2, 4, avg, k1, b),
		4: bm25(1, 1, 2, 4, avg, k1, b),
	})

	// Delete 3, replace 2: N=3, tokens 2+3+1=6.
	mustApply(t, ix, 2, []Doc{{ID: 2, Text: "cat cow cow"}}, []uint64{3})
	avg = 6.0 / 3
	want := map[uint64]float64{
		1: bm25(1, 2, 2, 3, avg, k1, b),
		2: bm25(1, 3, 2, 3, avg, k1, b),
	}
	checkScores(t, "cat after delete", searchMap(t, ix, "cat", 10, nil), want)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Search(context.Background(), "cat", 10, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Search after Close = %v, want ErrClosed", err)
	}

	ix, err = Open(dir, Options{K1: k1, B: b})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if seq, err := ix.Seq(); err != nil || seq != 2 {
		t.Fatalf("Seq() after reopen = %d, %v, want 2", seq, err)
	}
	if n, err := ix.Count(); err != nil || n != 3 {
		t.Fatalf("Count() after reopen = %d, %v, want 3", n, err)
	}
	checkScores(t, "cat after reopen", searchMap(t, ix, "cat", 10, nil), want)
}

// TestFieldBoosts checks that title, filename and heading fields are scored
// with their own statistics and boosts.
func TestFieldBoosts(t *testing.T) {
	k1, b := 1.2, 0.75
	ix, err := OpenMem(Options{TitleBoost: 3, FilenameBoost: 0.5, HeadingBoost: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	mustApply(t, ix, 1, []Doc{
		{ID: 1, Text: "cat dog", Title: "cat"},
		{ID: 2, Text: "bird", Title: "bird fish", Filename: "cat", Headings: []string{"cow", "cat"}},
		{ID: 3, Text: "cow"},
	}, nil)
	text := bm25(1, 2, 1, 3, 4.0/3, k1, b)
	title := 3 * bm25(1, 1, 1, 2, 3.0/2, k1, b)
	file := 0.5 * bm25(1, 1, 1, 1, 1, k1, b)
	head := 2 * bm25(1, 2, 1, 1, 2, k1, b)
	checkScores(t, "cat", searchMap(t, ix, "cat", 10, nil), map[uint64]float64{1: text + title, 2: file + head})
}

func TestAnalysis(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"The Running dogs' owner's houses", []string{"run", "dog", "owner", "hous"}},
		{"東京都に住む", []string{"東京", "京都", "都に", "に住", "住む"}},
		{"ＡＢＣ connections", []string{"abc", "connect"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Terms(tt.in); !slices.Equal(got, tt.want) {
				t.Fatalf("Terms(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	ix, err := OpenMem(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	mustApply(t, ix, 1, []Doc{
		{ID: 1, Text: "東京都に住んでいます"},
		{ID: 2, Text: "我们在北京工作"},
		{ID: 3, Text: "The quick brown fox jumps"},
	}, nil)
	for q, want := range map[string]uint64{"東京": 1, "北京": 2, "jumping foxes": 3} {
		hits, err := ix.Search(context.Background(), q, 10, nil)
		if err != nil || len(hits) != 1 || hits[0].ID != want {
			t.Errorf("Search(%q) = %v, %v, want doc %d", q, hits, err, want)
		}
	}
}

func randValue(r *rand.Rand) any {
	switch r.IntN(3) {
	case 0:
		return []string{"", "a", "ab", "b", "z"}[r.IntN(5)]
	case 1:
		return []float64{-1, 0, 1.5, 2, 10}[r.IntN(5)]
	}
	return r.IntN(2) == 0
}

func randFilter(r *rand.Rand, depth int) filter.Filter {
	keys := []string{"k0", "k1", "k2"}
	if depth > 0 && r.IntN(3) == 0 {
		fs := make([]filter.Filter, 1+r.IntN(3))
		for i := range fs {
			fs[i] = randFilter(r, depth-1)
		}
		if r.IntN(2) == 0 {
			return filter.AllOf(fs...)
		}
		return filter.AnyOf(fs...)
	}
	key := keys[r.IntN(len(keys))]
	ops := []filter.Op{filter.Eq, filter.Ne, filter.Gt, filter.Gte, filter.Lt, filter.Lte, filter.In, filter.Nin}
	op := ops[r.IntN(len(ops))]
	switch op {
	case filter.In, filter.Nin:
		list := make([]any, r.IntN(4))
		for i := range list {
			list[i] = randValue(r)
		}
		return filter.Compare(op, key, list)
	case filter.Gt, filter.Gte, filter.Lt, filter.Lte:
		v := randValue(r)
		for {
			if _, ok := v.(bool); !ok {
				break
			}
			v = randValue(r)
		}
		return filter.Compare(op, key, v)
	}
	return filter.Compare(op, key, randValue(r))
}

// TestFilterMatchesFilterMatch checks that filtered search returns exactly
// the documents filter.Match accepts, on random attributes and filters.
func TestFilterMatchesFilterMatch(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	ix, err := OpenMem(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	const n = 300
	docs := make([]Doc, n)
	for i := range docs {
		attrs := map[string]any{}
		for _, k := range []string{"k0", "k1", "k2"} {
			if r.IntN(4) > 0 {
				attrs[k] = randValue(r)
			}
		}
		docs[i] = Doc{ID: uint64(i + 1), Text: fmt.Sprintf("common word%d", i%7), Attributes: attrs}
	}
	mustApply(t, ix, 1, docs, nil)
	for i := 0; i < 300; i++ {
		f := randFilter(r, 3)
		if err := f.Validate(); err != nil {
			t.Fatalf("random filter invalid: %v", err)
		}
		got := searchMap(t, ix, "common", n, &f)
		for _, d := range docs {
			_, in := got[d.ID]
			if want := f.Match(d.Attributes); in != want {
				t.Fatalf("filter %+v on %v: in results = %v, Match = %v", f, d.Attributes, in, want)
			}
		}
	}
}

func TestLuceneLength(t *testing.T) {
	for dl, want := range map[uint64]uint64{0: 0, 1: 1, 23: 23, 24: 24, 31: 31, 32: 32, 100: 96, 301: 280} {
		if got := luceneLength(dl); got != want {
			t.Errorf("luceneLength(%d) = %d, want %d", dl, got, want)
		}
	}
	prev := uint64(0)
	for dl := uint64(0); dl < 100000; dl++ {
		q := luceneLength(dl)
		if q > dl || q < prev {
			t.Fatalf("luceneLength(%d) = %d after %d: not a non-decreasing rounding down", dl, q, prev)
		}
		prev = q
	}
}
