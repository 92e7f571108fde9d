package store

import (
	"context"
	"fmt"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/lexical"
)

// Absolute scores. The fusion (and the reranker, if any) decides the
// order of the results; the score each result carries is absolute: the
// weighted mean, with the hybrid weights, of two numbers in 0..1 that
// depend only on the query, the chunk and the collection's statistics:
//
//   - dense: the cosine similarity of the query's and the chunk's vectors,
//     0 when negative;
//   - keyword: the chunk's BM25 score over a full match's (see
//     lexical.Index.FullMatchScore: what a chunk of average length holding
//     every query term once scores), at most 1; with
//     pseudo-relevance feedback, the mean of that and the same ratio for the
//     feedback-expanded query (RM3's interpolation of the two).
//
// With several queries a chunk scores the mean of its scores for each. Each
// component is computed for the chunk itself, whichever first-stage ranking
// found it, so the score does not depend on the other candidates: the same
// chunk scores the same for the same query in any search.

// absCand is a candidate chunk and its score components per query.
type absCand struct {
	store int
	dense []float64
	lex   []float64
	fb    []float64 // nil without feedback
}

// absolute returns the score of each candidate chunk (see above) that
// one of the states holds. fb is the feedback that ran (nil without
// feedback): its expanded queries, and their scores of the candidates it
// scored.
func (db *DB) absolute(ctx context.Context, states []*vsState, queries []string, vecs [][]float32, w HybridWeights, fb *feedbackRun, cands []uint64) (map[uint64]float64, error) {
	nq := len(queries)
	byID := make(map[uint64]*absCand, len(cands))
	ids := make([][]uint64, len(states)) // candidates per store
	for _, id := range cands {
		si := -1
		for i, st := range states {
			st.attrMu.RLock()
			_, ok := st.chunkFile[id]
			st.attrMu.RUnlock()
			if ok {
				si = i
				break
			}
		}
		if si < 0 || byID[id] != nil {
			continue // deleted meanwhile, or a repeat
		}
		c := &absCand{store: si, dense: make([]float64, nq), lex: make([]float64, nq)}
		if fb != nil {
			c.fb = make([]float64, nq)
		}
		byID[id] = c
		ids[si] = append(ids[si], id)
	}
	out := make(map[uint64]float64, len(byID))
	if len(byID) == 0 {
		return out, nil
	}
	if w.EmbeddingWeight > 0 {
		if err := db.denseScores(states, vecs, byID); err != nil {
			return nil, err
		}
	}
	if w.TextWeight > 0 {
		terms := make([][]lexical.WeightedTerm, nq)
		for qi, q := range queries {
			terms[qi] = states[0].lex.QueryTerms(q) // one analyzer for all stores
		}
		if err := keywordScores(ctx, states, terms, ids, byID, nil, func(c *absCand, qi int, s float64) { c.lex[qi] = s }); err != nil {
			return nil, err
		}
		if fb != nil {
			if err := keywordScores(ctx, states, fb.terms, ids, byID, fb, func(c *absCand, qi int, s float64) { c.fb[qi] = s }); err != nil {
				return nil, err
			}
		}
	}
	sum := w.EmbeddingWeight + w.TextWeight
	for id, c := range byID {
		var total float64
		for qi := range queries {
			kw := c.lex[qi]
			if c.fb != nil {
				kw = (kw + c.fb[qi]) / 2
			}
			total += (w.EmbeddingWeight*c.dense[qi] + w.TextWeight*kw) / sum
		}
		out[id] = min(1, total/float64(nq))
	}
	return out, nil
}

// keywordScores sets, through set, every candidate's BM25 score over the
// query's full-match score (see lexical.Index.FullMatchScore), at most 1, for each of the
// queries of weighted terms, in each store. The raw scores of candidates
// that known (feedback's rankings of the same terms) scored are taken from
// it; only the others are scored.
func keywordScores(ctx context.Context, states []*vsState, terms [][]lexical.WeightedTerm, ids [][]uint64, byID map[uint64]*absCand, known *feedbackRun, set func(*absCand, int, float64)) error {
	type result struct {
		hits  []lexical.Hit
		bound float64
	}
	nq := len(terms)
	res := make([]result, len(states)*nq)
	g, gctx := errgroup.WithContext(ctx)
	for si, st := range states {
		ask := ids[si] // the candidates to score here
		if known != nil {
			ask = slices.DeleteFunc(slices.Clone(ask), func(id uint64) bool { return known.scored[id] })
		}
		for qi, ts := range terms {
			if len(ts) == 0 || len(ids[si]) == 0 {
				continue
			}
			g.Go(func() error {
				bound, err := st.lex.FullMatchScore(gctx, ts)
				if err != nil || bound <= 0 {
					return err
				}
				var hits []lexical.Hit
				if known != nil {
					for _, it := range known.lists[si*nq+qi].Items {
						if byID[it.ID] != nil {
							hits = append(hits, lexical.Hit{ID: it.ID, Score: it.Score})
						}
					}
				}
				if len(ask) > 0 {
					more, err := st.lex.ScoreAmong(gctx, ts, ask)
					if err != nil {
						return err
					}
					hits = append(hits, more...)
				}
				res[si*nq+qi] = result{hits, bound}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("store: search: %w", err)
	}
	for i, r := range res {
		for _, h := range r.hits {
			if c := byID[h.ID]; c != nil {
				set(c, i%nq, min(1, h.Score/r.bound))
			}
		}
	}
	return nil
}

// denseScores sets every candidate's cosine similarity to each query,
// reading the candidates' vectors from the source of truth.
func (db *DB) denseScores(states []*vsState, vecs [][]float32, byID map[uint64]*absCand) error {
	norms := make([]float64, len(vecs))
	for qi, q := range vecs {
		norms[qi] = math.Sqrt(dot(q, q))
	}
	return db.bolt.View(func(tx *bolt.Tx) error {
		bs := make([]*vsBuckets, len(states))
		for si, st := range states {
			b, ok := buckets(tx, st.id)
			if !ok {
				return notFound("vector store", st.id)
			}
			bs[si] = &b
		}
		for id, c := range byID {
			raw := bs[c.store].vectors.Get(u64key(id))
			if raw == nil {
				continue // deleted meanwhile: hydrate drops it
			}
			v, err := decodeVector(raw)
			if err != nil {
				return err
			}
			if len(v) != len(vecs[0]) {
				return fmt.Errorf("%w: vector of chunk %d has %d dimensions, the query %d", ErrCorrupt, id, len(v), len(vecs[0]))
			}
			nv := math.Sqrt(dot(v, v))
			for qi, q := range vecs {
				if nv > 0 && norms[qi] > 0 {
					c.dense[qi] = min(1, max(0, dot(q, v)/(nv*norms[qi])))
				}
			}
		}
		return nil
	})
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}
