package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeLoad runs a race-enabled `quarry serve` (this test binary when
// it was built with -race, else a `go build -race` of quarry) under 32
// concurrent searchers (default pipeline, BM25 only, vectors only),
// two clients uploading and attaching files, one deleting files and one
// deleting and re-creating vector stores, for QUARRY_SERVE_LOAD_DURATION
// (default 5s, and only under -race unless set; the figure is
// 60s). It requires 0 crashes (the
// server answers to the end and exits 0 on SIGTERM), 0 data races (no race
// report in its stderr) and 0 5xx answers; a 404 for a store deleted under
// a request is the API's answer, not an error.
func TestServeLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a race-enabled quarry serve under load")
	}
	dur := 5 * time.Second
	env := os.Getenv("QUARRY_SERVE_LOAD_DURATION")
	if env == "" && !raceEnabled {
		t.Skip("needs a race-enabled quarry: run under -race (as CI does), or set QUARRY_SERVE_LOAD_DURATION to build one")
	}
	if env != "" {
		d, err := time.ParseDuration(env)
		if err != nil || d <= 0 {
			t.Fatalf("QUARRY_SERVE_LOAD_DURATION=%q: want a duration such as 60s", env)
		}
		dur = d
	}
	exe, exeEnv := quarryExe(t, true)
	s, err := startServe(exe, exeEnv, t.TempDir(), 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer s.kill()
	a := newAPI(s.base)
	ctx := context.Background()

	// stores holds the vector stores clients use; the churner replaces them.
	var mu sync.Mutex
	var stores []string
	pick := func(r *rand.Rand) string {
		mu.Lock()
		defer mu.Unlock()
		return stores[r.IntN(len(stores))]
	}
	var uploads atomic.Int64
	addFile := func(vs string, r *rand.Rand, n int) (string, error) {
		tok := fmt.Sprintf("load%dx", n)
		id, err := a.upload(ctx, tok+".txt", fmt.Sprintf("Note %s. %s %s", tok, crashSentences[r.IntN(len(crashSentences))], crashSentences[r.IntN(len(crashSentences))]))
		if err != nil {
			return "", err
		}
		uploads.Add(1)
		_, err = a.attach(ctx, vs, id)
		return id, err
	}
	seed := rand.New(rand.NewPCG(1, 2))
	for i := range 3 {
		vs, err := a.createVectorStore(ctx, fmt.Sprintf("load%d", i))
		if err != nil {
			t.Fatal(err)
		}
		for j := range 10 {
			if _, err := addFile(vs, seed, i*100+j); err != nil {
				t.Fatal(err)
			}
		}
		stores = append(stores, vs)
	}

	var ok, notFound, serverErr, transportErr, searches atomic.Int64
	var firstErr atomic.Value
	record := func(what string, err error) {
		switch code := httpStatus(err); {
		case err == nil:
			ok.Add(1)
		case code == 404:
			notFound.Add(1)
		case code >= 500:
			serverErr.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", what, err))
		case code == 0:
			var ne net.Error
			if errors.Is(err, context.Canceled) || (errors.As(err, &ne) && ne.Timeout()) {
				return
			}
			transportErr.Add(1)
			firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %v", what, err))
		}
	}
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	run := func(f func(r *rand.Rand, i int)) {
		r := rand.New(rand.NewPCG(seed.Uint64(), 3)) // seed is not safe for concurrent use: draw here
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				f(r, i)
			}
		}()
	}
	modes := []map[string]any{
		nil, // the default pipeline
		{"ranking_options": map[string]any{"hybrid_search": map[string]any{"embedding_weight": 0, "text_weight": 1}}},
		{"ranking_options": map[string]any{"hybrid_search": map[string]any{"embedding_weight": 1, "text_weight": 0}}},
	}
	for w := range 32 {
		run(func(r *rand.Rand, i int) {
			_, err := a.search(ctx, pick(r), fmt.Sprintf("load%dx note %s", r.IntN(1000), []string{"budget", "bridge", "parser", "museum"}[r.IntN(4)]), modes[(w+i)%len(modes)])
			searches.Add(1)
			record("search", err)
		})
	}
	var n atomic.Int64
	n.Store(1000)
	for range 2 {
		run(func(r *rand.Rand, i int) {
			_, err := addFile(pick(r), r, int(n.Add(1)))
			record("upload+attach", err)
		})
	}
	run(func(r *rand.Rand, i int) {
		vs := pick(r)
		files, err := a.listFiles(ctx, vs)
		record("list", err)
		for id := range files {
			record("delete file", a.deleteFile(ctx, vs, id))
			break
		}
		time.Sleep(20 * time.Millisecond)
	})
	var churns atomic.Int64
	run(func(r *rand.Rand, i int) {
		time.Sleep(300 * time.Millisecond)
		vs, err := a.createVectorStore(ctx, fmt.Sprintf("churn%d", i))
		record("create store", err)
		if err != nil {
			return
		}
		for j := range 3 {
			_, err := addFile(vs, r, int(n.Add(1))+j)
			record("upload+attach", err)
		}
		mu.Lock()
		k := r.IntN(len(stores))
		old := stores[k]
		stores[k] = vs
		mu.Unlock()
		record("delete store", a.deleteVectorStore(ctx, old))
		churns.Add(1)
	})
	wg.Wait()

	select {
	case <-s.done:
		t.Fatalf("quarry serve exited during the load: %v\nstderr:\n%s", s.err, tail(s.stderr.String()))
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("quarry serve did not stop within a minute of SIGTERM")
	}
	stderr := s.stderr.String()
	t.Logf("%v: %d searches, %d uploads, %d store delete/re-creates; %d 2xx, %d 404 (deleted under the request), %d 5xx, %d transport errors",
		dur, searches.Load(), uploads.Load(), churns.Load(), ok.Load(), notFound.Load(), serverErr.Load(), transportErr.Load())
	if strings.Contains(stderr, "WARNING: DATA RACE") {
		t.Errorf("data race in quarry serve:\n%s", tail(stderr))
	}
	if strings.Contains(stderr, "panic") {
		t.Errorf("panic in quarry serve:\n%s", tail(stderr))
	}
	if s.err != nil {
		t.Errorf("quarry serve exited with %v after SIGTERM, want 0\n%s", s.err, tail(stderr))
	}
	if serverErr.Load() > 0 || transportErr.Load() > 0 {
		t.Errorf("%d 5xx, %d transport errors; first: %v", serverErr.Load(), transportErr.Load(), firstErr.Load())
	}
	if searches.Load() == 0 || churns.Load() == 0 {
		t.Errorf("the load did not run: %d searches, %d store re-creates", searches.Load(), churns.Load())
	}
}

// tail returns the last 8 KB of s.
func tail(s string) string {
	if len(s) > 8<<10 {
		return "..." + s[len(s)-8<<10:]
	}
	return s
}
