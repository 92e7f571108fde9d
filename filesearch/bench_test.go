package filesearch_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/filesearch"
	"github.com/quarrylabs/quarry/store"
)

// BenchmarkSearchFiveQueries compares a five-query tool call (each query
// searched and reranked on its own, then fused) with the same five
// queries in one store search (fused before one rerank), its peer.
func BenchmarkSearchFiveQueries(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	vs, _ := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "kb"})
	topics := []string{"key rotation", "vacation policy", "expense reports", "on-call duty", "office access", "laptop security", "travel booking", "code review"}
	for i := range 200 {
		t := topics[i%len(topics)]
		body := fmt.Sprintf("# %s %d\n\nThis page explains %s for team %d. %s", t, i, t, i, strings.Repeat("Details about "+t+" and the process. ", 20))
		if _, err := vs.AddFile(ctx, store.FileInput{Name: fmt.Sprintf("doc%d.md", i), Body: strings.NewReader(body)}); err != nil {
			b.Fatal(err)
		}
	}
	files, _ := vs.AllFiles(ctx)
	for _, f := range files {
		vs.WaitFile(ctx, f.ID)
	}
	queries := []string{"how often are keys rotated", "vacation days", "submit expenses", "who is on call", "badge access"}
	b.Run("tool", func(b *testing.B) {
		for b.Loop() {
			tool, _ := filesearch.New(db, filesearch.Config{VectorStoreIDs: []string{vs.ID()}})
			if _, err := tool.Search(ctx, queries); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store-joint", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.Search(ctx, []string{vs.ID()}, store.SearchRequest{Query: queries}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
