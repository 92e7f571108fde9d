package store

import (
	"slices"
	"strings"

	"github.com/quarrylabs/quarry/lexical"
)

// Pseudo-relevance feedback (RM3): the best first-stage chunks are taken as
// relevant, the terms that characterise them are added to the query, and the
// expanded query is run again against the BM25 index. It is part of the
// local ranking stage ("auto"); it needs no model and no network.
// The parameters were tuned on the shared IR collections (see bench
// TestSearchQuality): the expanded query's ranking is fused beside the
// original keyword ranking, not instead of it, which helps on cranfield
// (+0.03 nDCG@10) without hurting vaswani.
const (
	feedbackDocs        = 10  // chunks taken as relevant
	feedbackCandidates  = 100 // best fused chunks re-scored by the expanded query
	feedbackTerms       = 10  // expansion terms added to the query
	feedbackOrigWeight  = 0.5 // share of the original query in the expanded one
	feedbackMinDocTerms = 1   // ignore feedback chunks with fewer terms
)

// expansion returns the feedback texts' top expansion terms with their
// weights, summing to 1 (best first, each text weighted by its
// first-stage score). It does not depend on the query, so a search with
// several queries computes it once.
func expansion(texts []string, scores []float64) []lexical.WeightedTerm {
	var total float64
	for _, s := range scores {
		total += s
	}
	if total <= 0 {
		return nil
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
	cands := make([]lexical.WeightedTerm, 0, len(rm))
	for t, w := range rm {
		if len(t) > 1 && !isNumber(t) {
			cands = append(cands, lexical.WeightedTerm{Term: t, Weight: w})
		}
	}
	slices.SortFunc(cands, func(a, b lexical.WeightedTerm) int {
		if a.Weight != b.Weight {
			if a.Weight > b.Weight {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Term, b.Term)
	})
	cands = cands[:min(len(cands), feedbackTerms)]
	var sum float64
	for _, c := range cands {
		sum += c.Weight
	}
	for i := range cands {
		cands[i].Weight /= sum
	}
	return cands
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
