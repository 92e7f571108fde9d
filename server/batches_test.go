package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/store"
)

// TestBatchInvalidItemAttachesNothing: a batch whose last item has invalid
// attributes is a 400 and attaches none of the earlier items.
func TestBatchInvalidItemAttachesNothing(t *testing.T) {
	ts := newTestServer(t, Options{})
	vs := ts.createVS("kb")
	a, b := ts.upload("a.txt", "alpha text"), ts.upload("b.txt", "beta text")
	tooMany := obj{}
	for i := range 17 {
		tooMany[fmt.Sprint("k", i)] = i
	}
	code, out := ts.do("POST", "/v1/vector_stores/"+vs+"/file_batches", obj{"files": []obj{
		{"file_id": a}, {"file_id": b, "attributes": tooMany},
	}})
	if code != 400 {
		t.Fatalf("batch with invalid attributes on its last item = %d %v, want 400", code, out)
	}
	if l := ts.must("GET", "/v1/vector_stores/"+vs+"/files", nil)["data"].([]any); len(l) != 0 {
		t.Errorf("the invalid batch attached %d files", len(l))
	}
	if c := ts.must("GET", "/v1/vector_stores/"+vs, nil)["file_counts"].(obj); c["total"] != 0.0 {
		t.Errorf("file_counts = %v", c)
	}
}

// blockedEmbedder blocks every Embed call until its context ends.
type blockedEmbedder struct{ embed.Embedder }

func (blockedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestCancelBatchHTTP: .../cancel cancels the batch's files in progress:
// they and the batch end cancelled, counted in file_counts.cancelled.
func TestCancelBatchHTTP(t *testing.T) {
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{Workers: 1, Embedder: blockedEmbedder{embed.NewLocal(0)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hs := httptest.NewServer(New(db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(hs.Close)
	ts := &testServer{t: t, db: db, url: hs.URL}
	vs := ts.createVS("kb")
	ids := []string{ts.upload("a.txt", "alpha"), ts.upload("b.txt", "beta"), ts.upload("c.txt", "gamma")}
	bt := ts.must("POST", "/v1/vector_stores/"+vs+"/file_batches", obj{"file_ids": ids})
	if bt["status"] != "in_progress" {
		t.Fatalf("new batch = %v", bt)
	}
	path := "/v1/vector_stores/" + vs + "/file_batches/" + bt["id"].(string)
	got := ts.must("POST", path+"/cancel", nil)
	c := got["file_counts"].(obj)
	if got["status"] != "cancelled" || c["cancelled"] != 3.0 || c["in_progress"] != 0.0 {
		t.Errorf("cancel = %v, want cancelled with 3 cancelled files", got)
	}
	if got := ts.must("GET", path, nil); got["status"] != "cancelled" {
		t.Errorf("batch after cancel = %v", got)
	}
	l := ts.must("GET", path+"/files?filter=cancelled", nil)["data"].([]any)
	if len(l) != 3 {
		t.Errorf("cancelled files of the batch = %v", l)
	}
	for _, id := range ids {
		if f := ts.must("GET", "/v1/vector_stores/"+vs+"/files/"+id, nil); f["status"] != "cancelled" {
			t.Errorf("file %s = %v", id, f)
		}
	}
	if c := ts.must("GET", "/v1/vector_stores/"+vs, nil)["file_counts"].(obj); c["cancelled"] != 3.0 || c["in_progress"] != 0.0 {
		t.Errorf("vector store file_counts = %v", c)
	}
}
