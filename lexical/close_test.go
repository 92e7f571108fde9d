package lexical

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// TestCloseKeepsEveryApply applies batches back to back and closes at
// once: every batch Apply acknowledged must be on disk after Close (scorch
// persists in the background and its Close does not flush; a reopened
// store then re-applied, or rebuilt, what Close dropped).
func TestCloseKeepsEveryApply(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	ctx := context.Background()
	for round := range 5 {
		ix, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		base := uint64(round * 1000)
		for i := uint64(1); i <= 20; i++ {
			docs := make([]Doc, 50)
			for j := range docs {
				id := base + i*50 + uint64(j)
				docs[j] = Doc{ID: id, Text: fmt.Sprintf("word%d common text number %d", id%97, id)}
			}
			if err := ix.Apply(ctx, base+i, docs, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
		ix, err = Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		seq, err := ix.Seq()
		ix.Close()
		if err != nil {
			t.Fatal(err)
		}
		if seq != base+20 {
			t.Fatalf("round %d: Seq after Close and reopen = %d, want %d (the last Apply before Close)", round, seq, base+20)
		}
	}
}
