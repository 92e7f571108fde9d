package bench

import (
	"cmp"
	"math"
	"slices"
)

// Qrels are relevance judgments: query ID → document ID → graded relevance.
// A grade >= 1 is relevant; the grade is the gain in nDCG.
type Qrels map[string]map[string]int

// Scored is one retrieved document.
type Scored struct {
	DocID string
	Score float64
}

// Run is a system's output: query ID → retrieved documents. Evaluate orders
// each list as trec_eval does (score descending, then document ID
// descending), so a run scores the same here as in a TREC run file.
type Run map[string][]Scored

// Metrics are the means over judged queries, with trec_eval's definitions.
type Metrics struct {
	NDCG10    float64 // ndcg_cut_10: graded linear gains, log2 discount
	Recall100 float64 // recall_100
	MAP       float64 // map over the top 1000
	MRR10     float64 // recip_rank cut at 10
	Queries   int     // judged queries (at least one relevant document)
}

// NDCG10 is nDCG@10 of a ranking against one query's judgments: DCG with
// gain = grade and discount log2(rank+1), over the ideal DCG of the judged
// relevant documents.
func NDCG10(ranking []string, judged map[string]int) float64 {
	var dcg float64
	for i, d := range ranking[:min(10, len(ranking))] {
		if g := judged[d]; g >= 1 {
			dcg += float64(g) / math.Log2(float64(i+2))
		}
	}
	var gains []int
	for _, g := range judged {
		if g >= 1 {
			gains = append(gains, g)
		}
	}
	slices.SortFunc(gains, func(a, b int) int { return b - a })
	var idcg float64
	for i, g := range gains[:min(10, len(gains))] {
		idcg += float64(g) / math.Log2(float64(i+2))
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}

// RecallAt is the fraction of the relevant documents found in the top k.
func RecallAt(ranking []string, judged map[string]int, k int) float64 {
	rel, found := 0, 0
	for _, g := range judged {
		if g >= 1 {
			rel++
		}
	}
	if rel == 0 {
		return 0
	}
	for _, d := range ranking[:min(k, len(ranking))] {
		if judged[d] >= 1 {
			found++
		}
	}
	return float64(found) / float64(rel)
}

// MAP is average precision over the top 1000, divided by the number of
// relevant documents (found or not).
func MAP(ranking []string, judged map[string]int) float64 {
	rel := 0
	for _, g := range judged {
		if g >= 1 {
			rel++
		}
	}
	if rel == 0 {
		return 0
	}
	hits, ap := 0, 0.0
	for i, d := range ranking[:min(1000, len(ranking))] {
		if judged[d] >= 1 {
			hits++
			ap += float64(hits) / float64(i+1)
		}
	}
	return ap / float64(rel)
}

// MRR10 is the reciprocal rank of the first relevant document in the top
// 10, or 0.
func MRR10(ranking []string, judged map[string]int) float64 {
	for i, d := range ranking[:min(10, len(ranking))] {
		if judged[d] >= 1 {
			return 1 / float64(i+1)
		}
	}
	return 0
}

// Ranking orders docs as trec_eval does (score descending, then document ID
// descending as strings), drops repeated document IDs after their first
// appearance, and returns the IDs.
func Ranking(docs []Scored) []string {
	seen := make(map[string]bool, len(docs))
	uniq := make([]Scored, 0, len(docs))
	for _, d := range docs {
		if !seen[d.DocID] {
			seen[d.DocID] = true
			uniq = append(uniq, d)
		}
	}
	slices.SortFunc(uniq, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(b.DocID, a.DocID)
	})
	out := make([]string, len(uniq))
	for i, d := range uniq {
		out[i] = d.DocID
	}
	return out
}

// Evaluate scores run against qrels. Queries without a relevant judgment
// are skipped; judged queries missing from the run score 0.
func Evaluate(qrels Qrels, run Run) Metrics {
	var m Metrics
	for qid, judged := range qrels {
		if !slices.ContainsFunc(mapValues(judged), func(g int) bool { return g >= 1 }) {
			continue
		}
		r := Ranking(run[qid])
		m.NDCG10 += NDCG10(r, judged)
		m.Recall100 += RecallAt(r, judged, 100)
		m.MAP += MAP(r, judged)
		m.MRR10 += MRR10(r, judged)
		m.Queries++
	}
	if m.Queries > 0 {
		n := float64(m.Queries)
		m.NDCG10 /= n
		m.Recall100 /= n
		m.MAP /= n
		m.MRR10 /= n
	}
	return m
}

func mapValues(m map[string]int) []int {
	out := make([]int, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
