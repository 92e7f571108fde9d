package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/chunk"
)

// uploadBody is the content of the upload with term; every fifth is large
// enough to live in blobs/, and every seventh repeats an earlier content
// (shared bytes).
func uploadBody(term string, n int64) string {
	if n%7 == 0 {
		return "shared content about the quick brown fox"
	}
	body := term + " about the quick brown fox " + strings.Repeat("more words ", 30)
	if n%5 == 0 {
		body += strings.Repeat("large padding ", uploadInlineMax/10)
	}
	return body
}

// uploadsChild runs concurrent uploads, attaches to the vector stores "a"
// and "b" (some twice), detaches and upload deletes, and searches, until
// killed, printing each acknowledgement: "uploaded ID TERM", "attached ID
// VS", "detaching ID VS" / "detached ID VS", "deleting ID" / "deleted ID"
// (before the call and after it returned).
func uploadsChild(dir string) {
	cycle := os.Getenv("QUARRY_CRASH_CYCLE")
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{Workers: 4})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var stores []*VectorStore
	for _, name := range []string{"a", "b"} {
		vs, err := db.VectorStoreByName(ctx, name)
		if err != nil {
			if vs, err = db.CreateVectorStore(ctx, VectorStoreParams{Name: name}); err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
		}
		stores = append(stores, vs)
	}
	fmt.Println("open")
	var mu sync.Mutex
	say := func(a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Println(a...)
	}
	check := func(err error) {
		if err != nil && !errors.Is(err, ErrNotFound) {
			say("error", err)
			os.Exit(1)
		}
	}
	old, _ := db.Uploads(ctx, "")
	var n atomic.Int64
	for w := range 4 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for {
				i := n.Add(1)
				term := fmt.Sprintf("u%sw%dn%dx", cycle, w, i)
				up, err := db.UploadFile(ctx, UploadParams{Filename: term + ".txt", Purpose: "assistants", Body: strings.NewReader(uploadBody(term, i))})
				check(err)
				say("uploaded", up.ID, term)
				for k, vs := range stores {
					if k == 1 && rng.IntN(2) == 0 {
						continue
					}
					for range 1 + rng.IntN(2) { // attaching twice is one file
						_, err := vs.AttachFile(ctx, up.ID, map[string]any{"w": w}, chunk.Strategy{})
						if errors.Is(err, ErrInvalid) {
							break // deleted meanwhile (an old upload)
						}
						check(err)
						say("attached", up.ID, vs.ID())
					}
				}
				victim := up.ID
				if len(old) > 0 && rng.IntN(2) == 0 {
					victim = old[rng.IntN(len(old))].ID
				}
				switch rng.IntN(4) {
				case 0:
					say("deleting", victim)
					check(db.DeleteUpload(ctx, victim))
					say("deleted", victim)
				case 1:
					vs := stores[rng.IntN(2)]
					say("detaching", victim, vs.ID())
					check(vs.DeleteFile(ctx, victim))
					say("detached", victim, vs.ID())
				}
			}
		}()
	}
	for {
		for _, vs := range stores {
			if _, err := vs.Search(ctx, SearchRequest{Query: []string{"quick brown fox"}}); err != nil {
				say("error", err)
				os.Exit(1)
			}
		}
	}
}

// TestCrashUploads kills a child running concurrent uploads, attaches,
// detaches and upload deletes at a random moment, QUARRY_CRASH_CYCLES
// times (default 3), and checks after each reopen: every acknowledged
// upload is there with its bytes; an acknowledged delete removed the file
// from both vector stores; no file answers 404 while a copy of it is in a
// vector store or searchable; an acknowledged attach (not undone) is
// completed and found exactly once; no vector-store file, link or content
// is left without its upload, and no blob without its record.
func TestCrashUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: spawns processes")
	}
	cycles := crashCycles(t)
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	term := map[string]string{}  // acknowledged uploads: id -> term
	body := map[string]string{}  // id -> content
	deleted := map[string]bool{} // acknowledged (or settled) upload deletes
	type key struct{ id, vs string }
	attached := map[key]bool{} // acknowledged attaches not undone since
	acks := 0
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "QUARRY_CRASH_UPLOADS="+dir, "QUARRY_CRASH_CYCLE="+strconv.Itoa(c))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := time.Duration(300+rng.IntN(1500)) * time.Millisecond
		var timer *time.Timer
		deleting := map[string]bool{}
		detaching := map[key]bool{}
		var seq int64
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 1 && f[0] == "open":
				timer = time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
			case len(f) == 3 && f[0] == "uploaded":
				term[f[1]] = f[2]
				n, _ := strconv.ParseInt(f[2][strings.LastIndex(f[2], "n")+1:len(f[2])-1], 10, 64)
				body[f[1]] = uploadBody(f[2], n)
				seq++
				acks++
			case len(f) == 3 && f[0] == "attached":
				attached[key{f[1], f[2]}] = true
				acks++
			case len(f) == 3 && f[0] == "detaching":
				detaching[key{f[1], f[2]}] = true
				delete(attached, key{f[1], f[2]})
			case len(f) == 3 && f[0] == "detached":
				delete(detaching, key{f[1], f[2]})
				acks++
			case len(f) == 2 && f[0] == "deleting":
				deleting[f[1]] = true
			case len(f) == 2 && f[0] == "deleted":
				delete(deleting, f[1])
				deleted[f[1]] = true
				acks++
			default:
				cmd.Process.Kill()
				t.Fatalf("cycle %d: child: %s", c, sc.Text())
			}
		}
		cmd.Wait()
		if timer == nil {
			t.Fatalf("cycle %d: the child did not open the store", c)
		}
		timer.Stop()

		db, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatalf("cycle %d: Open after kill -9 = %v", c, err)
		}
		stores := map[string]*VectorStore{}
		for _, name := range []string{"a", "b"} {
			vs, err := db.VectorStoreByName(ctx, name)
			if err != nil {
				db.Close()
				t.Fatalf("cycle %d: %v", c, err)
			}
			stores[vs.ID()] = vs
		}
		// Settle the deletes in flight: they happened or not.
		for id := range deleting {
			if _, err := db.Upload(ctx, id); errors.Is(err, ErrNotFound) {
				deleted[id] = true
			}
		}
		for k := range detaching {
			delete(attached, k) // may have happened; either way it is not asserted
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Minute) // ingestion after a kill is slow under -race
		for id, tm := range term {
			_, r, err := db.OpenUpload(ctx, id)
			if deleted[id] {
				if err == nil {
					r.Close()
					t.Errorf("cycle %d: deleted upload %s (%s) came back", c, id, tm)
				}
			} else if err != nil {
				t.Errorf("cycle %d: acknowledged upload %s (%s): %v", c, id, tm, err)
			} else {
				got, _ := io.ReadAll(r)
				r.Close()
				if string(got) != body[id] {
					t.Errorf("cycle %d: upload %s holds %d bytes, want %d", c, id, len(got), len(body[id]))
				}
			}
			gone := deleted[id]
			for vsID, vs := range stores {
				f, err := vs.WaitFile(wctx, id)
				switch {
				case gone && err == nil:
					t.Errorf("cycle %d: upload %s is deleted but still in %s (%s)", c, id, vsID, f.Status)
				case err != nil && !errors.Is(err, ErrNotFound):
					t.Errorf("cycle %d: File(%s) in %s = %v", c, id, vsID, err)
				case attached[key{id, vsID}] && !gone && err != nil:
					t.Errorf("cycle %d: acknowledged attach of %s (%s) to %s lost: %v", c, id, tm, vsID, err)
				case err == nil && f.Status != StatusCompleted:
					t.Errorf("cycle %d: %s in %s: status %s (%v)", c, id, vsID, f.Status, f.LastError)
				}
				if !strings.HasPrefix(body[id], tm) {
					continue // shared content: its term is not its own
				}
				hits := searchIDs(t, vs, tm)
				want := 0
				if err == nil {
					want = 1
				}
				if len(hits) != want || (want == 1 && hits[0] != id) {
					t.Errorf("cycle %d: search %q in %s = %v, want %d hit (in store: %v, deleted %v)", c, tm, vsID, hits, want, err == nil, gone)
				}
			}
		}
		cancel()
		checkUploadRecords(t, db, c)
		if err := db.Close(); err != nil {
			t.Fatalf("cycle %d: Close = %v", c, err)
		}
		if t.Failed() {
			t.Fatalf("cycle %d failed (dir %s)", c, dir)
		}
	}
	t.Logf("%d kill -9 cycles passed every check (%d acknowledgements, %d uploads, %d deleted)", cycles, acks, len(term), len(deleted))
}

// searchIDs returns the distinct file ids a keyword search for term
// returns, and fails on a file returned twice.
func searchIDs(t *testing.T, vs *VectorStore, term string) []string {
	t.Helper()
	res, err := vs.Search(context.Background(), SearchRequest{Query: []string{term}, MaxResults: 10,
		Ranking: RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{TextWeight: 1}}})
	if err != nil {
		t.Fatalf("Search(%q) = %v", term, err)
	}
	var ids []string
	for _, r := range res.Data {
		for _, c := range r.Content {
			if strings.Contains(c.Text, term) {
				ids = append(ids, r.FileID)
				break
			}
		}
	}
	return ids
}

// checkUploadRecords checks the upload bookkeeping: every attached
// vector-store file has its upload and its link, every link its file,
// every content record as many references as uploads hold it and its blob
// file when not inline, and every blob file its record.
func checkUploadRecords(t *testing.T, db *DB, cycle int) {
	t.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		refs := map[string]uint64{}
		uploads := map[string]bool{}
		err := tx.Bucket(bucketUploads).ForEach(func(k, v []byte) error {
			up, err := getUpload(tx, string(k))
			if err != nil {
				return err
			}
			uploads[up.ID] = true
			refs[up.SHA256]++
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketContent).ForEach(func(k, v []byte) error {
			c, err := decodeContent(v)
			if err != nil {
				return err
			}
			if c.refs != refs[string(k)] {
				t.Errorf("cycle %d: content %s counts %d references, %d uploads hold it", cycle, k, c.refs, refs[string(k)])
			}
			delete(refs, string(k))
			if _, err := os.Stat(db.blobPath(string(k))); (err == nil) != (c.inline == nil) {
				t.Errorf("cycle %d: content %s (inline %v): blob file: %v", cycle, k, c.inline != nil, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for sha := range refs {
			t.Errorf("cycle %d: uploads hold content %s that has no record", cycle, sha)
		}
		links := map[string]bool{}
		tx.Bucket(bucketLinks).ForEach(func(k, _ []byte) error {
			links[string(k)] = true
			return nil
		})
		err = tx.Bucket(bucketVS).ForEachBucket(func(vsID []byte) error {
			b, _ := buckets(tx, string(vsID))
			return b.files.ForEach(func(_, v []byte) error {
				f, err := decodeFile(v)
				if err != nil {
					return err
				}
				if !f.Attached {
					return nil
				}
				if !uploads[f.ID] {
					t.Errorf("cycle %d: orphan: %s in %s has no upload", cycle, f.ID, vsID)
				}
				if !links[string(linkKey(f.ID, string(vsID)))] {
					t.Errorf("cycle %d: %s in %s has no link", cycle, f.ID, vsID)
				}
				delete(links, string(linkKey(f.ID, string(vsID))))
				return nil
			})
		})
		for k := range links {
			t.Errorf("cycle %d: link %q without its file", cycle, k)
		}
		return err
	})
	if err != nil {
		t.Fatalf("cycle %d: %v", cycle, err)
	}
	entries, _ := os.ReadDir(filepath.Join(db.Dir(), "blobs"))
	for _, e := range entries {
		var found bool
		db.bolt.View(func(tx *bolt.Tx) error {
			found = tx.Bucket(bucketContent).Get([]byte(e.Name())) != nil
			return nil
		})
		if !found && !bytes.HasPrefix([]byte(e.Name()), []byte("file-")) {
			t.Errorf("cycle %d: blob %s has no content record", cycle, e.Name())
		}
	}
}
