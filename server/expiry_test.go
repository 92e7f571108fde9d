package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

type testClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d += d
}

// serveWithClock opens a store in dir on clock c and serves it.
func serveWithClock(t *testing.T, dir string, c *testClock) *testServer {
	t.Helper()
	db, err := store.Open(context.Background(), dir, store.Options{Workers: 2, Clock: c.now, ReclaimInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := New(db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	hs := httptest.NewServer(h)
	t.Cleanup(func() { hs.Close(); db.Close() })
	return &testServer{t: t, db: db, url: hs.URL}
}

// eventually retries cond for up to 10 s.
func eventually(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

func (ts *testServer) uploadWith(filename, content string, fields map[string]string) (int, obj) {
	ts.t.Helper()
	body, ct := multipartBody(ts.t, filename, content, fields)
	req, _ := http.NewRequest("POST", ts.url+"/v1/files", body)
	req.Header.Set("Content-Type", ct)
	return ts.send(req)
}

// TestFileExpiry: a File uploaded with expires_after reports expires_at;
// past it, the File is gone (retrieve 404, not listed) and so is its copy
// in a vector store (not listed, not found by search, within the
// reclaimer's interval), also for a store reopened after the upload; a
// File without expiry stays.
func TestFileExpiry(t *testing.T) {
	dir := t.TempDir()
	clock := &testClock{}
	ts := serveWithClock(t, dir, clock)

	for _, bad := range []map[string]string{
		{"purpose": "assistants", "expires_after[anchor]": "created_at", "expires_after[seconds]": "60"},
		{"purpose": "assistants", "expires_after[anchor]": "created_at", "expires_after[seconds]": "2592001"},
		{"purpose": "assistants", "expires_after[anchor]": "last_active_at", "expires_after[seconds]": "3600"},
		{"purpose": "assistants", "expires_after[seconds]": "3600"},
	} {
		if code, out := ts.uploadWith("x.txt", "x", bad); code != 400 {
			t.Errorf("upload with %v = %d %v, want 400", bad, code, out)
		}
	}
	code, up := ts.uploadWith("tmp.txt", "the quetzal migration notes", map[string]string{
		"purpose": "assistants", "expires_after[anchor]": "created_at", "expires_after[seconds]": "3600"})
	if code != 200 || up["expires_at"] != up["created_at"].(float64)+3600 {
		t.Fatalf("upload with expires_after = %d %v, want expires_at = created_at + 3600", code, up)
	}
	tmp := up["id"].(string)
	keep := ts.upload("keep.txt", "the quetzal feeding notes")
	if got := ts.must("GET", "/v1/files/"+keep, nil); got["expires_at"] != nil {
		t.Errorf("upload without expiry: expires_at = %v, want null", got["expires_at"])
	}
	vs := ts.createVS("kb")
	for _, id := range []string{tmp, keep} {
		ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": id})
	}
	for _, id := range []string{tmp, keep} {
		deadline := time.Now().Add(10 * time.Second)
		for ts.must("GET", "/v1/vector_stores/"+vs+"/files/"+id, nil)["status"] != "completed" {
			if time.Now().After(deadline) {
				t.Fatalf("file %s not completed", id)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	found := func(ts *testServer, id string) bool {
		res := ts.must("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": "quetzal notes", "ranking_options": obj{"ranker": "none"}})
		for _, r := range res["data"].([]any) {
			if r.(obj)["file_id"] == id {
				return true
			}
		}
		return false
	}
	if !found(ts, tmp) || !found(ts, keep) {
		t.Fatalf("search before expiry does not find both files")
	}
	listed := func(ts *testServer, path, id string) bool {
		for _, x := range ts.must("GET", path, nil)["data"].([]any) {
			if x.(obj)["id"] == id {
				return true
			}
		}
		return false
	}

	clock.advance(3601 * time.Second)
	if code, out := ts.do("GET", "/v1/files/"+tmp, nil); code != 404 {
		t.Errorf("GET an expired file = %d %v, want 404", code, out)
	}
	if listed(ts, "/v1/files", tmp) || !listed(ts, "/v1/files", keep) {
		t.Errorf("file list after expiry: want %s gone and %s kept", tmp, keep)
	}
	if !eventually(func() bool { return !listed(ts, "/v1/vector_stores/"+vs+"/files", tmp) }) {
		t.Errorf("the expired file's copy is still in the vector store")
	}
	if found(ts, tmp) || !found(ts, keep) {
		t.Errorf("search after expiry: want %s gone and %s found", tmp, keep)
	}

	// A store reopened after the upload reclaims it too: expires_at is
	// kept with the upload.
	code, up = ts.uploadWith("later.txt", "later", map[string]string{
		"purpose": "assistants", "expires_after[anchor]": "created_at", "expires_after[seconds]": "7200"})
	if code != 200 {
		t.Fatalf("upload = %d %v", code, up)
	}
	ts.db.Close()
	clock2 := &testClock{d: clock.d + 7201*time.Second}
	ts2 := serveWithClock(t, dir, clock2)
	if code, out := ts2.do("GET", "/v1/files/"+up["id"].(string), nil); code != 404 {
		t.Errorf("a new server: GET an expired file = %d %v, want 404", code, out)
	}
	if code, _ := ts2.do("GET", "/v1/files/"+keep, nil); code != 200 {
		t.Errorf("a new server: GET a file without expiry = %d, want 200", code)
	}
}
