package store

import (
	"math"
	"slices"
	"strings"

	"github.com/quarrylabs/quarry/lexical"
)

// Pseudo-relevance feedback (RM3): the best first-stage chunks that hold a
// query term are taken as relevant, the terms that characterise them are
// added to the query, and the expanded query is run again against the BM25
// index. It is part of the local ranking stage ("auto"); it needs no model
// and no network. The expanded query's ranking is fused beside the
// original keyword ranking, not instead of it.
//
// The expansion terms are those contributing most to the divergence of the
// feedback model from the collection's, P(t|R)·log(P(t|R)/P(t|C)): terms
// frequent in the feedback chunks and rare elsewhere, not merely frequent
// (the query's clarity). Selected so, feedback lifts the default pipeline's
// nDCG@10 on all three shared collections (vaswani 0.4359 → 0.4376,
// cranfield 0.3931 → 0.3933, msmarco-5k 0.7492 → 0.7500 against
// selection by P(t|R) alone; see bench TestSearchQuality).
const (
	feedbackDocs        = 10  // chunks taken as relevant
	feedbackCandidates  = 100 // best fused chunks re-scored by the expanded query
	feedbackTerms       = 10  // expansion terms added to the query
	feedbackOrigWeight  = 0.5 // share of the original query in the expanded one
	feedbackMinDocTerms = 1   // ignore feedback chunks with fewer terms
)

// collectionModel returns P(t|C) for terms (see lexical.Index.CollectionProbs)
// and the least value a term of the collection can have.
type collectionModel func(terms []string) (probs []float64, floor float64, err error)

// probBatch is how many terms expansion looks up in the collection model
// at a time between checks of its bound.
const probBatch = 32

// expansion returns the feedback texts' top expansion terms with their
// weights P(t|R), summing to 1 (each text weighted by its first-stage
// score), chosen by divergence contribution (see above; ties by term). It
// does not depend on the query, so a search with several queries computes
// it once. Terms are read by decreasing P(t|R), and reading stops once no
// term left can beat the kept ones, whatever its P(t|C).
func expansion(texts []string, scores []float64, pc collectionModel) ([]lexical.WeightedTerm, error) {
	var total float64
	for _, s := range scores {
		total += s
	}
	if total <= 0 {
		return nil, nil
	}
	rm := map[string]float64{}
	for i, text := range texts {
		terms := lexical.Terms(text)
		if len(terms) < feedbackMinDocTerms {
			continue
		}
		pd := scores[i] / total
		inv := 1 / float64(len(terms))
		for _, t := range terms {
			rm[t] += pd * inv
		}
	}
	byRM := make([]lexical.WeightedTerm, 0, len(rm))
	for t, w := range rm {
		if len(t) > 1 && !isNumber(t) {
			byRM = append(byRM, lexical.WeightedTerm{Term: t, Weight: w})
		}
	}
	slices.SortFunc(byRM, byWeight)
	type scored struct {
		term   string
		p, div float64
	}
	var kept []scored // the best feedbackTerms so far, by div
	for start := 0; start < len(byRM); start += probBatch {
		batch := byRM[start:min(len(byRM), start+probBatch)]
		names := make([]string, len(batch))
		for i, c := range batch {
			names[i] = c.Term
		}
		probs, floor, err := pc(names)
		if err != nil {
			return nil, err
		}
		if floor <= 0 {
			return nil, nil // an empty collection
		}
		for i, c := range batch {
			div := c.Weight * math.Log(c.Weight/max(probs[i], floor))
			if div > 0 {
				kept = append(kept, scored{c.Term, c.Weight, div})
			}
		}
		slices.SortFunc(kept, func(a, b scored) int {
			if a.div != b.div {
				if a.div > b.div {
					return -1
				}
				return 1
			}
			return strings.Compare(a.term, b.term)
		})
		kept = kept[:min(len(kept), feedbackTerms)]
		// A later term has P(t|R) <= next and P(t|C) >= floor.
		if next := start + probBatch; len(kept) == feedbackTerms && next < len(byRM) {
			p := byRM[next].Weight
			if p*math.Log(p/floor) < kept[len(kept)-1].div {
				break
			}
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	out := make([]lexical.WeightedTerm, len(kept))
	var sum float64
	for i, k := range kept {
		out[i] = lexical.WeightedTerm{Term: k.term, Weight: k.p}
		sum += k.p
	}
	for i := range out {
		out[i].Weight /= sum
	}
	return out, nil
}

// byWeight orders weighted terms by decreasing weight, then term.
func byWeight(a, b lexical.WeightedTerm) int {
	if a.Weight != b.Weight {
		if a.Weight > b.Weight {
			return -1
		}
		return 1
	}
	return strings.Compare(a.Term, b.Term)
}

// expand returns query's analyzed terms mixed with the expansion terms
// (see expansion): feedbackOrigWeight of the weight goes to the query.
func expand(query string, exp []lexical.WeightedTerm) []lexical.WeightedTerm {
	qterms := lexical.Terms(query)
	if len(qterms) == 0 {
		return nil
	}
	weights := map[string]float64{}
	for _, t := range qterms {
		weights[t] += feedbackOrigWeight / float64(len(qterms))
	}
	for _, c := range exp {
		weights[c.Term] += (1 - feedbackOrigWeight) * c.Weight
	}
	out := make([]lexical.WeightedTerm, 0, len(weights))
	for t, w := range weights {
		out = append(out, lexical.WeightedTerm{Term: t, Weight: w})
	}
	slices.SortFunc(out, func(a, b lexical.WeightedTerm) int { return strings.Compare(a.Term, b.Term) })
	return out
}

func isNumber(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}
