package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/embed"
)

// embeddingsServer answers OpenAI's embeddings endpoint with a small
// deterministic vector per input and counts requests and inputs. Requests
// wait until gate is closed.
type embeddingsServer struct {
	requests, inputs atomic.Int64
	gate             chan struct{}
}

func (s *embeddingsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	<-s.gate
	var req struct {
		Input []string `json:"input"`
		Model string   `json:"model"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, 400)
		return
	}
	s.requests.Add(1)
	s.inputs.Add(int64(len(req.Input)))
	data := make([]map[string]any, len(req.Input))
	for i, text := range req.Input {
		v, _ := embed.NewLocal(8).Embed(r.Context(), []string{text})
		v[0][0] += 0.5 // never the zero vector
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": v[0]}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": len(req.Input), "total_tokens": len(req.Input)},
	})
}

// A folder of small files costs about one embedding request per 2,048
// chunks, not one per file: at most ceil(chunks/2048) plus one per linger
// window (a batch sent before it was full).
func TestRemoteEmbedderBatchesAcrossFiles(t *testing.T) {
	srv := &embeddingsServer{gate: make(chan struct{})}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	emb, err := embed.NewOpenAI(embed.OpenAIOptions{BaseURL: hs.URL + "/v1", Model: "text-embedding-3-small", NativeDimensions: 8})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{Embedder: emb, EmbedCache: CacheNever})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	const files = 2500
	var g errgroup.Group
	g.SetLimit(8)
	ids := make([]string, files)
	for i := range files {
		g.Go(func() error {
			f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("n%d.txt", i), Body: strings.NewReader(fmt.Sprintf("note %d about topic%d", i, i%37))})
			if err == nil {
				ids[i] = f.ID
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	// The first requests hold the embedding slots until every file waits
	// for its vectors: the pipeline must have them all in flight at once.
	deadline := time.Now().Add(2 * time.Minute)
	for st := db.batcher.Stats(); st.Pending+st.Inputs < files; st = db.batcher.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d chunks reached the batcher", st.Pending+st.Inputs, files)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(srv.gate)
	for _, id := range ids {
		f, err := vs.WaitFile(ctx, id)
		if err != nil || f.Status != StatusCompleted {
			t.Fatalf("file %s: %v %v", id, f, err)
		}
	}
	st := db.batcher.Stats()
	reqs, inputs := srv.requests.Load(), srv.inputs.Load()
	if inputs != files {
		t.Fatalf("server embedded %d inputs, want %d", inputs, files)
	}
	bound := int64((files+2047)/2048) + st.Lingered
	t.Logf("%d files: %d requests, %d batches (%d lingered), bound %d", files, reqs, st.Batches, st.Lingered, bound)
	if reqs > bound {
		t.Fatalf("%d requests for %d chunks, more than ceil(chunks/2048) + %d linger windows = %d", reqs, files, st.Lingered, bound)
	}
	// While the slots were held, the rest filled full batches: a handful
	// of requests, not one per file.
	if reqs > 2*int64(db.opts.EmbedConcurrency)+4 {
		t.Fatalf("%d requests for %d small files", reqs, files)
	}
	res, err := vs.Search(ctx, SearchRequest{Query: []string{"note 1234 about topic13"}})
	if err != nil || len(res.Data) == 0 {
		t.Fatalf("search: %v %v", res, err)
	}
}

// A trickle of single files is not held back: each goes out within about
// the linger.
func TestPipelineTrickle(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f := addText(t, vs, fmt.Sprintf("t%d.txt", i), fmt.Sprintf("trickle number %d", i), nil)
		if f.Status != StatusCompleted {
			t.Fatalf("file %d: %s %v", i, f.Status, f.LastError)
		}
	}
	if st := db.batcher.Stats(); st.Batches < 5 || st.Inputs != 5 {
		t.Fatalf("stats %+v, want 5 single batches", st)
	}
}

// One huge file is split into batches that run in parallel, and its chunks
// come back in order.
func TestPipelineHugeFile(t *testing.T) {
	ctx := context.Background()
	// The hashing embedder: its vectors of chunks that differ only in
	// numbers and made-up words ("marker17") differ, so a chunk holding
	// another's vector is caught.
	db := openTest(t, t.TempDir(), Options{Embedder: embed.NewLocal(0)})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&sb, "Paragraph %d speaks of marker%d and nothing else of note here.\n\n", i, i)
	}
	f := addText(t, vs, "huge.txt", sb.String(), nil)
	if f.Status != StatusCompleted || f.Chunks < 20 {
		t.Fatalf("huge file: %s %v, %d chunks", f.Status, f.LastError, f.Chunks)
	}
	if st := db.batcher.Stats(); st.Batches < 2 {
		t.Fatalf("%d chunks in %d batches", f.Chunks, st.Batches)
	}
	// Each chunk's stored vector is its own text's: the batches were
	// reassembled in order.
	local := embed.NewLocal(0)
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, vs.ID())
		rec, err := b.file(f.ID)
		if err != nil {
			return err
		}
		for _, id := range rec.ChunkIDs {
			c, err := b.chunk(u64key(id))
			if err != nil || c == nil {
				return fmt.Errorf("chunk %d: %v", id, err)
			}
			got, err := decodeVector(b.vectors.Get(u64key(id)))
			if err != nil {
				return err
			}
			want, _ := local.Embed(ctx, []string{c.Text})
			for i := range got {
				if got[i] != want[0][i] {
					return fmt.Errorf("chunk %d (index %d) holds another text's vector", id, c.Index)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A store written before chunk text was stored once (each chunk record
// holding its text) opens and searches as before; its BM25 index rebuilds
// from those records.
func TestOldChunkRecordsStillRead(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, vs := openWithStore(t, dir)
	for name, text := range corpus {
		addText(t, vs, name, text, nil)
	}
	query := SearchRequest{Query: []string{"rotate production keys"}, Ranking: RankingOptions{Ranker: RankerNone}}
	want, err := vs.Search(ctx, query)
	if err != nil || len(want.Data) == 0 {
		t.Fatalf("search: %v %v", want, err)
	}
	vsID := vs.ID()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Rewrite every chunk record the old way: text inside, and the file's
	// text changed so that only the record's own text can be right.
	bdb, err := bolt.Open(filepath.Join(dir, "quarry.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, vsID)
		c := b.chunks.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			rec, err := decodeChunk(v)
			if err != nil {
				return err
			}
			if rec.Text != "" {
				t.Fatalf("new chunk record holds its text: %s", v)
			}
			if err := b.fillText(rec); err != nil {
				return err
			}
			data, _ := json.Marshal(rec)
			if err := b.chunks.Put(k, data); err != nil {
				return err
			}
		}
		return b.texts.ForEach(func(k, v []byte) error {
			return b.texts.Put(k, []byte(strings.Repeat("#", len(v))))
		})
	})
	bdb.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "indexes", vsID, "bm25")); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, dir, Options{})
	defer db.Close()
	vs, err = db.VectorStore(vsID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := vs.Search(ctx, query)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != len(want.Data) {
		t.Fatalf("%d results, want %d", len(got.Data), len(want.Data))
	}
	for i := range got.Data {
		g, w := got.Data[i], want.Data[i]
		if g.FileID != w.FileID || g.Content[0].Text != w.Content[0].Text {
			t.Fatalf("result %d: %s %q, want %s %q", i, g.FileID, g.Content[0].Text, w.FileID, w.Content[0].Text)
		}
	}
}
