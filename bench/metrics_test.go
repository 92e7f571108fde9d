package bench

import (
	"math"
	"slices"
	"testing"
)

func TestMetrics(t *testing.T) {
	judged := map[string]int{"a": 2, "b": 1, "c": 0, "d": 1}
	ranking := []string{"x", "a", "c", "b"}
	l2 := math.Log2
	tests := []struct {
		name      string
		got, want float64
	}{
		// DCG = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4).
		{"NDCG10", NDCG10(ranking, judged), (2/l2(3) + 1/l2(5)) / (2 + 1/l2(3) + 1/l2(4))},
		{"RecallAt2", RecallAt(ranking, judged, 2), 1.0 / 3},
		{"RecallAt100", RecallAt(ranking, judged, 100), 2.0 / 3},
		{"MAP", MAP(ranking, judged), (1.0/2 + 2.0/4) / 3},
		{"MRR10", MRR10(ranking, judged), 0.5},
		{"MRR10 none", MRR10([]string{"x", "c"}, judged), 0},
		{"NDCG10 empty", NDCG10(nil, judged), 0},
		{"NDCG10 no relevant", NDCG10(ranking, map[string]int{"c": 0}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if math.Abs(tt.got-tt.want) > 1e-12 {
				t.Fatalf("%s = %v, want %v", tt.name, tt.got, tt.want)
			}
		})
	}
}

func TestRankingOrdersLikeTrecEval(t *testing.T) {
	got := Ranking([]Scored{{"d1", 1}, {"d3", 2}, {"d2", 2}, {"d1", 5}, {"d9", 1}})
	want := []string{"d3", "d2", "d9", "d1"} // ties by docid descending; first d1 kept
	if !slices.Equal(got, want) {
		t.Fatalf("Ranking = %v, want %v", got, want)
	}
}

func TestEvaluateSkipsUnjudgedAndCountsMissing(t *testing.T) {
	qrels := Qrels{"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 0}}
	run := Run{"q1": {{"a", 3}, {"z", 1}}, "q3": {{"c", 1}}}
	m := Evaluate(qrels, run)
	if m.Queries != 2 || m.MRR10 != 0.5 || m.NDCG10 != 0.5 {
		t.Fatalf("Evaluate = %+v, want 2 queries, MRR10 0.5, NDCG10 0.5", m)
	}
}
