package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/embed"
)

func upload(t *testing.T, db *DB, name, text string) *Upload {
	t.Helper()
	up, err := db.UploadFile(context.Background(), UploadParams{Filename: name, Purpose: "assistants", Body: strings.NewReader(text)})
	if err != nil {
		t.Fatalf("UploadFile(%s) = %v", name, err)
	}
	return up
}

func attach(t *testing.T, vs *VectorStore, id string, attrs map[string]any) *File {
	t.Helper()
	ctx := context.Background()
	f, err := vs.AttachFile(ctx, id, attrs, chunk.Strategy{})
	if err != nil {
		t.Fatalf("AttachFile(%s) = %v", id, err)
	}
	if f, err = vs.WaitFile(ctx, f.ID); err != nil {
		t.Fatalf("WaitFile(%s) = %v", id, err)
	}
	return f
}

// contentRecords returns the number of content records and of blob files
// holding content.
func contentRecords(t *testing.T, db *DB) (records, files int) {
	t.Helper()
	db.bolt.View(func(tx *bolt.Tx) error {
		records = tx.Bucket(bucketContent).Stats().KeyN
		return nil
	})
	entries, _ := os.ReadDir(filepath.Join(db.Dir(), "blobs"))
	for _, e := range entries {
		if len(e.Name()) == 64 {
			files++
		}
	}
	return records, files
}

// TestUploadAttachDelete: an upload attached to two vector stores is
// searchable in both under its own id, its bytes are stored once (shared
// with an identical upload) and never copied, and DeleteUpload removes it
// from both at once.
func TestUploadAttachDelete(t *testing.T) {
	ctx := context.Background()
	db, a := openWithStore(t, t.TempDir())
	defer db.Close()
	b, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	big := corpus["keys.md"] + strings.Repeat("filler words about nothing in particular ", 5000)
	up := upload(t, db, "keys.md", big)
	twin := upload(t, db, "copy.md", big)
	if up.Bytes != int64(len(big)) || up.ID == twin.ID || up.SHA256 != twin.SHA256 {
		t.Fatalf("uploads = %+v, %+v", up, twin)
	}
	if recs, files := contentRecords(t, db); recs != 1 || files != 1 {
		t.Errorf("two identical uploads: %d content records, %d blob files, want 1 and 1", recs, files)
	}
	for _, vs := range []*VectorStore{a, b} {
		f := attach(t, vs, up.ID, map[string]any{"team": "sec"})
		if f.ID != up.ID || f.Status != StatusCompleted || !f.Attached {
			t.Fatalf("attached file = %+v", f)
		}
		if !keywordFound(t, vs, "ninety", up.ID) {
			t.Errorf("%s: the attached file is not found", vs.ID())
		}
		// Attaching again returns the file as it is: no second copy.
		again, err := vs.AttachFile(ctx, up.ID, nil, chunk.Strategy{})
		if err != nil || again.Status != StatusCompleted || again.Attributes["team"] != "sec" {
			t.Errorf("AttachFile again = %+v, %v", again, err)
		}
		if info, _ := vs.Info(ctx); info.FileCounts.Total != 1 {
			t.Errorf("%s counts = %+v, want 1 file", vs.ID(), info.FileCounts)
		}
	}
	if _, files := contentRecords(t, db); files != 1 {
		t.Errorf("after two attaches: %d blob files, want 1 (no copies)", files)
	}
	if err := db.DeleteUpload(ctx, up.ID); err != nil {
		t.Fatal(err)
	}
	for _, vs := range []*VectorStore{a, b} {
		if _, err := vs.File(ctx, up.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: File after DeleteUpload = %v, want ErrNotFound", vs.ID(), err)
		}
		if keywordFound(t, vs, "ninety", up.ID) {
			t.Errorf("%s: the deleted upload is still searchable", vs.ID())
		}
		if info, _ := vs.Info(ctx); info.FileCounts.Total != 0 || info.UsageBytes != 0 {
			t.Errorf("%s after delete: %+v", vs.ID(), info)
		}
	}
	if _, err := db.Upload(ctx, up.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Upload after delete = %v", err)
	}
	// The twin keeps the shared bytes.
	_, r, err := db.OpenUpload(ctx, twin.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if string(got) != big {
		t.Errorf("twin's content = %d bytes, want %d", len(got), len(big))
	}
	if err := db.DeleteUpload(ctx, twin.ID); err != nil {
		t.Fatal(err)
	}
	if recs, files := contentRecords(t, db); recs != 0 || files != 0 {
		t.Errorf("after deleting both: %d content records, %d blob files", recs, files)
	}
	if err := db.DeleteUpload(ctx, twin.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteUpload twice = %v, want ErrNotFound", err)
	}
	// A vector-store delete unlinks its attached files.
	small := upload(t, db, "coffee.txt", corpus["coffee.txt"])
	attach(t, b, small.ID, nil)
	if err := b.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	checkUploadRecords(t, db, 0) // a link left behind is "a link without its file"
	if err := db.DeleteUpload(ctx, small.ID); err != nil {
		t.Fatalf("DeleteUpload after its vector store was deleted = %v", err)
	}
}

func TestUploadLimits(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	for _, n := range []int{101, uploadInlineMax + 10} {
		_, err := db.UploadFile(ctx, UploadParams{Filename: "x", Body: strings.NewReader(strings.Repeat("x", n)), MaxBytes: 100})
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("UploadFile(%d bytes, max 100) = %v, want ErrTooLarge", n, err)
		}
	}
	if ups, _ := db.Uploads(ctx, ""); len(ups) != 0 {
		t.Errorf("uploads after failures: %v", ups)
	}
	entries, _ := os.ReadDir(filepath.Join(db.Dir(), "blobs"))
	if len(entries) != 0 {
		t.Errorf("blobs after failed uploads: %v", entries)
	}
	// A staged file is recorded only by Commit.
	s, err := db.StageFile(ctx, UploadParams{Filename: "s.txt", Body: strings.NewReader(strings.Repeat("y", uploadInlineMax+1))})
	if err != nil {
		t.Fatal(err)
	}
	s.Discard()
	if entries, _ := os.ReadDir(filepath.Join(db.Dir(), "blobs")); len(entries) != 0 {
		t.Errorf("blobs after Discard: %v", entries)
	}
	if _, err := s.Commit(ctx, CommitParams{Purpose: "assistants"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Commit after Discard = %v, want ErrInvalid", err)
	}
}

// TestBatchValidatesBeforeEffect: a batch whose last item is invalid
// attaches nothing.
func TestBatchValidatesBeforeEffect(t *testing.T) {
	ctx := context.Background()
	db, vs := openWithStore(t, t.TempDir())
	defer db.Close()
	a, b := upload(t, db, "keys.md", corpus["keys.md"]), upload(t, db, "deploy.md", corpus["deploy.md"])
	long := strings.Repeat("x", 513)
	bad := [][]BatchFile{
		{{FileID: a.ID}, {FileID: b.ID, Attributes: map[string]any{"k": long}}},
		{{FileID: a.ID}, {FileID: b.ID, Chunking: chunk.Strategy{Type: chunk.Static, MaxTokens: 50}}},
		{{FileID: a.ID}, {FileID: "file-nosuch"}},
		{{FileID: a.ID}, {FileID: ""}},
	}
	for i, items := range bad {
		if _, err := vs.CreateFileBatch(ctx, items); !errors.Is(err, ErrInvalid) {
			t.Errorf("batch %d: CreateFileBatch = %v, want ErrInvalid", i, err)
		}
	}
	if files, _ := vs.AllFiles(ctx); len(files) != 0 {
		t.Errorf("invalid batches attached %d files", len(files))
	}
	if info, _ := vs.Info(ctx); info.FileCounts.Total != 0 {
		t.Errorf("counts after invalid batches = %+v", info.FileCounts)
	}
	fb, err := vs.CreateFileBatch(ctx, []BatchFile{{FileID: a.ID, Attributes: map[string]any{"n": 1}}, {FileID: b.ID}, {FileID: a.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if fb.FileCounts.Total != 2 {
		t.Errorf("batch counts = %+v, want 2 files (a duplicate counted once)", fb.FileCounts)
	}
	for _, id := range []string{a.ID, b.ID} {
		vs.WaitFile(ctx, id)
	}
	fb, err = vs.FileBatch(ctx, fb.ID)
	if err != nil || fb.Status != StatusCompleted || fb.FileCounts.Completed != 2 {
		t.Errorf("FileBatch = %+v, %v", fb, err)
	}
	files, err := vs.FileBatchFiles(ctx, fb.ID, StatusCompleted)
	if err != nil || len(files) != 2 || files[0].Attributes["n"] != 1.0 {
		t.Errorf("FileBatchFiles = %+v, %v", files, err)
	}
	if _, err := vs.FileBatchFiles(ctx, fb.ID, "bogus"); !errors.Is(err, ErrInvalid) {
		t.Errorf("FileBatchFiles(bogus) = %v", err)
	}
	if _, err := vs.FileBatch(ctx, "vsfb_nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("FileBatch(unknown) = %v", err)
	}
}

// gateEmbedder blocks every Embed call until released, and reports the
// first call on started.
type gateEmbedder struct {
	embed.Embedder
	started chan struct{}
	release chan struct{}
}

func (g *gateEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case g.started <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Embedder.Embed(ctx, texts)
}

// TestCancelBatch: cancelling a batch while one file is being embedded and
// the others are queued cancels them all; none is ever indexed, and the
// batch ends cancelled.
func TestCancelBatch(t *testing.T) {
	ctx := context.Background()
	gate := &gateEmbedder{Embedder: embed.NewLocal(0), started: make(chan struct{}, 1), release: make(chan struct{})}
	db := openTest(t, t.TempDir(), Options{Embedder: gate, Workers: 1})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	var items []BatchFile
	for i := range 5 {
		up := upload(t, db, fmt.Sprintf("f%d.txt", i), fmt.Sprintf("file %d about cancelterm%d", i, i))
		items = append(items, BatchFile{FileID: up.ID})
	}
	fb, err := vs.CreateFileBatch(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if fb.Status != StatusInProgress || fb.FileCounts.InProgress != 5 {
		t.Fatalf("new batch = %+v", fb)
	}
	<-gate.started // one file is being ingested, four are queued
	fb, err = vs.CancelFileBatch(ctx, fb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fb.Status != StatusCancelled || fb.FileCounts.Cancelled != 5 || fb.FileCounts.InProgress != 0 {
		t.Errorf("cancelled batch = %+v, want cancelled with 5 cancelled files", fb)
	}
	close(gate.release)
	for _, it := range items {
		f, err := vs.WaitFile(ctx, it.FileID)
		if err != nil || f.Status != StatusCancelled || f.Chunks != 0 {
			t.Errorf("file after cancel = %+v, %v", f, err)
		}
	}
	// The worker is done with the file it held when it takes the next job:
	// ingest one more file and check nothing of the batch got indexed.
	extra := upload(t, db, "extra.txt", "an extra file about unrelated things")
	attach(t, vs, extra.ID, nil)
	for i := range 5 {
		if keywordFound(t, vs, fmt.Sprintf("cancelterm%d", i), items[i].FileID) {
			t.Errorf("cancelled file %d is searchable", i)
		}
	}
	info, _ := vs.Info(ctx)
	if info.FileCounts.Cancelled != 5 || info.FileCounts.InProgress != 0 || info.FileCounts.Completed != 1 {
		t.Errorf("vector store counts = %+v", info.FileCounts)
	}
	if fb, _ = vs.FileBatch(ctx, fb.ID); fb.Status != StatusCancelled {
		t.Errorf("batch later = %+v", fb)
	}
	files, _ := vs.FileBatchFiles(ctx, fb.ID, StatusCancelled)
	if len(files) != 5 {
		t.Errorf("cancelled files of the batch = %d, want 5", len(files))
	}
}

// TestCancelFile: a single in-progress file is cancelled through the Go
// API, for an attached file and for one added with AddFile.
func TestCancelFile(t *testing.T) {
	ctx := context.Background()
	gate := &gateEmbedder{Embedder: embed.NewLocal(0), started: make(chan struct{}, 1), release: make(chan struct{})}
	db := openTest(t, t.TempDir(), Options{Embedder: gate, Workers: 1})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	up := upload(t, db, "a.txt", "attached cancelme text")
	if _, err := vs.AttachFile(ctx, up.ID, nil, chunk.Strategy{}); err != nil {
		t.Fatal(err)
	}
	added, err := vs.AddFile(ctx, FileInput{Name: "b.txt", Body: strings.NewReader("added cancelme text")})
	if err != nil {
		t.Fatal(err)
	}
	<-gate.started
	for _, id := range []string{up.ID, added.ID} {
		f, err := vs.CancelFile(ctx, id)
		if err != nil || f.Status != StatusCancelled {
			t.Errorf("CancelFile(%s) = %+v, %v", id, f, err)
		}
	}
	close(gate.release)
	for _, id := range []string{up.ID, added.ID} {
		if f, _ := vs.WaitFile(ctx, id); f.Status != StatusCancelled {
			t.Errorf("file %s later = %s", id, f.Status)
		}
	}
	done := attach(t, vs, upload(t, db, "c.txt", "other").ID, nil)
	if f, err := vs.CancelFile(ctx, done.ID); err != nil || f.Status != StatusCompleted {
		t.Errorf("CancelFile(completed) = %+v, %v; want it unchanged", f, err)
	}
	if keywordFound(t, vs, "cancelme", up.ID) || keywordFound(t, vs, "cancelme", added.ID) {
		t.Error("a cancelled file is searchable")
	}
	if _, err := vs.CancelFile(ctx, "file-nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("CancelFile(unknown) = %v", err)
	}
}

// writeLegacyUploads writes uploads/ as quarry's server did before the
// store owned uploads: an upload's bytes in uploads/<id>, and index.json
// with the uploads, the links to each copy's store file id and batches.
func writeLegacyUploads(t *testing.T, dir string, idx map[string]any, blobs map[string]string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "uploads"), 0o700)
	for id, body := range blobs {
		if err := os.WriteFile(filepath.Join(dir, "uploads", id), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	data, _ := json.Marshal(idx)
	if err := os.WriteFile(filepath.Join(dir, "uploads", "index.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateLegacyUploads: a DB with the server's old uploads/index.json
// (built as the old server did: each attach an AddFile copy under its own
// id) is migrated on Open, once, without loss.
func TestMigrateLegacyUploads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, vs := openWithStore(t, dir)
	var pad strings.Builder
	for i := range 8000 {
		fmt.Fprintf(&pad, "padding%d ", i*7919%100003)
	}
	big := "# Big\n\nthe big file mentions zebracorn " + pad.String()
	bodies := map[string]string{"file-up1": corpus["keys.md"], "file-up2": big, "file-up3": corpus["coffee.txt"]}
	// The old server's copies: up1 completed, up2 completed, up3 (the copy
	// deleted from the vector store) only an upload.
	copy1 := addText(t, vs, "keys.md", bodies["file-up1"], map[string]any{"team": "sec"})
	copy2 := addText(t, vs, "big.md", bodies["file-up2"], nil)
	direct := addText(t, vs, "deploy.md", corpus["deploy.md"], nil) // a multipart attach: no upload
	vsID := vs.ID()
	db.Close()
	idx := map[string]any{
		"version": 1,
		"uploads": map[string]any{
			"file-up1": map[string]any{"id": "file-up1", "object": "file", "bytes": len(bodies["file-up1"]), "created_at": 100, "filename": "keys.md", "purpose": "assistants", "status": "processed"},
			"file-up2": map[string]any{"id": "file-up2", "object": "file", "bytes": len(big), "created_at": 101, "filename": "big.md", "purpose": "assistants", "status": "processed"},
			"file-up3": map[string]any{"id": "file-up3", "object": "file", "bytes": len(bodies["file-up3"]), "created_at": 102, "filename": "coffee.txt", "purpose": "user_data", "status": "processed"},
		},
		"links": map[string]any{
			"file-up1": map[string]any{vsID: copy1.ID},
			"file-up2": map[string]any{vsID: copy2.ID},
		},
		"batches": map[string]any{
			"vsfb_1": map[string]any{"id": "vsfb_1", "vector_store_id": vsID, "created_at": 103, "file_ids": []string{"file-up1", direct.ID}},
		},
	}
	writeLegacyUploads(t, dir, idx, bodies)

	for round := range 2 { // the second Open finds nothing to migrate
		if round == 1 {
			// As if the first Open crashed after its commit and before
			// removing uploads/: the migration must not run twice.
			writeLegacyUploads(t, dir, idx, bodies)
		}
		db = openTest(t, dir, Options{})
		checkUploadRecords(t, db, round)
		vs, err := db.VectorStore(vsID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "uploads")); !os.IsNotExist(err) {
			t.Errorf("round %d: uploads/ still exists: %v", round, err)
		}
		ups, err := db.Uploads(ctx, "")
		if err != nil || len(ups) != 3 {
			t.Fatalf("round %d: Uploads = %v, %v", round, ups, err)
		}
		for id, body := range bodies {
			up, r, err := db.OpenUpload(ctx, id)
			if err != nil {
				t.Fatalf("round %d: OpenUpload(%s) = %v", round, id, err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if !bytes.Equal(got, []byte(body)) || up.Bytes != int64(len(body)) {
				t.Errorf("round %d: %s content = %d bytes, want %d", round, id, len(got), len(body))
			}
		}
		if up, _ := db.Upload(ctx, "file-up3"); up.Purpose != "user_data" || up.CreatedAt != 102 {
			t.Errorf("round %d: up3 = %+v", round, up)
		}
		files, _ := vs.AllFiles(ctx)
		if len(files) != 3 {
			t.Errorf("round %d: %d files in the vector store, want 3", round, len(files))
		}
		for _, tc := range []struct{ id, term, text string }{
			{"file-up1", "ninety", corpus["keys.md"]}, {"file-up2", "zebracorn", "# Big\n\nthe big file mentions zebracorn"}, {direct.ID, "rollback", corpus["deploy.md"]},
		} {
			f, err := vs.File(ctx, tc.id)
			if err != nil || f.Status != StatusCompleted {
				t.Errorf("round %d: File(%s) = %+v, %v", round, tc.id, f, err)
				continue
			}
			if !keywordFound(t, vs, tc.term, tc.id) || !vectorFound(t, vs, tc.text, tc.id) {
				t.Errorf("round %d: %s not found by %q under its upload id", round, tc.id, tc.term)
			}
		}
		if f, _ := vs.File(ctx, "file-up1"); f == nil || f.Attributes["team"] != "sec" || !f.Attached {
			t.Errorf("round %d: migrated file = %+v", round, f)
		}
		for _, old := range []string{copy1.ID, copy2.ID} {
			if _, err := vs.File(ctx, old); !errors.Is(err, ErrNotFound) {
				t.Errorf("round %d: the old copy id %s still answers: %v", round, old, err)
			}
		}
		fb, err := vs.FileBatch(ctx, "vsfb_1")
		if err != nil || fb.FileCounts.Completed != 2 || fb.Status != StatusCompleted {
			t.Errorf("round %d: batch = %+v, %v", round, fb, err)
		}
		db.Close()
	}
	// Deleting the migrated upload removes it from the vector store.
	db = openTest(t, dir, Options{})
	defer db.Close()
	vs, _ = db.VectorStore(vsID)
	if err := db.DeleteUpload(ctx, "file-up2"); err != nil {
		t.Fatal(err)
	}
	if keywordFound(t, vs, "zebracorn", "file-up2") {
		t.Error("deleted migrated upload is still searchable")
	}
	if recs, files := contentRecords(t, db); recs != 2 || files != 0 {
		t.Errorf("after deleting the big upload: %d content records, %d blob files; want 2, 0", recs, files)
	}
}

// TestReattachWhileIngesting: an upload detached and attached again with
// another chunking strategy while a worker still ingests the first attach
// ends completed, chunked with the new strategy.
func TestReattachWhileIngesting(t *testing.T) {
	ctx := context.Background()
	gate := &gateEmbedder{Embedder: embed.NewLocal(0), started: make(chan struct{}, 1), release: make(chan struct{})}
	db := openTest(t, t.TempDir(), Options{Embedder: gate, Workers: 1})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for i := range 600 {
		fmt.Fprintf(&text, "word%d ", i)
	}
	up := upload(t, db, "a.txt", text.String())
	small := chunk.Strategy{Type: chunk.Static, MaxTokens: 100, OverlapTokens: 0}
	large := chunk.Strategy{Type: chunk.Static, MaxTokens: 1000, OverlapTokens: 0}
	if _, err := vs.AttachFile(ctx, up.ID, nil, small); err != nil {
		t.Fatal(err)
	}
	<-gate.started // the worker holds the first attach
	if err := vs.DeleteFile(ctx, up.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := vs.AttachFile(ctx, up.ID, nil, large); err != nil {
		t.Fatal(err)
	}
	close(gate.release)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	f, err := vs.WaitFile(wctx, up.ID)
	if err != nil || f.Status != StatusCompleted {
		t.Fatalf("re-attached file = %+v, %v", f, err)
	}
	ref, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "ref"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.AttachFile(ctx, up.ID, nil, large)
	if err == nil {
		want, err = ref.WaitFile(ctx, up.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	if f.ChunkingStrategy != large || f.Chunks != want.Chunks {
		t.Errorf("re-attached file: strategy %+v, %d chunks; want %+v and %d chunks", f.ChunkingStrategy, f.Chunks, large, want.Chunks)
	}
}

// TestAttachedToTwoStoresResumes: one upload attached to two vector stores
// is two ingestion jobs, also when both resume at Open.
func TestAttachedToTwoStoresResumes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gate := &gateEmbedder{Embedder: embed.NewLocal(0), started: make(chan struct{}, 1), release: make(chan struct{})}
	db := openTest(t, dir, Options{Embedder: gate, Workers: 1})
	up := upload(t, db, "a.txt", "shared between two stores")
	var ids []string
	for _, name := range []string{"a", "b"} {
		vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := vs.AttachFile(ctx, up.ID, nil, chunk.Strategy{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, vs.ID())
	}
	<-gate.started
	db.Close() // both in progress
	db = openTest(t, dir, Options{})
	defer db.Close()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, id := range ids {
		vs, _ := db.VectorStore(id)
		if f, err := vs.WaitFile(wctx, up.ID); err != nil || f.Status != StatusCompleted {
			t.Errorf("%s: resumed file = %+v, %v", id, f, err)
		}
	}
}
