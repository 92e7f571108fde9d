package rewrite

import (
	"context"
	"slices"
	"strings"
)

// MaxQueries is the most queries a Rewriter in this package returns.
const MaxQueries = 5

// Rewriter turns a user query into the one to MaxQueries queries to run.
// Implementations in this package never return an empty slice with a nil
// error, and are safe for concurrent use.
type Rewriter interface {
	Rewrite(ctx context.Context, query string) ([]string, error)
}

// Vocabulary is the term dictionary spelling correction checks against,
// typically the lexical index's. Terms are lower-cased words. A surface-form
// dictionary ("running") gives the best corrections; a stemmed one ("run")
// also works: Local counts a word as known when either the word or its
// Porter stem has a non-zero Frequency. Implementations must be safe for
// concurrent use.
type Vocabulary interface {
	// Frequency returns the number of chunks (or documents) containing term,
	// 0 when the term is unknown.
	Frequency(term string) uint64
	// Terms returns up to limit terms that start with prefix, in byte order.
	Terms(prefix string, limit int) []string
}

// SizedVocabulary is a Vocabulary that also knows how many chunks (or
// documents) its frequencies count. Local weighs a query's words by their
// inverse document frequency when its Vocabulary is one, and counts every
// known word alike otherwise.
type SizedVocabulary interface {
	Vocabulary
	// Size returns the number of chunks (or documents) Frequency counts.
	Size() uint64
}

// MapVocabulary is an in-memory Vocabulary: term → frequency. It is meant
// for tests and small corpora; Terms sorts the matching keys on every call.
type MapVocabulary map[string]uint64

// Frequency returns m[term].
func (m MapVocabulary) Frequency(term string) uint64 { return m[term] }

// Terms returns up to limit keys of m starting with prefix, in byte order;
// limit <= 0 means no limit.
func (m MapVocabulary) Terms(prefix string, limit int) []string {
	var out []string
	for t := range m {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// dedupe drops empty and case-insensitively repeated queries, keeping the
// first spelling, and caps the result at max.
func dedupe(qs []string, max int) []string {
	out := qs[:0:0]
	seen := make(map[string]bool, len(qs))
	for _, q := range qs {
		q = strings.Join(strings.Fields(q), " ")
		k := strings.ToLower(q)
		if q == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, q)
		if len(out) == max {
			break
		}
	}
	return out
}
