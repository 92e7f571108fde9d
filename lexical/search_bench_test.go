package lexical

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSearchTermsLong measures top-100 searches of 10 to 30 weighted
// terms (like pseudo-relevance-feedback expansions) on 100,000 synthetic
// chunks of about 100 Zipf-distributed words, pruned and exhaustive. One
// op is one query. Building the index takes a while.
func BenchmarkSearchTermsLong(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ix, err := OpenMem(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	const n, vocab = 100_000, 20_000
	z := rand.NewZipf(r, 1.05, 2, vocab-1)
	for seq := uint64(1); seq <= 10; seq++ {
		docs := make([]Doc, n/10)
		for i := range docs {
			buf := make([]byte, 0, 800)
			for j := 80 + r.IntN(40); j > 0; j-- {
				buf = fmt.Appendf(buf, "w%d ", z.Uint64())
			}
			docs[i] = Doc{ID: (seq-1)*n/10 + uint64(i), Text: string(buf)}
		}
		if err := ix.Apply(context.Background(), seq, docs, nil); err != nil {
			b.Fatal(err)
		}
	}
	// Queries: a few rarer terms at weight 1 and expansion terms of all
	// frequencies at lower weights.
	queries := make([][]WeightedTerm, 50)
	for i := range queries {
		q := make([]WeightedTerm, 10+r.IntN(21))
		for j := range q {
			if j < 3 {
				q[j] = WeightedTerm{fmt.Sprintf("w%d", 50+r.IntN(2000)), 1}
			} else {
				q[j] = WeightedTerm{fmt.Sprintf("w%d", z.Uint64()), 0.2 + 0.6*r.Float64()}
			}
		}
		queries[i] = q
	}
	for _, exhaustive := range []bool{false, true} {
		name := "pruned"
		if exhaustive {
			name = "exhaustive"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, _, err := ix.searchTerms(ctx, queries[i%len(queries)], 100, nil, exhaustive); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/query")
		})
	}
}
