package store

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/lexical"
)

// TestExpansionDivergence: expansion terms are chosen by their
// contribution to the divergence from the collection model, so a term
// frequent in the feedback texts but as frequent everywhere loses to a
// rarer, specific one; and stopping early (the bound) changes nothing
// against scoring every term.
func TestExpansionDivergence(t *testing.T) {
	var texts []string
	for i := range 6 {
		texts = append(texts, fmt.Sprintf("common common common turbine blade cooling w%d x%d y%d z%d", i, i, i, i))
	}
	for i := range 60 {
		texts = append(texts, fmt.Sprintf("filler%d common", i))
	}
	scores := make([]float64, len(texts))
	for i := range scores {
		scores[i] = 1 / float64(i+1)
	}
	const tokens = 1e6
	probs := func(term string) float64 {
		switch term {
		case "common":
			return 0.6 // as frequent in the collection as in the feedback texts
		case "turbin", "blade", "cool":
			return 1e-5
		}
		return 2e-6
	}
	calls := 0
	model := func(terms []string) ([]float64, float64, error) {
		calls += len(terms)
		out := make([]float64, len(terms))
		for i, term := range terms {
			out[i] = probs(term)
		}
		return out, 1 / tokens, nil
	}
	got, err := expansion(texts, scores, model)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != feedbackTerms {
		t.Fatalf("%d terms: %v", len(got), got)
	}
	var sum float64
	names := map[string]bool{}
	for _, w := range got {
		sum += w.Weight
		names[w.Term] = true
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("weights sum to %v", sum)
	}
	if names["common"] || !names["turbin"] || !names["blade"] {
		t.Errorf("expansion %v: want the specific terms, not common", got)
	}
	// Brute force: every term's divergence.
	rm := map[string]float64{}
	var total float64
	for _, s := range scores {
		total += s
	}
	for i, text := range texts {
		terms := lexical.Terms(text)
		for _, term := range terms {
			rm[term] += scores[i] / total / float64(len(terms))
		}
	}
	type div struct {
		term string
		d    float64
	}
	var all []div
	for term, p := range rm {
		if len(term) > 1 && !isNumber(term) {
			all = append(all, div{term, p * math.Log(p/max(probs(term), 1/tokens))})
		}
	}
	slices.SortFunc(all, func(a, b div) int {
		if a.d != b.d {
			if a.d > b.d {
				return -1
			}
			return 1
		}
		return strings.Compare(a.term, b.term)
	})
	for i, w := range got {
		if w.Term != all[i].term {
			t.Fatalf("term %d = %s, brute force %s (%v vs %v)", i, w.Term, all[i].term, got, all[:feedbackTerms])
		}
	}
	if calls >= len(all) {
		t.Errorf("looked up %d of %d terms: the bound never stopped the scan", calls, len(all))
	}
}
