package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/embed"
)

// failingEmbedder fails every Embed call after the next n (never, for
// n < 0).
type failingEmbedder struct {
	embed.Embedder
	left atomic.Int64
}

func (f *failingEmbedder) failAfter(n int) { f.left.Store(int64(n)) }

func (f *failingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if f.left.Load() >= 0 && f.left.Add(-1) < 0 {
		return nil, errors.New("embedder down")
	}
	return f.Embedder.Embed(ctx, texts)
}

// keywordFound reports whether a keyword-only search for term returns
// fileID.
func keywordFound(t *testing.T, vs *VectorStore, term, fileID string) bool {
	t.Helper()
	res, err := vs.Search(context.Background(), SearchRequest{Query: []string{term}, MaxResults: 5,
		Ranking: RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{TextWeight: 1}}})
	if err != nil {
		t.Fatalf("Search(%q) = %v", term, err)
	}
	for _, r := range res.Data {
		if r.FileID == fileID {
			return true
		}
	}
	return false
}

// hashOptions are the options of the tests that find files by vector
// with made-up words ("term3x text"): the hashing embedder tells such
// texts apart by their trigrams, while the default, which knows whole
// English words only, gives them all the vector of "text".
func hashOptions() Options { return Options{Embedder: embed.NewLocal(0)} }

// openHashStore is openWithStore with hashOptions.
func openHashStore(t *testing.T, dir string) (*DB, *VectorStore) {
	t.Helper()
	db := openTest(t, dir, hashOptions())
	vs, err := db.CreateVectorStore(context.Background(), VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	return db, vs
}

func vectorFound(t *testing.T, vs *VectorStore, text, fileID string) bool {
	t.Helper()
	res, err := vs.Search(context.Background(), SearchRequest{Query: []string{text}, MaxResults: 3,
		Ranking: RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{EmbeddingWeight: 1}}})
	if err != nil {
		t.Fatalf("Search(%q) = %v", text, err)
	}
	for _, r := range res.Data {
		if r.FileID == fileID {
			return true
		}
	}
	return false
}

func copyFile(t *testing.T, dst, src string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, dst, src string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		copyFile(t, filepath.Join(dst, rel), p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRestoreOlderDB restores a backup of quarry.db alone beside derived
// indexes that applied later changes: Open rebuilds them and the store
// matches the backup.
func TestRestoreOlderDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, vs := openHashStore(t, dir)
	var early []*File
	for i := range 3 {
		early = append(early, addText(t, vs, fmt.Sprintf("e%d.txt", i), fmt.Sprintf("early%dx document", i), nil))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "quarry.db")
	copyFile(t, backup, filepath.Join(dir, "quarry.db"))

	db = openTest(t, dir, hashOptions())
	vs, _ = db.VectorStore(vs.ID())
	var late []*File
	for i := range 3 {
		late = append(late, addText(t, vs, fmt.Sprintf("l%d.txt", i), fmt.Sprintf("late%dx document", i), nil))
	}
	if err := vs.DeleteFile(ctx, early[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	copyFile(t, filepath.Join(dir, "quarry.db"), backup)
	db, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("Open after restoring an older quarry.db = %v", err)
	}
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	files, err := vs.AllFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(early) {
		t.Errorf("%d files after restore, want %d", len(files), len(early))
	}
	for i, f := range early {
		if !keywordFound(t, vs, fmt.Sprintf("early%dx", i), f.ID) {
			t.Errorf("file %s of the backup not found by keyword", f.Filename)
		}
	}
	for i, f := range late {
		if keywordFound(t, vs, fmt.Sprintf("late%dx", i), f.ID) || vectorFound(t, vs, fmt.Sprintf("late%dx document", i), f.ID) {
			t.Errorf("file %s, added after the backup, found", f.Filename)
		}
	}
	// And the store keeps working.
	f := addText(t, vs, "new.txt", "brandnewx document", nil)
	if !keywordFound(t, vs, "brandnewx", f.ID) {
		t.Errorf("file added after the restore not found")
	}
}

// withCheckpoints makes checkpoints and log trims happen at once.
func withCheckpoints(t *testing.T) {
	c, i := checkpointChanges, checkpointInterval
	checkpointChanges, checkpointInterval = 1, 10*time.Millisecond
	t.Cleanup(func() { checkpointChanges, checkpointInterval = c, i })
}

// logState returns where the vector store's log starts and how many
// entries it holds.
func logState(t *testing.T, db *DB, vsID string) (start uint64, entries int) {
	t.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vsID)
		if !ok {
			return ErrNotFound
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		start, entries = rec.LogStart, b.log.Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return start, entries
}

func waitTrimmed(t *testing.T, db *DB, vsID string, past uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if start, _ := logState(t, db, vsID); start > past {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("log of %s not trimmed past %d", vsID, past)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCheckpointTrimsLog: the indexer saves the graph and trims the log
// in the background; a reopen loads the checkpoint and replays only the
// rest.
func TestCheckpointTrimsLog(t *testing.T) {
	withCheckpoints(t)
	dir := t.TempDir()
	db, vs := openHashStore(t, dir)
	var files []*File
	for i := range 10 {
		files = append(files, addText(t, vs, fmt.Sprintf("f%d.txt", i), fmt.Sprintf("term%dx text", i), nil))
	}
	if err := vs.DeleteFile(context.Background(), files[3].ID); err != nil {
		t.Fatal(err)
	}
	waitTrimmed(t, db, vs.ID(), 5)
	start, entries := logState(t, db, vs.ID())
	if entries > 11-int(start)+1 {
		t.Errorf("log starts at %d but holds %d entries", start, entries)
	}
	h, err := readGraph(filepath.Join(dir, "indexes", vs.ID(), "vectors.hnsw"))
	if err != nil {
		t.Fatalf("no checkpoint while open: %v", err)
	}
	if h.Seq()+1 < start {
		t.Errorf("log trimmed to %d past the saved graph at %d", start, h.Seq())
	}
	db.Close()
	db = openTest(t, dir, hashOptions())
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	for i, f := range files {
		want := i != 3
		if got := keywordFound(t, vs, fmt.Sprintf("term%dx", i), f.ID); got != want {
			t.Errorf("file %d: keyword found = %v, want %v", i, got, want)
		}
		if got := vectorFound(t, vs, fmt.Sprintf("term%dx text", i), f.ID); got != want {
			t.Errorf("file %d: vector found = %v, want %v", i, got, want)
		}
	}
}

// TestStaleIndexesBehindTrimmedLog puts back a graph and a BM25 index
// saved before changes that the log no longer holds (a deletion among
// them): Open rebuilds both instead of replaying what is left.
func TestStaleIndexesBehindTrimmedLog(t *testing.T) {
	withCheckpoints(t)
	dir := t.TempDir()
	db, vs := openHashStore(t, dir)
	victim := addText(t, vs, "victim.txt", "victimx text", nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	old := t.TempDir()
	idx := filepath.Join(dir, "indexes", vs.ID())
	copyDir(t, old, idx)

	db = openTest(t, dir, hashOptions())
	vs, _ = db.VectorStore(vs.ID())
	if err := vs.DeleteFile(context.Background(), victim.ID); err != nil {
		t.Fatal(err)
	}
	var delSeq uint64
	db.bolt.View(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, vs.ID())
		_, delSeq, _, _ = logBounds(b)
		return nil
	})
	var files []*File
	for i := range 5 {
		files = append(files, addText(t, vs, fmt.Sprintf("f%d.txt", i), fmt.Sprintf("later%dx text", i), nil))
	}
	waitTrimmed(t, db, vs.ID(), delSeq)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(idx); err != nil {
		t.Fatal(err)
	}
	copyDir(t, idx, old)

	db = openTest(t, dir, hashOptions())
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	if keywordFound(t, vs, "victimx", victim.ID) || vectorFound(t, vs, "victimx text", victim.ID) {
		t.Errorf("deleted file found after reopening with stale indexes")
	}
	for i, f := range files {
		if !keywordFound(t, vs, fmt.Sprintf("later%dx", i), f.ID) {
			t.Errorf("file %d not found by keyword", i)
		}
		if !vectorFound(t, vs, fmt.Sprintf("later%dx text", i), f.ID) {
			t.Errorf("file %d not found by vector", i)
		}
	}
}

// TestReembedFailureKeepsServing: an embedder that fails part-way through
// a Reembed leaves the old vectors and indexes serving.
func TestReembedFailureKeepsServing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fe := &failingEmbedder{Embedder: embed.NewLocal(0)}
	fe.failAfter(-1)
	db := openTest(t, dir, Options{Embedder: fe, EmbedCache: CacheNever})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	// More chunks than one batch, so the failure comes part-way.
	var files []*File
	for i := range reembedBatch + 50 {
		f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(fmt.Sprintf("doc%dx text", i))})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	for _, f := range files {
		if f, err := vs.WaitFile(ctx, f.ID); err != nil || f.Status != StatusCompleted {
			t.Fatalf("WaitFile = %v, %v", f, err)
		}
	}
	fe.failAfter(1)
	if err := db.Reembed(ctx, vs.ID()); err == nil {
		t.Fatal("Reembed with a failing embedder = nil")
	}
	fe.failAfter(-1)
	for i, f := range files {
		if !vectorFound(t, vs, fmt.Sprintf("doc%dx text", i), f.ID) || !keywordFound(t, vs, fmt.Sprintf("doc%dx", i), f.ID) {
			t.Errorf("file %d not found after a failed Reembed", i)
		}
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, vs.ID())
		if b.root.Bucket(bucketNext) != nil {
			return errors.New("staging bucket left behind")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	if err := db.Reembed(ctx, vs.ID()); err != nil {
		t.Fatalf("Reembed = %v", err)
	}
	for i, f := range files {
		if !vectorFound(t, vs, fmt.Sprintf("doc%dx text", i), f.ID) {
			t.Errorf("file %d not found after Reembed", i)
		}
	}
}
