package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/filter"
)

func openTest(t *testing.T, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v", dir, err)
	}
	return db
}

// openWithStore opens a DB in dir with the default options and creates a
// vector store "kb" in it.
func openWithStore(t *testing.T, dir string) (*DB, *VectorStore) {
	t.Helper()
	db := openTest(t, dir, Options{})
	vs, err := db.CreateVectorStore(context.Background(), VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	return db, vs
}

func addText(t *testing.T, vs *VectorStore, name, text string, attrs map[string]any) *File {
	t.Helper()
	ctx := context.Background()
	f, err := vs.AddFile(ctx, FileInput{Name: name, Body: strings.NewReader(text), Attributes: attrs})
	if err != nil {
		t.Fatalf("AddFile(%s) = %v", name, err)
	}
	f, err = vs.WaitFile(ctx, f.ID)
	if err != nil {
		t.Fatalf("WaitFile(%s) = %v", name, err)
	}
	return f
}

var corpus = map[string]string{
	"keys.md":    "# API keys\n\n## Rotation\n\nRotate every production key every ninety days. Revoke the old key after the new one is deployed.\n",
	"coffee.txt": "The espresso machine on the second floor is descaled every Monday morning.\n",
	"deploy.md":  "# Deploys\n\nRoll back a bad deploy with deployctl rollback and watch the error rate.\n",
}

func TestEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb", Metadata: map[string]string{"team": "infra"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for name, text := range corpus {
		f := addText(t, vs, name, text, map[string]any{"kind": strings.TrimPrefix(filepath.Ext(name), "."), "n": len(text)})
		if f.Status != StatusCompleted {
			t.Fatalf("file %s status = %s (%v), want completed", name, f.Status, f.LastError)
		}
		if f.Chunks != 1 || f.UsageBytes <= int64(len(text)) {
			t.Errorf("file %s: chunks = %d, usage = %d", name, f.Chunks, f.UsageBytes)
		}
		ids[name] = f.ID
	}
	info, err := vs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FileCounts != (FileCounts{Completed: 3, Total: 3}) || info.Status != "completed" {
		t.Errorf("Info() counts = %+v status %s", info.FileCounts, info.Status)
	}
	res, err := vs.Search(ctx, SearchRequest{Query: []string{"how often should keys be rotated"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) == 0 || res.Data[0].Filename != "keys.md" {
		t.Fatalf("Search(rotate keys) first = %+v, want keys.md", res.Data)
	}
	top := res.Data[0].Content[0]
	if top.Score <= 0 || top.Score > 1 || top.Tokens == 0 || top.CharEnd <= top.CharStart {
		t.Errorf("top chunk = %+v", top)
	}
	text, err := vs.FileContent(ctx, ids["keys.md"])
	if err != nil || text != corpus["keys.md"] {
		t.Errorf("FileContent = %q, %v", text, err)
	}
	if got := []rune(text)[top.CharStart:top.CharEnd]; string(got) != top.Text {
		t.Errorf("char range %d-%d does not point at the chunk text", top.CharStart, top.CharEnd)
	}
	for _, r := range res.Data {
		for _, c := range r.Content {
			if c.Score < 0 || c.Score > 1 {
				t.Errorf("score %v out of 0..1", c.Score)
			}
		}
	}

	// Filters apply before retrieval.
	f, err := filter.Parse([]byte(`{"type":"eq","key":"kind","value":"txt"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err = vs.Search(ctx, SearchRequest{Query: []string{"rotate keys"}, Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Data {
		if r.Filename != "coffee.txt" {
			t.Errorf("filtered search returned %s", r.Filename)
		}
	}

	// Attribute updates reach the filters.
	if _, err := vs.UpdateFileAttributes(ctx, ids["keys.md"], map[string]any{"kind": "txt"}); err != nil {
		t.Fatal(err)
	}
	res, err = vs.Search(ctx, SearchRequest{Query: []string{"rotate keys"}, Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) == 0 || res.Data[0].Filename != "keys.md" {
		t.Errorf("after attribute update, filtered search = %+v, want keys.md first", res.Data)
	}

	// Deleted files contribute nothing, before and after reopening.
	if err := vs.DeleteFile(ctx, ids["keys.md"]); err != nil {
		t.Fatal(err)
	}
	checkGone := func(db *DB) {
		t.Helper()
		vs, err := db.VectorStore(vs.ID())
		if err != nil {
			t.Fatal(err)
		}
		res, err := vs.Search(ctx, SearchRequest{Query: []string{"rotate production key ninety days"}, MaxResults: 50})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Data {
			if r.FileID == ids["keys.md"] {
				t.Errorf("deleted file returned by search")
			}
		}
		if _, err := vs.File(ctx, ids["keys.md"]); !errors.Is(err, ErrNotFound) {
			t.Errorf("File(deleted) = %v, want ErrNotFound", err)
		}
		info, _ := vs.Info(ctx)
		if info.FileCounts != (FileCounts{Completed: 2, Total: 2}) {
			t.Errorf("counts after delete = %+v", info.FileCounts)
		}
	}
	checkGone(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := vs.Search(ctx, SearchRequest{Query: []string{"x"}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Search after Close = %v, want ErrClosed", err)
	}
	db = openTest(t, dir, Options{})
	defer db.Close()
	checkGone(db)
}

func TestUnsupportedAndInvalid(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	f := addText(t, vs, "image.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", nil)
	if f.Status != StatusFailed || f.LastError == nil || f.LastError.Code != CodeUnsupportedFile {
		t.Errorf("png: status %s, error %+v; want failed unsupported_file", f.Status, f.LastError)
	}
	broken := addText(t, vs, "broken.pdf", "%PDF-1.4\n1 0 obj << /Type /Catalog", nil)
	if broken.Status != StatusFailed || broken.LastError == nil || broken.LastError.Code != CodeInvalidFile {
		t.Errorf("broken pdf: status %s, error %+v; want failed invalid_file", broken.Status, broken.LastError)
	} else if m := broken.LastError.Message; m == "" || strings.Contains(m, "broken.pdf") || strings.Contains(m, "invalid_file") {
		t.Errorf("broken pdf: message %q should say what is wrong without repeating the file name or code", m)
	}
	good := addText(t, vs, "ok.txt", "fine text", nil)
	if good.Status != StatusCompleted {
		t.Errorf("a good file after a bad one: %s", good.Status)
	}
	info, _ := vs.Info(ctx)
	if info.FileCounts != (FileCounts{Completed: 1, Failed: 2, Total: 3}) {
		t.Errorf("counts = %+v", info.FileCounts)
	}
	for _, tc := range []struct {
		name string
		in   FileInput
	}{
		{"bad strategy", FileInput{Name: "a.txt", Body: strings.NewReader("a"), Chunking: chunk.Strategy{Type: chunk.Static, MaxTokens: 50}}},
		{"overlap", FileInput{Name: "a.txt", Body: strings.NewReader("a"), Chunking: chunk.Strategy{Type: chunk.Static, MaxTokens: 200, OverlapTokens: 150}}},
		{"attr type", FileInput{Name: "a.txt", Body: strings.NewReader("a"), Attributes: map[string]any{"x": []int{1}}}},
		{"long attr", FileInput{Name: "a.txt", Body: strings.NewReader("a"), Attributes: map[string]any{"x": strings.Repeat("a", 513)}}},
	} {
		if _, err := vs.AddFile(ctx, tc.in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AddFile = %v, want ErrInvalid", tc.name, err)
		}
	}
}

func TestSearchValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  SearchRequest
		ok   bool
	}{
		{"plain", SearchRequest{Query: []string{"a"}}, true},
		{"empty", SearchRequest{}, false},
		{"blank", SearchRequest{Query: []string{" "}}, false},
		{"too many", SearchRequest{Query: []string{"a"}, MaxResults: 51}, false},
		{"ranker", SearchRequest{Query: []string{"a"}, Ranking: RankingOptions{Ranker: "best"}}, false},
		{"threshold", SearchRequest{Query: []string{"a"}, Ranking: RankingOptions{ScoreThreshold: 1.5}}, false},
		{"weights", SearchRequest{Query: []string{"a"}, Ranking: RankingOptions{Hybrid: &HybridWeights{}}}, false},
		{"filter", SearchRequest{Query: []string{"a"}, Filter: &filter.Filter{Type: "eq"}}, false},
	} {
		err := tc.req.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v does not match ErrInvalid", tc.name, err)
		}
	}
}

func TestVectorStoresNewestFirst(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	for i := range 7 {
		if _, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: fmt.Sprint("s", i)}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.VectorStores(ctx)
	if err != nil || len(all) != 7 {
		t.Fatalf("VectorStores = %d, %v; want 7", len(all), err)
	}
	for i := 1; i < len(all); i++ {
		if newestFirst(all[i-1].CreatedAt, all[i-1].ID, all[i].CreatedAt, all[i].ID) >= 0 {
			t.Errorf("VectorStores[%d], [%d] = %s, %s: not newest first", i-1, i, all[i-1].ID, all[i].ID)
		}
	}
}

func TestModifyAndDeleteVectorStore(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	name := "b"
	info, err := vs.Update(ctx, VectorStoreUpdate{Name: &name, Metadata: map[string]string{"k": "v"}, ExpiresAfter: &ExpiresAfter{Days: 7}})
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "b" || info.Metadata["k"] != "v" || info.ExpiresAt == nil || *info.ExpiresAt != info.LastActiveAt+7*86400 {
		t.Errorf("Update() = %+v", info)
	}
	if _, err := vs.Update(ctx, VectorStoreUpdate{ExpiresAfter: &ExpiresAfter{Days: 400}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("400 days: %v, want ErrInvalid", err)
	}
	addText(t, vs, "a.txt", "some text", nil)
	if err := vs.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.VectorStore(vs.ID()); !errors.Is(err, ErrNotFound) {
		t.Errorf("VectorStore(deleted) = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(filepath.Join(db.Dir(), "indexes", vs.ID())); !os.IsNotExist(err) {
		t.Errorf("index directory of a deleted store remains: %v", err)
	}
}

func TestEmbedderMismatchAndReembed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, vs := openWithStore(t, dir)
	addText(t, vs, "keys.md", corpus["keys.md"], nil)
	db.Close()

	db = openTest(t, dir, Options{Embedder: embed.NewLocal(64)})
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	if _, err := vs.Search(ctx, SearchRequest{Query: []string{"keys"}}); !errors.Is(err, ErrEmbedderMismatch) {
		t.Fatalf("Search with another embedder = %v, want ErrEmbedderMismatch", err)
	}
	if _, err := vs.AddFile(ctx, FileInput{Name: "x.txt", Body: strings.NewReader("x")}); !errors.Is(err, ErrEmbedderMismatch) {
		t.Errorf("AddFile with another embedder = %v, want ErrEmbedderMismatch", err)
	}
	if err := db.Reembed(ctx, vs.ID()); err != nil {
		t.Fatal(err)
	}
	res, err := vs.Search(ctx, SearchRequest{Query: []string{"rotate keys"}})
	if err != nil || len(res.Data) == 0 {
		t.Fatalf("Search after Reembed = %+v, %v", res, err)
	}
	info, _ := vs.Info(ctx)
	if info.Embedder.Dimensions != 64 {
		t.Errorf("embedder after Reembed = %v", info.Embedder)
	}
}

// TestResumeAfterClose closes the DB while files are queued: they must be
// ingested at the next Open, none lost, none duplicated.
func TestResumeAfterClose(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{Workers: 1})
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for i := range n {
		body := fmt.Sprintf("document %d talks about topic%d and shared words", i, i)
		if _, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = openTest(t, dir, Options{})
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := vs.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.FileCounts.InProgress == 0 {
			if info.FileCounts != (FileCounts{Completed: n, Total: n}) {
				t.Fatalf("counts = %+v, want %d completed", info.FileCounts, n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("files still in progress: %+v", info.FileCounts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	res, err := vs.Search(ctx, SearchRequest{Query: []string{"topic17"}, MaxResults: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Data) == 0 || res.Data[0].Filename != "f17.txt" {
		t.Errorf("Search(topic17) = %+v, want f17.txt first", res.Data)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "blobs"))
	if len(entries) != 0 {
		t.Errorf("%d blobs left after ingestion", len(entries))
	}
}

// TestVectorIndexPersistence reopens a store with its saved graph, then
// with the graph corrupted: results are the same each time.
func TestVectorIndexPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, vs := openWithStore(t, dir)
	for i := range 30 {
		addText(t, vs, fmt.Sprintf("f%d.txt", i), fmt.Sprintf("text number %d about thing%d", i, i), nil)
	}
	req := SearchRequest{Query: []string{"thing7 text"}, Ranking: RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{EmbeddingWeight: 1}}}
	want, err := vs.Search(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	graph := filepath.Join(dir, "indexes", vs.ID(), "vectors.hnsw")
	if _, err := os.Stat(graph); err != nil {
		t.Fatalf("no saved graph after Close: %v", err)
	}
	// check reopens the DB, searches, and says whether the open loaded the
	// saved graph or rebuilt it (which logs for a corrupt file, and always
	// saves a new file in place of the old one).
	check := func(what string, wantRebuild bool) {
		t.Helper()
		before, err := os.Stat(graph)
		if err != nil {
			t.Fatal(err)
		}
		var logged bytes.Buffer
		db := openTest(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
		defer db.Close()
		after, err := os.Stat(graph)
		if err != nil {
			t.Fatal(err)
		}
		if rebuilt := !os.SameFile(before, after); rebuilt != wantRebuild {
			t.Errorf("%s: graph rebuilt = %v, want %v", what, rebuilt, wantRebuild)
		}
		if warned := strings.Contains(logged.String(), "rebuilding the vector index"); warned != wantRebuild {
			t.Errorf("%s: rebuild warning = %v, want %v (log: %q)", what, warned, wantRebuild, logged.String())
		}
		vs, _ := db.VectorStore(vs.ID())
		got, err := vs.Search(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Data) != len(want.Data) {
			t.Fatalf("%s: %d results, want %d", what, len(got.Data), len(want.Data))
		}
		for i := range got.Data {
			if got.Data[i].FileID != want.Data[i].FileID {
				t.Errorf("%s: result %d = %s, want %s", what, i, got.Data[i].Filename, want.Data[i].Filename)
			}
		}
	}
	check("reopened", false)
	data, _ := os.ReadFile(graph)
	data[len(data)/2] ^= 0xff
	os.WriteFile(graph, data, 0o644)
	check("corrupt graph", true)
}

// countingEmbedder stands for a remote provider and counts the texts it
// is asked to embed.
type countingEmbedder struct {
	inner embed.Embedder
	mu    sync.Mutex
	texts int
}

func (c *countingEmbedder) Identity() embed.Identity {
	id := c.inner.Identity()
	id.Provider = "remote-test"
	return id
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	c.mu.Lock()
	c.texts += len(texts)
	c.mu.Unlock()
	return c.inner.Embed(ctx, texts)
}

// TestEmbedCache: re-indexing unchanged text, even after reopening, never
// asks a remote embedder again.
func TestEmbedCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	emb := &countingEmbedder{inner: embed.NewLocal(32)}
	db := openTest(t, dir, Options{Embedder: emb})
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	addText(t, vs, "a.txt", "the same words in a file", nil)
	first := emb.texts
	if first == 0 {
		t.Fatal("the embedder was never called")
	}
	db.Close()
	db = openTest(t, dir, Options{Embedder: emb})
	defer db.Close()
	vs, _ = db.VectorStore(vs.ID())
	addText(t, vs, "b.txt", "the same words in a file", nil)
	if emb.texts != first {
		t.Errorf("re-indexing unchanged text embedded %d more texts", emb.texts-first)
	}
}

func TestSearchSeveralStores(t *testing.T) {
	ctx := context.Background()
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	a, _ := db.CreateVectorStore(ctx, VectorStoreParams{Name: "a"})
	b, _ := db.CreateVectorStore(ctx, VectorStoreParams{Name: "b"})
	for i := range 4 {
		addText(t, a, fmt.Sprintf("a%d.txt", i), fmt.Sprintf("glacier report %d from store a", i), nil)
		addText(t, b, fmt.Sprintf("b%d.txt", i), fmt.Sprintf("glacier report %d from store b", i), nil)
	}
	res, err := db.Search(ctx, []string{a.ID(), b.ID(), a.ID()}, SearchRequest{Query: []string{"glacier report"}, MaxResults: 5})
	if err != nil {
		t.Fatal(err)
	}
	n, stores := 0, map[string]bool{}
	for _, r := range res.Data {
		stores[r.VectorStoreID] = true
		n += len(r.Content)
		if !strings.HasPrefix(r.Filename, map[string]string{a.ID(): "a", b.ID(): "b"}[r.VectorStoreID]) {
			t.Errorf("file %s reported in store %s", r.Filename, r.VectorStoreID)
		}
	}
	if n != 5 || !res.HasMore || len(stores) != 2 {
		t.Errorf("Search(a, b, a) = %d chunks from %d stores (has_more %v), want 5 from 2 with more", n, len(stores), res.HasMore)
	}
}

// negated is the local embedder with every vector negated, under another
// name: same dimensions, opposite geometry.
type negated struct{ embed.Embedder }

func (n negated) Identity() embed.Identity {
	id := n.Embedder.Identity()
	id.Model += "-negated"
	return id
}

func (n negated) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	vecs, err := n.Embedder.Embed(ctx, texts)
	for _, v := range vecs {
		for i := range v {
			v[i] = -v[i]
		}
	}
	return vecs, err
}

// TestReembedReplacesVectorGraph: after Reembed with an embedder of the
// same dimensions, vector search uses the new vectors, also after a
// reopen; the graph saved with the old vectors is not loaded again.
func TestReembedReplacesVectorGraph(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, vs := openWithStore(t, dir)
	for name, text := range corpus {
		addText(t, vs, name, text, nil)
	}
	db.Close()

	vectorsOnly := SearchRequest{Query: []string{corpus["coffee.txt"]}, MaxResults: 1,
		Ranking: RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{EmbeddingWeight: 1}}}
	check := func(db *DB, when string) {
		t.Helper()
		vs, err := db.VectorStore(vs.ID())
		if err != nil {
			t.Fatal(err)
		}
		res, err := vs.Search(ctx, vectorsOnly)
		if err != nil {
			t.Fatalf("%s: Search = %v", when, err)
		}
		if len(res.Data) != 1 || res.Data[0].Filename != "coffee.txt" || res.Data[0].Score < 0.99 {
			t.Fatalf("%s: a chunk's own text finds %+v, want coffee.txt scoring ~1", when, res.Data)
		}
	}
	neg := negated{embed.NewLocal(0)}
	db = openTest(t, dir, Options{Embedder: neg})
	if err := db.Reembed(ctx, vs.ID()); err != nil {
		t.Fatal(err)
	}
	check(db, "after Reembed")
	db.Close()
	db = openTest(t, dir, Options{Embedder: neg})
	defer db.Close()
	check(db, "after reopening")
}

// TestCountFilesReadsOnlyWhatItShows checks that a search counting files
// (the HTTP API's) returns what it returned when it read the whole
// candidate depth: the same files, chunks and scores, and the same
// has_more, for page sizes from one file to more files than match. A
// score threshold small enough to keep every candidate makes Search read
// the whole depth, which is the reference.
func TestCountFilesReadsOnlyWhatItShows(t *testing.T) {
	ctx := context.Background()
	db, vs := openWithStore(t, t.TempDir())
	defer db.Close()
	topics := []string{"rotating api keys", "database backups", "incident response", "vacation policy", "laptop encryption", "code review"}
	small := chunk.Strategy{Type: chunk.Static, MaxTokens: 100, OverlapTokens: 0}
	for i := range 24 {
		var sb strings.Builder
		for j := range 6 + i%5 {
			fmt.Fprintf(&sb, "Section %d of file %d covers %s and %s in some detail, with steps. ", j, i, topics[(i+j)%len(topics)], topics[(i*j+1)%len(topics)])
			sb.WriteString(strings.Repeat("More words about the usual procedures follow here. ", 8))
		}
		f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%02d.txt", i), Body: strings.NewReader(sb.String()), Chunking: small})
		if err != nil {
			t.Fatal(err)
		}
		if f, err = vs.WaitFile(ctx, f.ID); err != nil || f.Status != StatusCompleted {
			t.Fatalf("file %d: %v %v", i, f, err)
		}
	}
	for _, q := range []string{"rotating api keys", "backups of the database", "incident", "encryption of laptops and code review"} {
		for _, max := range []int{1, 2, 5, 10, 30} {
			got, err := vs.Search(ctx, SearchRequest{Query: []string{q}, MaxResults: max, CountFiles: true})
			if err != nil {
				t.Fatal(err)
			}
			want, err := vs.Search(ctx, SearchRequest{Query: []string{q}, MaxResults: max, CountFiles: true, Ranking: RankingOptions{ScoreThreshold: 1e-300}})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Data) == 0 || len(got.Data) > max {
				t.Fatalf("%q max %d: %d files", q, max, len(got.Data))
			}
			if got.HasMore != want.HasMore || len(got.Data) != len(want.Data) {
				t.Fatalf("%q max %d: %d files, has_more %v; reading the whole depth: %d, %v", q, max, len(got.Data), got.HasMore, len(want.Data), want.HasMore)
			}
			for i := range got.Data {
				g, w := got.Data[i], want.Data[i]
				if g.FileID != w.FileID || g.Score != w.Score || len(g.Content) != len(w.Content) {
					t.Fatalf("%q max %d, file %d: %s %.6f %d chunks; reading the whole depth: %s %.6f %d", q, max, i, g.FileID, g.Score, len(g.Content), w.FileID, w.Score, len(w.Content))
				}
				for j := range g.Content {
					if g.Content[j].ChunkID != w.Content[j].ChunkID || g.Content[j].Score != w.Content[j].Score {
						t.Fatalf("%q max %d, file %d chunk %d: %s %.6f; reading the whole depth: %s %.6f", q, max, i, j, g.Content[j].ChunkID, g.Content[j].Score, w.Content[j].ChunkID, w.Content[j].Score)
					}
				}
			}
		}
	}
}
