package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// mountSmall mounts a tmpfs of size bytes at a new directory, or skips the
// test when mounting is not permitted (it needs root or CAP_SYS_ADMIN).
func mountSmall(t *testing.T, size int64) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("skipping: cannot mount a %d MiB tmpfs at %s (%v); the full-disk test needs root or CAP_SYS_ADMIN", size>>20, mnt, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	return mnt
}

// fill writes files of zeros under dir until the filesystem is full and
// returns them; removing them frees the space again.
func fill(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	buf := make([]byte, 64<<10)
	for i := 0; ; i++ {
		p := filepath.Join(dir, fmt.Sprintf("ballast%d", i))
		f, err := os.Create(p)
		if err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return paths
			}
			t.Fatal(err)
		}
		paths = append(paths, p)
		for n := 0; n < 1<<20; n += len(buf) {
			if _, err = f.Write(buf); err != nil {
				break
			}
		}
		f.Close()
		if err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return paths
			}
			t.Fatal(err)
		}
	}
}

// TestDiskFull: on a full small filesystem, writes answer 507
// insufficient_storage in the error shape, searches keep answering 200
// from what is stored, and once space is freed every acknowledged file
// completes without a restart, and new uploads work.
func TestDiskFull(t *testing.T) {
	mnt := mountSmall(t, 32<<20)
	db, err := store.Open(context.Background(), filepath.Join(mnt, "store"), store.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hs := httptest.NewServer(New(db, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}))
	t.Cleanup(hs.Close)
	ts := &testServer{t: t, db: db, url: hs.URL}

	vs := ts.createVS("full")
	first := ts.upload("first.txt", "the river engine turns the mill wheel")
	ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": first})
	if f := ts.waitFile(vs, first); f["status"] != "completed" {
		t.Fatalf("first file: %v", f)
	}
	search := func(when string) {
		t.Helper()
		code, out := ts.do("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": "river engine"})
		if code != 200 {
			t.Errorf("search %s: %d %v, want 200", when, code, out)
			return
		}
		if len(out["data"].([]any)) == 0 {
			t.Errorf("search %s: no results, want the first file", when)
		}
	}
	search("before the disk is full")

	ballast := fill(t, mnt)
	if len(ballast) < 8 {
		t.Fatalf("filled the filesystem with %d MiB only", len(ballast))
	}
	// Leave about 3 MiB: a few uploads fit, and their ingestion commits
	// then find the disk full.
	for _, p := range ballast[len(ballast)-3:] {
		os.Remove(p)
	}
	ballast = ballast[:len(ballast)-3]
	// The store had room before the ballast, so it may still complete a few
	// writes in space it had allocated; upload until refused.
	text := strings.Repeat("river engine mill wheel water stone ", 8000) // ~290 KB
	var acked, markers []string
	refused := 0
	for i := 0; i < 60 && refused < 6; i++ {
		var code int
		var out obj
		marker := fmt.Sprintf("marker%c%c", 'a'+i/26, 'a'+i%26)
		text := marker + " " + text
		if i%2 == 0 {
			body, ct := multipartBody(t, fmt.Sprintf("f%d.txt", i), text, map[string]string{"purpose": "assistants"})
			req, _ := http.NewRequest("POST", ts.url+"/v1/files", body)
			req.Header.Set("Content-Type", ct)
			if code, out = ts.send(req); code == 200 {
				id := out["id"].(string)
				code, out = ts.do("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": id})
			}
		} else {
			body, ct := multipartBody(t, fmt.Sprintf("f%d.txt", i), text, nil)
			req, _ := http.NewRequest("POST", ts.url+"/v1/vector_stores/"+vs+"/files", body)
			req.Header.Set("Content-Type", ct)
			code, out = ts.send(req)
		}
		switch {
		case code == 200:
			acked = append(acked, out["id"].(string))
			markers = append(markers, marker)
			refused = 0
		case code == 507:
			refused++
			e, _ := out["error"].(obj)
			if e == nil || e["code"] != "insufficient_storage" || e["type"] != "server_error" {
				t.Errorf("507 not in the error shape: %v", out)
			}
		default:
			t.Fatalf("upload %d on a full disk: %d %v, want 200 or 507", i, code, out)
		}
	}
	if refused == 0 || len(acked) == 0 {
		t.Fatalf("%d uploads acknowledged and %d refused with 507, want some of each", len(acked), refused)
	}
	// A JSON write is refused too, and creates nothing.
	if code, out := ts.do("POST", "/v1/vector_stores", obj{"name": "x"}); code != 507 && code != 200 {
		t.Errorf("create vector store on a full disk: %d %v, want 507 (or 200 if it fit)", code, out)
	}
	inProgress := 0
	for _, id := range acked {
		if f := ts.must("GET", "/v1/vector_stores/"+vs+"/files/"+id, nil); f["status"] == "in_progress" {
			inProgress++
		} else if f["status"] != "completed" {
			t.Errorf("acknowledged file %s on a full disk: %v, want in_progress or completed", id, f)
		}
	}
	// While full: searches answer, for as long as the ingestion retries.
	for i := range 10 {
		search(fmt.Sprintf("while the disk is full (%d)", i))
		time.Sleep(200 * time.Millisecond)
	}

	for _, p := range ballast {
		os.Remove(p)
	}
	// Every acknowledged file completes without a restart.
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range acked {
		for {
			f := ts.must("GET", "/v1/vector_stores/"+vs+"/files/"+id, nil)
			if f["status"] == "completed" {
				break
			}
			if f["status"] != "in_progress" {
				t.Errorf("acknowledged file %s after space returned: %v, want completed", id, f)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("acknowledged file %s still in_progress 60 s after space returned", id)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	search("after space returned")
	// What was acknowledged is searchable once space returned.
	for i, id := range acked {
		res := ts.must("POST", "/v1/vector_stores/"+vs+"/search", obj{"query": markers[i], "ranking_options": obj{"hybrid_search": obj{"embedding_weight": 0, "text_weight": 1}}})
		if data := res["data"].([]any); len(data) == 0 || data[0].(obj)["file_id"] != id {
			t.Errorf("keyword search for %s after space returned: %v, want %s first", markers[i], res["data"], id)
		}
	}
	late := ts.upload("late.txt", "a late file about windmills")
	ts.must("POST", "/v1/vector_stores/"+vs+"/files", obj{"file_id": late})
	if f := ts.waitFile(vs, late); f["status"] != "completed" {
		t.Errorf("upload after space returned: %v", f)
	}
	t.Logf("%d uploads acknowledged (%d of them in_progress while the disk was full) and all completed after, %d refused with 507", len(acked), inProgress, refused)
}
