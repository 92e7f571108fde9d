package store

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/quarrylabs/quarry/embed"
)

// callCounter counts the texts an embedder is given; its identity is the
// wrapped embedder's, so the DB takes it for that embedder.
type callCounter struct {
	embed.Embedder
	texts atomic.Int64
}

func (c *callCounter) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.texts.Add(int64(len(texts)))
	return c.Embedder.Embed(ctx, texts)
}

// TestOldDefaultStoreKeepsItsEmbedder: a store built with the hashing
// embedder (the default before GloVe-SIF) reopens under the new default
// and keeps working with its recorded embedder: searches (dense-only
// too, which a 100-d query against its 384-d graph could not serve) and
// new files, without one text given to the new default, until an explicit
// Reembed moves it to the default.
func TestOldDefaultStoreKeepsItsEmbedder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	hash := embed.NewLocal(0)
	db := openTest(t, dir, Options{Embedder: hash})
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	addText(t, vs, "keys.md", corpus["keys.md"], nil)
	addText(t, vs, "coffee.txt", corpus["coffee.txt"], nil)
	db.Close()

	def := &callCounter{Embedder: embed.NewDefault()}
	db = openTest(t, dir, Options{Embedder: def})
	defer db.Close()
	vs, err = db.VectorStore(vs.ID())
	if err != nil {
		t.Fatal(err)
	}
	dense := RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{EmbeddingWeight: 1}}
	top := func(q, want string) {
		t.Helper()
		for _, r := range []RankingOptions{{}, dense} {
			res, err := vs.Search(ctx, SearchRequest{Query: []string{q}, Ranking: r})
			if err != nil {
				t.Fatalf("Search(%q, %+v) = %v", q, r, err)
			}
			if len(res.Data) == 0 || res.Data[0].Filename != want {
				t.Fatalf("Search(%q, %+v): top %+v, want %s", q, r, res.Data, want)
			}
		}
	}
	top("rotate production keys", "keys.md")
	addText(t, vs, "deploy.md", corpus["deploy.md"], nil)
	top("roll back a bad deploy", "deploy.md")
	if info, _ := vs.Info(ctx); info.Embedder != hash.Identity() {
		t.Errorf("embedder after reopen = %v, want %v", info.Embedder, hash.Identity())
	}
	if n := def.texts.Load(); n != 0 {
		t.Fatalf("the new default embedded %d texts for a store built with hash-v3", n)
	}

	// A store built with the default cannot be searched with the old one
	// in one call: one query vector cannot serve both.
	fresh, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Search(ctx, []string{vs.ID(), fresh.ID()}, SearchRequest{Query: []string{"keys"}}); !errors.Is(err, ErrEmbedderMismatch) {
		t.Errorf("search across a hash-v3 and a default store = %v, want ErrEmbedderMismatch", err)
	}

	if err := db.Reembed(ctx, vs.ID()); err != nil {
		t.Fatal(err)
	}
	if info, _ := vs.Info(ctx); info.Embedder != embed.DefaultIdentity() {
		t.Errorf("embedder after Reembed = %v, want %v", info.Embedder, embed.DefaultIdentity())
	}
	if def.texts.Load() == 0 {
		t.Error("Reembed did not use the DB's embedder")
	}
	top("rotate production keys", "keys.md")
}

// TestOldDefaultStoreExplicitEmbedder: the store keeps its embedder only
// under the default; an explicitly chosen other embedder still refuses it.
func TestOldDefaultStoreExplicitEmbedder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "glove"})
	if err != nil {
		t.Fatal(err)
	}
	addText(t, vs, "keys.md", corpus["keys.md"], nil)
	db.Close()

	db = openTest(t, dir, Options{Embedder: embed.NewLocal(0)})
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	if _, err := vs.Search(ctx, SearchRequest{Query: []string{"keys"}}); !errors.Is(err, ErrEmbedderMismatch) {
		t.Errorf("default-built store searched with hash-v3 = %v, want ErrEmbedderMismatch", err)
	}
}
