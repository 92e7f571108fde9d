package lexical

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelection compares kthLargest and bestK with sorting, on random
// scores drawn from few values (many ties, as BM25 gives), from many, and
// on sorted and reversed input.
func TestSelection(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		n := 1 + rng.IntN(300)
		distinct := []int{1, 3, 50, 1 << 30}[trial%4]
		c := make([]cand, n)
		for i := range c {
			c[i] = cand{num: uint64(i), score: float64(rng.IntN(distinct))}
		}
		switch trial % 7 {
		case 5:
			slices.SortFunc(c, better)
		case 6:
			slices.SortFunc(c, func(a, b cand) int { return better(b, a) })
		default:
			rng.Shuffle(n, func(i, j int) { c[i], c[j] = c[j], c[i] })
		}
		want := slices.Clone(c)
		slices.SortFunc(want, better)
		k := 1 + rng.IntN(n+5)

		scores := make([]float64, n)
		for i, x := range c {
			scores[i] = x.score
		}
		if k <= n {
			if got := kthLargest(slices.Clone(scores), k); got != want[k-1].score {
				t.Fatalf("trial %d: kthLargest(n=%d, k=%d) = %v, want %v", trial, n, k, got, want[k-1].score)
			}
		}
		got := bestK(slices.Clone(c), k)
		if w := want[:min(k, n)]; !slices.Equal(got, w) {
			t.Fatalf("trial %d: bestK(n=%d, k=%d) = %v, want %v", trial, n, k, got, w)
		}
	}
}
