package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// crashBook is the client's record of what the server acknowledged, kept
// across kill -9 cycles. Each file's text holds a token no other file has.
type crashBook struct {
	mu sync.Mutex
	// attached: the attach returned 2xx; completed: the server reported the
	// file completed; deleted: the delete returned 2xx. uncertain: a delete
	// whose request was cut by the kill (either outcome is right).
	attached, completed, deleted, uncertain map[string]string // file id -> token
	adds, deletes, searches                 int
}

func (b *crashBook) live() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ids []string
	for id := range b.attached {
		if _, gone := b.deleted[id]; !gone {
			if _, u := b.uncertain[id]; !u {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// TestServeCrashHarness kills `quarry serve` with SIGKILL at random moments
// while clients upload files, attach them to a vector store, delete them
// and search, through the HTTP API only, and after each restart checks:
// every attach the server acknowledged is listed, every file it reported
// completed is still completed and found by its token, every delete it
// acknowledged stays deleted (not listed, 404, never in results), and the
// server restarts every time. QUARRY_SERVE_CRASH_CYCLES sets the number of
// cycles (default 3; the README's figure is 100).
func TestServeCrashHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("kills quarry serve child processes")
	}
	cycles := 3
	if s := os.Getenv("QUARRY_SERVE_CRASH_CYCLES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("QUARRY_SERVE_CRASH_CYCLES=%q: want a positive count", s)
		}
		cycles = n
	}
	exe, env := quarryExe(t, false)
	dir := t.TempDir()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 12))
	book := &crashBook{attached: map[string]string{}, completed: map[string]string{}, deleted: map[string]string{}, uncertain: map[string]string{}}
	vs := ""
	var restarts []time.Duration
	for cycle := range cycles {
		start := time.Now()
		s, err := startServe(exe, env, dir, 2*time.Minute)
		if err != nil {
			t.Fatalf("cycle %d: failed restart: %v", cycle, err)
		}
		a := newAPI(s.base)
		if vs == "" {
			if vs, err = a.createVectorStore(ctx, "crash"); err != nil {
				s.kill()
				t.Fatal(err)
			}
		}
		// The first answered request after the restart.
		if _, err := a.search(ctx, vs, "warmup", nil); err != nil {
			s.kill()
			t.Fatalf("cycle %d: first search after restart: %v\n%s", cycle, err, s.stderr)
		}
		restarts = append(restarts, time.Since(start))
		if err := crashVerify(ctx, a, vs, book, rng); err != nil {
			s.kill()
			t.Fatalf("cycle %d: %v\nstderr:\n%s", cycle, err, s.stderr)
		}
		// Load, then kill at a random moment of it.
		wctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		errc := make(chan error, 16)
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := crashWorker(wctx, a, vs, book, cycle, w); err != nil {
					errc <- err
				}
			}()
		}
		time.Sleep(time.Duration(200+rng.IntN(2300)) * time.Millisecond)
		s.kill()
		stop()
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
	}
	// A last restart checks the last cycle's writes.
	s, err := startServe(exe, env, dir, 2*time.Minute)
	if err != nil {
		t.Fatalf("final restart: %v", err)
	}
	defer s.kill()
	if err := crashVerify(ctx, newAPI(s.base), vs, book, rng); err != nil {
		t.Fatalf("after the last cycle: %v\nstderr:\n%s", err, s.stderr)
	}
	slices.Sort(restarts)
	t.Logf("%d kill -9 cycles: %d acknowledged attaches (%d seen completed), %d acknowledged deletes, %d searches; 0 lost, 0 resurrected, 0 failed restarts; restart to first search p50 %v, max %v",
		cycles, book.adds, len(book.completed), book.deletes, book.searches, restarts[len(restarts)/2].Round(time.Millisecond), restarts[len(restarts)-1].Round(time.Millisecond))
}

// crashWorker runs one client until ctx ends or the server dies: workers 0
// to 2 upload and attach, 3 deletes, 4 and 5 search (5 also polls statuses).
// It returns an error only for a broken promise seen live: a search
// returning a file whose delete was acknowledged before it was sent.
func crashWorker(ctx context.Context, a *api, vs string, book *crashBook, cycle, w int) error {
	rng := rand.New(rand.NewPCG(uint64(cycle), uint64(w)))
	for i := 0; ctx.Err() == nil; i++ {
		switch {
		case w <= 2:
			tok := fmt.Sprintf("tok%dc%dw%dn", cycle, w, i)
			text := fmt.Sprintf("Report %s about the %s quarry. %s", tok, tok, crashSentences[rng.IntN(len(crashSentences))])
			id, err := a.upload(ctx, tok+".txt", text)
			if err != nil {
				if httpStatus(err) >= 500 {
					return fmt.Errorf("upload: %v", err)
				}
				return nil // the server is gone
			}
			if _, err := a.attach(ctx, vs, id); err != nil {
				if httpStatus(err) >= 500 {
					return fmt.Errorf("attach: %v", err)
				}
				return nil
			}
			book.mu.Lock()
			book.attached[id] = tok
			book.adds++
			book.mu.Unlock()
		case w == 3:
			live := book.live()
			if len(live) < 5 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			id := live[rng.IntN(len(live))]
			book.mu.Lock()
			tok := book.attached[id]
			book.uncertain[id] = tok
			book.mu.Unlock()
			err := a.deleteFile(ctx, vs, id)
			if err != nil && httpStatus(err) == 0 {
				return nil // cut by the kill: stays uncertain
			}
			if err != nil && httpStatus(err) >= 500 {
				return fmt.Errorf("delete: %v", err)
			}
			book.mu.Lock()
			delete(book.uncertain, id)
			if err == nil {
				book.deleted[id] = tok
				book.deletes++
			}
			book.mu.Unlock()
		default:
			live := book.live()
			if len(live) == 0 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			book.mu.Lock()
			gone := map[string]bool{}
			for id := range book.deleted {
				gone[id] = true
			}
			var tok string
			if w == 4 || len(book.deleted) == 0 {
				tok = book.attached[live[rng.IntN(len(live))]]
			} else {
				for _, t := range book.deleted {
					tok = t
					break
				}
			}
			book.mu.Unlock()
			ids, err := a.search(ctx, vs, tok, nil)
			if err != nil {
				if httpStatus(err) >= 500 {
					return fmt.Errorf("search: %v", err)
				}
				return nil
			}
			book.mu.Lock()
			book.searches++
			book.mu.Unlock()
			for _, id := range ids {
				if gone[id] {
					return fmt.Errorf("search %q returned %s, deleted (acknowledged) before the search", tok, id)
				}
			}
			if w == 5 && i%5 == 0 {
				files, err := a.listFiles(ctx, vs)
				if err != nil {
					return nil
				}
				book.mu.Lock()
				for id, st := range files {
					if st == "completed" {
						if tok, ok := book.attached[id]; ok {
							book.completed[id] = tok
						}
					}
				}
				book.mu.Unlock()
			}
		}
	}
	return nil
}

// crashVerify checks the restarted server against the book.
func crashVerify(ctx context.Context, a *api, vs string, book *crashBook, rng *rand.Rand) error {
	files, err := a.listFiles(ctx, vs)
	if err != nil {
		return fmt.Errorf("list: %v", err)
	}
	book.mu.Lock()
	defer book.mu.Unlock()
	var completed []string
	for id := range book.attached {
		if _, u := book.uncertain[id]; u {
			continue
		}
		st, listed := files[id]
		_, deleted := book.deleted[id]
		switch {
		case deleted && listed:
			return fmt.Errorf("deleted file %s (acknowledged) is listed again, status %s", id, st)
		case deleted:
		case !listed:
			return fmt.Errorf("acknowledged attach of %s lost: not listed", id)
		case st == "failed" || st == "cancelled":
			return fmt.Errorf("acknowledged file %s is %s after the restart", id, st)
		case book.completed[id] != "" && st != "completed":
			return fmt.Errorf("file %s was completed, now %s", id, st)
		case st == "completed":
			completed = append(completed, id)
		}
	}
	// Every deleted file is checked by the list above; a sample of them
	// also by GET and by a search for its token.
	var deleted []string
	for id := range book.deleted {
		deleted = append(deleted, id)
	}
	slices.Sort(deleted)
	rng.Shuffle(len(deleted), func(i, j int) { deleted[i], deleted[j] = deleted[j], deleted[i] })
	for _, id := range deleted[:min(len(deleted), 20)] {
		tok := book.deleted[id]
		if st, err := a.getFile(ctx, vs, id); httpStatus(err) != 404 {
			return fmt.Errorf("GET deleted file %s: status %q, %v; want 404", id, st, err)
		}
		ids, err := a.search(ctx, vs, tok, nil)
		if err != nil {
			return fmt.Errorf("search: %v", err)
		}
		if slices.Contains(ids, id) {
			return fmt.Errorf("deleted file %s returned by a search for its token %s", id, tok)
		}
	}
	// A sample of the completed files is found by its token.
	slices.Sort(completed)
	rng.Shuffle(len(completed), func(i, j int) { completed[i], completed[j] = completed[j], completed[i] })
	for _, id := range completed[:min(len(completed), 10)] {
		tok := book.attached[id]
		ids, err := a.search(ctx, vs, tok, nil)
		if err != nil {
			return fmt.Errorf("search: %v", err)
		}
		if !slices.Contains(ids, id) {
			return fmt.Errorf("completed file %s not found by its token %s: %v", id, tok, ids)
		}
	}
	return nil
}

// crashSentences give the files some ordinary text beside their token.
var crashSentences = []string{
	"The committee reviewed the annual budget and approved new funding for the library.",
	"Heavy rain flooded the valley roads, and the bridge stayed closed until Friday.",
	"A small team rewrote the parser so that malformed input fails with a clear error.",
	"The museum's winter exhibition shows maps of the coast drawn three centuries ago.",
	"Engineers measured the pump's pressure every hour and logged each reading by hand.",
	"Students compared the two translations line by line and noted every difference.",
}
