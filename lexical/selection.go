package lexical

import (
	"math/bits"
	"slices"
)

// Selection in linear expected time, for top-k with large k (an IR run
// asks for 1,000 documents): partitioning beats a k-sized heap, whose
// sift costs log k per document.

// kthBest returns the k-th highest score of docs (0 when len(docs) < k:
// no bound yet), using scratch as working space.
func kthBest(docs []uint64, score []float64, k int, scratch []float64) (float64, []float64) {
	if len(docs) < k || k <= 0 {
		return 0, scratch
	}
	a := scratch[:0]
	for _, n := range docs {
		a = append(a, score[n])
	}
	return kthLargest(a, k), a
}

// kthLargest returns the k-th largest value of a (1 <= k <= len(a)),
// reordering a. Three-way partitions keep runs of equal scores, which BM25
// produces in numbers, linear; after too many rounds (a pathological
// order) it sorts what remains, so the worst case is O(n log n).
func kthLargest(a []float64, k int) float64 {
	t := k - 1
	lo, hi := 0, len(a)
	for rounds := 2*bits.Len(uint(len(a))) + 4; ; rounds-- {
		if hi-lo <= 16 || rounds == 0 {
			s := a[lo:hi]
			slices.Sort(s)
			slices.Reverse(s)
			return a[t]
		}
		p := median3(a[lo], a[lo+(hi-lo)/2], a[hi-1])
		// a[lo:lt] > p, a[lt:gt] == p, a[gt:hi] < p.
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch v := a[i]; {
			case v > p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case v < p:
				gt--
				a[i], a[gt] = a[gt], a[i]
			default:
				i++
			}
		}
		switch {
		case t < lt:
			hi = lt
		case t >= gt:
			lo = gt
		default:
			return p
		}
	}
}

func median3(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}

// better orders candidates best first: higher score, then earlier
// insertion. It is a strict total order (document numbers are distinct).
func better(a, b cand) int {
	switch {
	case a.score > b.score:
		return -1
	case a.score < b.score:
		return 1
	case a.num < b.num:
		return -1
	case a.num > b.num:
		return 1
	}
	return 0
}

// bestK reorders c so that c[:k] holds its k best candidates, best first
// (all of c, sorted, when len(c) <= k), and returns c[:min(k, len(c))].
// It selects by the partition sortCands uses, recursing only into the side
// that holds the k-th best.
func bestK(c []cand, k int) []cand {
	if k <= 0 {
		return c[:0]
	}
	if len(c) > k {
		lo, hi := 0, len(c) // c[:lo] beats c[lo:], c[hi:] loses to it
		for depth := 2 * bits.Len(uint(len(c))); hi-lo > 12 && depth > 0; depth-- {
			j := lo + partition(c[lo:hi])
			if k <= j {
				hi = j
			} else {
				lo = j
			}
		}
		sortCands(c[lo:hi])
		c = c[:k]
	}
	sortCands(c)
	return c
}

// sortCands sorts c best first. It is slices.SortFunc(c, better) with the
// comparison inlined (a quicksort with insertion sort for short runs), about
// twice as fast on the 1,000 hits of an IR run; a pathological order falls
// back to slices.SortFunc.
func sortCands(c []cand) {
	sortCandsDepth(c, 2*bits.Len(uint(len(c))))
}

func sortCandsDepth(c []cand, depth int) {
	for len(c) > 12 {
		if depth == 0 {
			slices.SortFunc(c, better)
			return
		}
		depth--
		// Recurse into the smaller side, loop on the larger.
		if j := partition(c); j < len(c)-j {
			sortCandsDepth(c[:j], depth)
			c = c[j:]
		} else {
			sortCandsDepth(c[j:], depth)
			c = c[:j]
		}
	}
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && betterThan(c[j], c[j-1]); j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// partition reorders c (len(c) >= 3) around the median of its first,
// middle and last candidates (Hoare) and returns j, 0 < j < len(c), with
// no candidate of c[:j] worse than any of c[j:].
func partition(c []cand) int {
	p := median3c(c[0], c[len(c)/2], c[len(c)-1])
	i, j := 0, len(c)-1
	for {
		for betterThan(c[i], p) {
			i++
		}
		for betterThan(p, c[j]) {
			j--
		}
		if i >= j {
			return j + 1
		}
		c[i], c[j] = c[j], c[i]
		i++
		j--
	}
}

// betterThan reports whether a ranks strictly above b (see better).
func betterThan(a, b cand) bool {
	return a.score > b.score || (a.score == b.score && a.num < b.num)
}

// median3c returns the median of a, b and c under betterThan.
func median3c(a, b, c cand) cand {
	if betterThan(b, a) {
		a, b = b, a
	}
	// a beats b; the median is the worse of a and the better of b and c.
	if betterThan(c, b) {
		b = c
	}
	if betterThan(b, a) {
		return a
	}
	return b
}
