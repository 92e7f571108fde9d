package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// mixedChild runs concurrent adds, deletes (of new files and of files
// from earlier runs) and searches on the store "crash" until killed,
// printing each acknowledgement: "added ID TERM", "done ID", "deleting ID"
// (before the call), "deleted ID" (after it returned). With
// QUARRY_CRASH_CHECKPOINT=fast it checkpoints and trims the log every few
// changes, so kills land after checkpoints and between them.
func mixedChild(dir string) {
	if os.Getenv("QUARRY_CRASH_CHECKPOINT") == "fast" {
		checkpointChanges, checkpointInterval = 10, 50*time.Millisecond
	}
	cycle := os.Getenv("QUARRY_CRASH_CYCLE")
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{Workers: 4})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("open")
	vs, err := db.VectorStoreByName(ctx, "crash")
	if err != nil {
		if vs, err = db.CreateVectorStore(ctx, VectorStoreParams{Name: "crash"}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	var mu sync.Mutex
	say := func(a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Println(a...)
	}
	old, _ := vs.AllFiles(ctx)
	var n atomic.Int64
	for w := range 3 {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for {
				term := fmt.Sprintf("c%sw%dn%dx", cycle, w, n.Add(1))
				f, err := vs.AddFile(ctx, FileInput{Name: term + ".txt", Body: strings.NewReader(term + " about the quick brown fox " + strings.Repeat("more words ", 30))})
				if err != nil {
					say("error", err)
					os.Exit(1)
				}
				say("added", f.ID, term)
				if rng.IntN(2) == 0 {
					if f, err = vs.WaitFile(ctx, f.ID); err != nil {
						say("error", err)
						os.Exit(1)
					}
					say("done", f.ID)
				}
				victim := f.ID
				if len(old) > 0 && rng.IntN(2) == 0 {
					victim = old[rng.IntN(len(old))].ID
				}
				if rng.IntN(4) == 0 {
					say("deleting", victim)
					if err := vs.DeleteFile(ctx, victim); err != nil && !errors.Is(err, ErrNotFound) {
						say("error", err)
						os.Exit(1)
					}
					say("deleted", victim)
				}
			}
		}()
	}
	for {
		if _, err := vs.Search(ctx, SearchRequest{Query: []string{"quick brown fox"}}); err != nil {
			say("error", err)
			os.Exit(1)
		}
	}
}

// crashCycles is how many kill -9 cycles the crash tests run:
// QUARRY_CRASH_CYCLES, default 3. A value that is not a positive number
// fails the test rather than check nothing.
func crashCycles(t *testing.T) int {
	s := os.Getenv("QUARRY_CRASH_CYCLES")
	if s == "" {
		return 3
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("QUARRY_CRASH_CYCLES=%q: want a positive number", s)
	}
	return n
}

// TestCrashMixed kills a child running concurrent ingest, deletes and
// searches at a random moment, QUARRY_CRASH_CYCLES times (default 3;
// the README figures use 100), reopening the same directory each time
// and checking every acknowledgement so far: no acknowledged file lost
// or stuck, no acknowledged delete undone, no failed Open. Half the
// cycles checkpoint every few changes, so kills land right after
// checkpoints and with a saved graph older than the log.
func TestCrashMixed(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: spawns processes")
	}
	cycles := crashCycles(t)
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	term := map[string]string{} // acknowledged adds: file id -> term
	deleted := map[string]bool{}
	var opens []time.Duration
	acked, dels := 0, 0
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "QUARRY_CRASH_MIXED="+dir, "QUARRY_CRASH_CYCLE="+strconv.Itoa(c))
		if c%2 == 1 {
			cmd.Env = append(cmd.Env, "QUARRY_CRASH_CHECKPOINT=fast")
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := time.Duration(100+rng.IntN(1400)) * time.Millisecond
		var timer *time.Timer
		inFlight := map[string]bool{} // deletes begun, not acknowledged
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 1 && f[0] == "open":
				opens = append(opens, time.Since(start))
				timer = time.AfterFunc(killAfter, func() { cmd.Process.Signal(syscall.SIGKILL) })
			case len(f) == 3 && f[0] == "added":
				term[f[1]] = f[2]
				acked++
			case len(f) == 2 && f[0] == "deleting":
				inFlight[f[1]] = true
			case len(f) == 2 && f[0] == "deleted":
				delete(inFlight, f[1])
				deleted[f[1]] = true
				dels++
			case len(f) == 2 && f[0] == "done":
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
		vs, err := db.VectorStoreByName(ctx, "crash")
		if err != nil {
			db.Close()
			t.Fatalf("cycle %d: %v", c, err)
		}
		for id := range inFlight {
			// May or may not have happened; settle it for later cycles.
			if _, err := vs.File(ctx, id); errors.Is(err, ErrNotFound) {
				deleted[id] = true
			}
		}
		ids := make([]string, 0, len(term))
		for id := range term {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		for _, id := range ids {
			f, err := vs.WaitFile(wctx, id)
			switch {
			case deleted[id]:
				if err == nil {
					t.Errorf("cycle %d: deleted file %s (%s) came back", c, id, term[id])
				} else if !errors.Is(err, ErrNotFound) {
					t.Errorf("cycle %d: File(%s) = %v", c, id, err)
				}
			case err != nil:
				t.Errorf("cycle %d: acknowledged file %s (%s): %v", c, id, term[id], err)
			case f.Status != StatusCompleted:
				t.Errorf("cycle %d: file %s status %s (%v)", c, term[id], f.Status, f.LastError)
			}
		}
		cancel()
		// Search: every file of this cycle and a sample of the others.
		for i, id := range ids {
			if !strings.HasPrefix(term[id], fmt.Sprintf("c%dw", c)) && i%10 != c%10 {
				continue
			}
			if got := keywordFound(t, vs, term[id], id); got == deleted[id] {
				t.Errorf("cycle %d: file %s (deleted %v): found by its term = %v", c, term[id], deleted[id], got)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatalf("cycle %d: Close = %v", c, err)
		}
		if t.Failed() {
			t.Fatalf("cycle %d failed (dir %s)", c, dir)
		}
	}
	slices.Sort(opens)
	t.Logf("%d kill -9 cycles passed every check (%d acknowledged adds, %d acknowledged deletes); child open time median %v, max %v",
		cycles, acked, dels, opens[len(opens)/2], opens[len(opens)-1])
}
