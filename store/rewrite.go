package store

import (
	"context"

	"github.com/quarrylabs/quarry/lexical"
	"github.com/quarrylabs/quarry/rewrite"
)

// rewrite runs each query through the rewriter and returns the distinct
// queries to run, at most five per original query. It never fails: a query
// the rewriter cannot handle is run as given.
func (db *DB) rewrite(ctx context.Context, states []*vsState, queries []string) []string {
	rw := db.opts.Rewriter
	if rw == nil {
		vocabs := make(multiVocab, len(states))
		for i, st := range states {
			vocabs[i] = lexVocab{st.lex}
		}
		rw = rewrite.NewLocal(vocabs)
	}
	seen := map[string]bool{}
	var out []string
	for _, q := range queries {
		qs, err := rw.Rewrite(ctx, q)
		if err != nil || len(qs) == 0 {
			qs = []string{q}
		}
		for _, r := range qs[:min(len(qs), 5)] {
			if r != "" && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 {
		return queries
	}
	return out
}

// lexVocab is a BM25 index's term dictionary as a rewrite.SizedVocabulary.
type lexVocab struct{ ix *lexical.Index }

func (v lexVocab) Frequency(term string) uint64 {
	ts, err := v.ix.Vocabulary(term, 1)
	if err != nil || len(ts) == 0 || ts[0].Text != term {
		return 0
	}
	return ts[0].DocFreq
}

// Size is the number of chunks in the index, what Frequency counts.
func (v lexVocab) Size() uint64 {
	n, err := v.ix.Count()
	if err != nil {
		return 0
	}
	return n
}

func (v lexVocab) Terms(prefix string, limit int) []string {
	ts, err := v.ix.Vocabulary(prefix, limit)
	if err != nil {
		return nil
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Text
	}
	return out
}

// multiVocab is the union of several indexes' vocabularies.
type multiVocab []rewrite.Vocabulary

func (m multiVocab) Frequency(term string) uint64 {
	var n uint64
	for _, v := range m {
		n += v.Frequency(term)
	}
	return n
}

// Size sums the members' sizes (0 when one does not know its own).
func (m multiVocab) Size() uint64 {
	var n uint64
	for _, v := range m {
		sv, ok := v.(rewrite.SizedVocabulary)
		if !ok {
			return 0
		}
		n += sv.Size()
	}
	return n
}

func (m multiVocab) Terms(prefix string, limit int) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range m {
		for _, t := range v.Terms(prefix, limit) {
			if !seen[t] && len(out) < limit {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}
