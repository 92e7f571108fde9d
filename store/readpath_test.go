package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/embed"
)

// TestKeywordSearchSkipsEmbedder: with embedding weight 0 a search never
// calls the embedder, so it works while the embedder is down.
func TestKeywordSearchSkipsEmbedder(t *testing.T) {
	ctx := context.Background()
	fe := &failingEmbedder{Embedder: embed.NewLocal(0)}
	fe.failAfter(-1)
	db := openTest(t, t.TempDir(), Options{Embedder: fe, EmbedCache: CacheNever})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	f := addText(t, vs, "a.txt", "zebraquartz is a rare word", nil)
	fe.failAfter(0)
	if !keywordFound(t, vs, "zebraquartz", f.ID) {
		t.Errorf("keyword search with the embedder down did not find the file")
	}
	if _, err := vs.Search(ctx, SearchRequest{Query: []string{"zebraquartz"}}); err == nil {
		t.Errorf("hybrid search with the embedder down = nil error; the test's embedder does not fail")
	}
}

// TestQueryEmbeddingsInMemory: with a remote embedder, a repeated query is
// embedded once (the in-memory LRU) and queries never grow the persistent
// cache.
func TestQueryEmbeddingsInMemory(t *testing.T) {
	ctx := context.Background()
	emb := &countingEmbedder{inner: embed.NewLocal(32)}
	db := openTest(t, t.TempDir(), Options{Embedder: emb})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	addText(t, vs, "a.txt", "some words in a file", nil)
	cache := db.closers[0].(*embed.BoltCache)
	entries, _, err := cache.Size()
	if err != nil {
		t.Fatal(err)
	}
	emb.mu.Lock()
	before := emb.texts
	emb.mu.Unlock()
	for i := range 20 {
		for range 3 {
			if _, err := vs.Search(ctx, SearchRequest{Query: []string{fmt.Sprintf("query number %d", i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	emb.mu.Lock()
	got := emb.texts - before
	emb.mu.Unlock()
	if got != 20 {
		t.Errorf("60 searches of 20 distinct queries embedded %d texts, want 20", got)
	}
	after, _, err := cache.Size()
	if err != nil {
		t.Fatal(err)
	}
	if after != entries {
		t.Errorf("searches grew the persistent cache from %d to %d entries", entries, after)
	}
}

// blockingEmbedder blocks every Embed call until released.
type blockingEmbedder struct {
	embed.Embedder
	release chan struct{}
	once    sync.Once
}

func (b *blockingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case <-b.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.Embedder.Embed(ctx, texts)
}

// TestResumedFileWaitsForReembed: a file left in progress by a process
// that used another embedder waits (in progress) for Reembed instead of
// failing, and completes after it.
func TestResumedFileWaitsForReembed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	be := &blockingEmbedder{Embedder: embed.NewLocal(0), release: make(chan struct{})}
	db := openTest(t, dir, Options{Embedder: be, EmbedCache: CacheNever})
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := vs.AddFile(ctx, FileInput{Name: "a.txt", Body: strings.NewReader("pendingword text")})
	if err != nil {
		t.Fatal(err)
	}
	db.Close() // the embedder never answered: the file stays in progress

	db = openTest(t, dir, Options{Embedder: embed.NewLocal(64)})
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	time.Sleep(100 * time.Millisecond) // let a worker look at it
	got, err := vs.File(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusInProgress {
		t.Fatalf("resumed file under another embedder: status %s (%v), want in_progress", got.Status, got.LastError)
	}
	if err := db.Reembed(ctx, vs.ID()); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err = vs.WaitFile(wctx, f.ID)
	if err != nil || got.Status != StatusCompleted {
		t.Fatalf("after Reembed: %v, %v; want completed", got, err)
	}
	if !keywordFound(t, vs, "pendingword", f.ID) {
		t.Errorf("file not found after Reembed")
	}
}

// TestEmbedConcurrencyBound: however many workers, at most
// EmbedConcurrency Embed calls run at once.
func TestEmbedConcurrencyBound(t *testing.T) {
	ctx := context.Background()
	ce := &concurrencyEmbedder{Embedder: embed.NewLocal(0)}
	db := openTest(t, t.TempDir(), Options{Embedder: ce, EmbedCache: CacheNever, Workers: 16, EmbedConcurrency: 2})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 40 {
		f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(fmt.Sprintf("text %d", i))})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	for _, id := range ids {
		if _, err := vs.WaitFile(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if ce.peak > 2 || ce.peak == 0 {
		t.Errorf("peak Embed calls in flight = %d, want 1..2", ce.peak)
	}
}

type concurrencyEmbedder struct {
	embed.Embedder
	mu       sync.Mutex
	in, peak int
}

func (c *concurrencyEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.in++
	c.peak = max(c.peak, c.in)
	c.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	defer func() {
		c.mu.Lock()
		c.in--
		c.mu.Unlock()
	}()
	return c.Embedder.Embed(ctx, texts)
}
