package rerank

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Scored is one entry of a ranked list: a document (chunk) ID and the score
// the list's retriever gave it.
type Scored struct {
	ID    uint64
	Score float64
}

// List is one ranked list to fuse, best first, with its weight. A Weight of 0
// means 1; a negative or NaN Weight excludes the list.
type List struct {
	Items  []Scored
	Weight float64
}

// Fusion names a rank-fusion method.
type Fusion string

const (
	// RRF is weighted reciprocal rank fusion: a document at 0-based rank r of
	// a list with weight w earns w/(k+r+1). It ignores the lists' scores.
	RRF Fusion = "rrf"
	// NormalizedScore min-max normalizes each list's scores to 0..1 and takes
	// the weighted mean over all lists (a list that misses a document adds 0).
	NormalizedScore Fusion = "normalized"
)

// DefaultRRFK is the RRF rank constant used when Fuse is given k <= 0.
const DefaultRRFK = 60

// ParseFusion returns the Fusion named s; "" is RRF.
func ParseFusion(s string) (Fusion, error) {
	switch Fusion(s) {
	case "", RRF:
		return RRF, nil
	case NormalizedScore:
		return NormalizedScore, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownFusion, s)
}

// Fuse merges ranked lists into one, best first, with scores in 0..1.
//
// RRF scores are normalized by the best achievable sum, sum over lists of
// w/(k+1), so a document ranked first in every list scores exactly 1. k is
// the RRF constant; k <= 0 means DefaultRRFK. NormalizedScore fusion min-max
// normalizes each list (a list whose scores are all equal, or that holds a
// single item, gives its items 1; NaN scores count as the list's minimum) and
// returns sum(w*norm)/sum(w). An empty method is RRF; an unknown method is
// treated as RRF (validate user input with ParseFusion).
//
// Within a list only the first occurrence of an ID counts. Ties are broken by
// ascending ID, so the output is deterministic. Fuse does not modify lists;
// the returned slice is newly allocated and nil when there is nothing to fuse.
func Fuse(method Fusion, lists []List, k int) []Scored {
	if k <= 0 {
		k = DefaultRRFK
	}
	total := 0
	var sumW float64
	for _, l := range lists {
		w, ok := listWeight(l.Weight)
		if !ok {
			continue
		}
		total += len(l.Items)
		if method == NormalizedScore {
			sumW += w
		} else {
			sumW += w / float64(k+1)
		}
	}
	if total == 0 || sumW <= 0 {
		return nil
	}
	index := make(map[uint64]int32, total)
	out := make([]Scored, 0, total)
	// seen marks IDs already counted for the current list; it is keyed by
	// position in out and stamped with the list number to avoid clearing.
	stamp := make([]int32, 0, total)
	for li, l := range lists {
		w, ok := listWeight(l.Weight)
		if !ok || len(l.Items) == 0 {
			continue
		}
		var lo, span float64
		if method == NormalizedScore {
			lo, span = minMax(l.Items)
		}
		for r, it := range l.Items {
			pos, ok := index[it.ID]
			if !ok {
				pos = int32(len(out))
				index[it.ID] = pos
				out = append(out, Scored{ID: it.ID})
				stamp = append(stamp, -1)
			}
			if stamp[pos] == int32(li) {
				continue // duplicate within this list: the best rank counts
			}
			stamp[pos] = int32(li)
			if method == NormalizedScore {
				out[pos].Score += w * normalize(it.Score, lo, span)
			} else {
				out[pos].Score += w / float64(k+r+1)
			}
		}
	}
	for i := range out {
		s := out[i].Score / sumW
		if s > 1 { // rounding
			s = 1
		}
		out[i].Score = s
	}
	sortScored(out)
	return out
}

func listWeight(w float64) (float64, bool) {
	switch {
	case w == 0:
		return 1, true
	case w > 0 && !math.IsInf(w, 1):
		return w, true
	}
	return 0, false // negative, NaN or +Inf
}

// minMax returns the minimum finite score and max-min of items.
func minMax(items []Scored) (lo, span float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, it := range items {
		s := it.Score
		if math.IsNaN(s) || math.IsInf(s, 0) {
			continue
		}
		lo = min(lo, s)
		hi = max(hi, s)
	}
	if math.IsInf(lo, 1) { // no finite score at all
		return 0, 0
	}
	return lo, hi - lo
}

func normalize(s, lo, span float64) float64 {
	switch {
	case math.IsNaN(s) || math.IsInf(s, -1):
		if span == 0 {
			return 1
		}
		return 0
	case math.IsInf(s, 1):
		return 1
	case span == 0:
		return 1
	}
	return min(1, max(0, (s-lo)/span))
}

// sortScored orders by descending score, then ascending ID.
func sortScored(s []Scored) {
	slices.SortFunc(s, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}
