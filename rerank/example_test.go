package rerank_test

import (
	"context"
	"fmt"

	"github.com/quarrylabs/quarry/rerank"
)

func ExampleFuse() {
	dense := []rerank.Scored{{ID: 1, Score: 0.82}, {ID: 2, Score: 0.80}, {ID: 3, Score: 0.41}}
	bm25 := []rerank.Scored{{ID: 3, Score: 11.2}, {ID: 1, Score: 7.5}}
	for _, s := range rerank.Fuse(rerank.RRF, []rerank.List{{Items: dense}, {Items: bm25}}, 60) {
		fmt.Printf("%d %.3f\n", s.ID, s.Score)
	}
	// Output:
	// 1 0.992
	// 3 0.984
	// 2 0.492
}

func ExampleLocal() {
	l := rerank.NewLocal(rerank.LocalOptions{})
	out, _ := l.Rerank(context.Background(), "how is the vacation policy applied?", []rerank.Candidate{
		{ID: 1, Score: 0.6, Text: "Policy on remote work. Vacation requests go through the portal."},
		{ID: 2, Score: 0.6, Text: "The vacation policy applies to all full-time staff."},
		{ID: 3, Score: 0.6, Text: "Expense reports are due monthly."},
	})
	for _, c := range out {
		fmt.Println(c.ID)
	}
	// Output:
	// 2
	// 1
	// 3
}
