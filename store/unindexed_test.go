package store

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCompletedMeansIndexed: while the indexer is held back, a committed
// file is shown in_progress (File, Files, the store's and the batch's
// counts) and a search does not wait for the indexer; once the indexer
// applies it, the file is completed and a search finds it at once.
func TestCompletedMeansIndexed(t *testing.T) {
	ctx := context.Background()
	var gate sync.Mutex // held: the indexer of the held store waits
	var heldID atomic.Pointer[string]
	beforeCatchUp = func(id string) {
		if p := heldID.Load(); p != nil && *p == id {
			gate.Lock()
			gate.Unlock()
		}
	}
	saved := indexWait
	indexWait = time.Hour // a search that waited for the indexer would hang
	defer func() { beforeCatchUp, indexWait = nil, saved }()
	db := openTest(t, t.TempDir(), Options{})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	gate.Lock()
	held := true
	release := func() {
		if held {
			held = false
			gate.Unlock()
		}
	}
	defer release()
	heldID.Store(&vs.id)

	f, err := vs.AddFile(ctx, FileInput{Name: "a.txt", Body: strings.NewReader("zebraquartz lives in the unindexed file")})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the commit: the file is pending with its log sequence.
	for deadline := time.Now().Add(time.Minute); ; {
		db.unidx.mu.Lock()
		p, ok := db.unidx.files[vs.id][f.ID]
		db.unidx.mu.Unlock()
		if ok && p.seq != ^uint64(0) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the file was not committed within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	got, err := vs.File(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusInProgress {
		t.Errorf("committed, unindexed file: status %s, want in_progress", got.Status)
	}
	if files, err := vs.Files(ctx, StatusCompleted); err != nil || len(files) != 0 {
		t.Errorf("Files(completed) = %d files, %v; want none", len(files), err)
	}
	info, err := vs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FileCounts.InProgress != 1 || info.FileCounts.Completed != 0 || info.Status != "in_progress" {
		t.Errorf("store counts %+v status %s; want 1 in progress", info.FileCounts, info.Status)
	}
	done := make(chan error, 1)
	go func() {
		_, err := vs.Search(ctx, SearchRequest{Query: []string{"zebraquartz"}})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("a search waited for the held-back indexer")
	}
	release()
	got, err = vs.WaitFile(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusCompleted {
		t.Fatalf("after indexing: status %s, want completed", got.Status)
	}
	if !keywordFound(t, vs, "zebraquartz", f.ID) {
		t.Error("a completed file is not found by a search")
	}
	if info, err := vs.Info(ctx); err != nil || info.FileCounts.Completed != 1 || info.FileCounts.InProgress != 0 {
		t.Errorf("store counts after indexing %+v, %v; want 1 completed", info.FileCounts, err)
	}
}
