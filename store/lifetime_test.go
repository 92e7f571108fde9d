package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/filter"
)

// stressDuration is how long TestConcurrentHistory runs its operations:
// QUARRY_STRESS_DURATION (a Go duration), default 2s.
func stressDuration(t *testing.T) time.Duration {
	if s := os.Getenv("QUARRY_STRESS_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("QUARRY_STRESS_DURATION: %v", err)
		}
		return d
	}
	return 2 * time.Second
}

// history is what the concurrent test was told: files whose AddFile
// returned, files whose DeleteFile returned, by vector store.
type history struct {
	mu      sync.Mutex
	added   map[string]string // file id -> vector store id
	term    map[string]string // file id -> its unique term
	deleted map[string]int64  // file id -> when DeleteFile was acknowledged (clock)
	clock   int64             // counts acknowledged deletes
	dropped map[string]bool   // vector store id -> Delete acknowledged
}

func (h *history) add(vsID, fileID, term string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.added[fileID], h.term[fileID] = vsID, term
}

func (h *history) del(fileID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clock++
	h.deleted[fileID] = h.clock
}

// now is the delete clock: a search begun at now must not return a file
// whose delete was acknowledged at or before it. A file deleted while a
// search runs may still appear in it (the search reads the state it began
// with), so a check taken after the search would fail correct code.
func (h *history) now() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clock
}

func (h *history) deletedBy(fileID string, at int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.deleted[fileID]
	return ok && c <= at
}

// TestConcurrentHistory runs adders (who search their own files after
// each step: completed, re-attributed, deleted), random searchers, a
// store churner (create, add, delete stores), a re-embedder and finally
// Close, all at once, and checks what search and list return against
// the acknowledged operations, during the run and after a reopen. Run it
// under -race. The seed is printed; QUARRY_STRESS_SEED replays one.
func TestConcurrentHistory(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("QUARRY_STRESS_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (QUARRY_STRESS_SEED to replay)", seed)
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{Workers: 4})
	main, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "main"})
	if err != nil {
		t.Fatal(err)
	}
	h := &history{added: map[string]string{}, term: map[string]string{}, deleted: map[string]int64{}, dropped: map[string]bool{}}
	var churn sync.Map // vector store id -> *VectorStore, stores that may be deleted
	deadline := time.Now().Add(stressDuration(t))
	var errs sync.Map
	fail := func(format string, a ...any) { errs.Store(fmt.Sprintf(format, a...), true) }
	// tolerable reports whether err is what an operation on a store that
	// another goroutine may delete can return.
	tolerable := func(err error) bool { return errors.Is(err, ErrNotFound) }
	var ops atomic.Int64
	var n atomic.Int64
	keyword := SearchRequest{MaxResults: 5, Ranking: RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{TextWeight: 1}}}
	found := func(vs *VectorStore, term, fileID string, f map[string]any) (bool, error) {
		req := keyword
		req.Query = []string{term}
		if f != nil {
			req.Filter = mustFilter(f)
		}
		at := h.now()
		res, err := vs.Search(ctx, req)
		if err != nil {
			return false, err
		}
		for _, r := range res.Data {
			if h.deletedBy(r.FileID, at) {
				fail("search %q returned deleted file %s", term, r.FileID)
			}
			if r.FileID == fileID {
				return true, nil
			}
		}
		return false, nil
	}

	var wg sync.WaitGroup
	// Adders: each owns its files, so it knows what search must say.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for time.Now().Before(deadline) {
				vs := main
				onChurn := rng.IntN(4) == 0
				if onChurn {
					churn.Range(func(_, v any) bool { vs = v.(*VectorStore); return rng.IntN(2) == 0 })
				}
				i := n.Add(1)
				term := fmt.Sprintf("uniq%dx", i)
				f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(term + " is about the quick brown fox " + strings.Repeat("filler words here ", 20)), Attributes: map[string]any{"n": 0}})
				ops.Add(1)
				if err != nil {
					if !(onChurn && tolerable(err)) {
						fail("AddFile: %v", err)
					}
					continue
				}
				h.add(vs.ID(), f.ID, term)
				f, err = vs.WaitFile(ctx, f.ID)
				if err != nil || f.Status != StatusCompleted {
					if !(onChurn && tolerable(err)) {
						fail("WaitFile(%s) = %v, %v", term, f, err)
					}
					continue
				}
				if ok, err := found(vs, term, f.ID, nil); err != nil || !ok {
					if !(onChurn && tolerable(err)) {
						fail("completed file %s: found = %v, %v", term, ok, err)
					}
					continue
				}
				if rng.IntN(2) == 0 {
					v := float64(rng.IntN(1000) + 1)
					_, err := vs.UpdateFileAttributes(ctx, f.ID, map[string]any{"n": v})
					ops.Add(1)
					if err != nil {
						if !(onChurn && tolerable(err)) {
							fail("UpdateFileAttributes: %v", err)
						}
						continue
					}
					if ok, err := found(vs, term, f.ID, map[string]any{"type": "eq", "key": "n", "value": v}); err != nil || !ok {
						if !(onChurn && tolerable(err)) {
							fail("file %s with n=%v: found by filter = %v, %v", term, v, ok, err)
						}
					}
				}
				if rng.IntN(3) == 0 {
					err := vs.DeleteFile(ctx, f.ID)
					ops.Add(1)
					if err != nil {
						if !(onChurn && tolerable(err)) {
							fail("DeleteFile: %v", err)
						}
						continue
					}
					h.del(f.ID)
					if ok, err := found(vs, term, f.ID, nil); ok || (err != nil && !(onChurn && tolerable(err))) {
						fail("deleted file %s: found = %v, %v", term, ok, err)
					}
				}
			}
		}()
	}
	// Searchers: any store, default ranking (vectors, BM25, feedback, rerank).
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 100+uint64(w)))
			for time.Now().Before(deadline) {
				ids := []string{main.ID()}
				churn.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return rng.IntN(2) == 0 })
				at := h.now()
				res, err := db.Search(ctx, ids, SearchRequest{Query: []string{"quick brown fox", fmt.Sprintf("uniq%dx", rng.IntN(int(n.Load())+1))}, RewriteQuery: rng.IntN(4) == 0})
				ops.Add(1)
				if err != nil {
					if !tolerable(err) {
						fail("Search: %v", err)
					}
					continue
				}
				for _, r := range res.Data {
					if h.deletedBy(r.FileID, at) {
						fail("search returned deleted file %s", r.FileID)
					}
				}
			}
		}()
	}
	// Churner: create stores, fill them a little, delete them.
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, 200))
		for time.Now().Before(deadline) {
			vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "churn"})
			ops.Add(1)
			if err != nil {
				fail("CreateVectorStore: %v", err)
				return
			}
			churn.Store(vs.ID(), vs)
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
			churn.Delete(vs.ID())
			if err := vs.Delete(ctx); err != nil {
				fail("Delete: %v", err)
			}
			ops.Add(1)
			h.mu.Lock()
			h.dropped[vs.ID()] = true
			h.mu.Unlock()
			if _, err := vs.Info(ctx); !errors.Is(err, ErrNotFound) {
				fail("Info after Delete = %v, want ErrNotFound", err)
			}
		}
	}()
	// Re-embedder: with the same embedder, swaps the state under load.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			vsID := main.ID()
			churn.Range(func(k, _ any) bool { vsID = k.(string); return false })
			if err := db.Reembed(ctx, vsID); err != nil && !(vsID != main.ID() && tolerable(err)) {
				fail("Reembed: %v", err)
			}
			ops.Add(1)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	wg.Wait()

	// Close while searches run: they finish or fail with ErrClosed.
	stop := make(chan struct{})
	var swg sync.WaitGroup
	for range 4 {
		swg.Add(1)
		go func() {
			defer swg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := main.Search(ctx, SearchRequest{Query: []string{"quick brown fox"}})
				if err != nil {
					if !errors.Is(err, ErrClosed) {
						fail("Search during Close: %v", err)
					}
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := db.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	close(stop)
	swg.Wait()
	errs.Range(func(k, _ any) bool { t.Error(k); return true })
	t.Logf("%d operations, %d files added", ops.Load(), len(h.added))

	// Reopen: every acknowledged file of a surviving store is listed
	// (completed) and found by its term; nothing deleted is.
	db = openTest(t, dir, Options{})
	defer db.Close()
	main, err = db.VectorStore(main.ID())
	if err != nil {
		t.Fatal(err)
	}
	files, err := main.AllFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range files {
		listed[f.ID] = true
		if f.Status != StatusCompleted {
			t.Errorf("file %s: status %s after the run", f.ID, f.Status)
		}
	}
	for id, vsID := range h.added {
		if h.dropped[vsID] {
			if _, err := db.VectorStore(vsID); !errors.Is(err, ErrNotFound) {
				t.Errorf("deleted vector store %s: %v", vsID, err)
			}
			continue
		}
		if vsID != main.ID() {
			continue
		}
		_, gone := h.deleted[id]
		want := !gone
		if listed[id] != want {
			t.Errorf("file %s (%s): listed = %v, want %v", id, h.term[id], listed[id], want)
		}
		ok, err := found(main, h.term[id], id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ok != want {
			t.Errorf("file %s (%s): found = %v, want %v", id, h.term[id], ok, want)
		}
	}
	if len(listed) != len(files) {
		t.Errorf("duplicate files listed")
	}
	for id := range listed {
		if _, ok := h.added[id]; !ok {
			t.Errorf("file %s listed but never acknowledged", id)
		}
	}
}

func mustFilter(m map[string]any) *filter.Filter {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	f, err := filter.Parse(b)
	if err != nil {
		panic(err)
	}
	return f
}
