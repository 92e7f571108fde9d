package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// fakeClock is a clock that tests move forward.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func keywordSearch(ctx context.Context, vs *VectorStore, term string) (*SearchResults, error) {
	return vs.Search(ctx, SearchRequest{Query: []string{term}, MaxResults: 5,
		Ranking: RankingOptions{Ranker: RankerNone, Hybrid: &HybridWeights{TextWeight: 1}}})
}

// TestExpiry: a store past expires_at reports expired, its files are
// removed in the background, its searches and new files fail with
// ErrExpired, and it stays so after a restart. A store without expiry
// beside it is untouched.
func TestExpiry(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := newFakeClock()
	opts := Options{Clock: clock.Now, ReclaimInterval: 10 * time.Millisecond}
	db := openTest(t, dir, opts)
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "tmp", ExpiresAfter: &ExpiresAfter{Days: 1}})
	if err != nil {
		t.Fatal(err)
	}
	keep, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "keep"})
	if err != nil {
		t.Fatal(err)
	}
	f := addText(t, vs, "a.txt", "the zanzibar protocol is documented here", nil)
	// Larger than inlineMax: its bytes wait in a blob while it is in
	// progress; the expiry must not leave it behind.
	big, err := vs.AddFile(ctx, FileInput{Name: "big.txt", Body: strings.NewReader(strings.Repeat("zanzibar filler words ", inlineMax/20))})
	if err != nil {
		t.Fatal(err)
	}
	kf := addText(t, keep, "k.txt", "the zanzibar protocol is kept here", nil)
	if res, err := keywordSearch(ctx, vs, "zanzibar"); err != nil || len(res.Data) == 0 {
		t.Fatalf("Search before expiry = %v, %v; want results", res, err)
	}
	info, _ := vs.Info(ctx)
	if info.Status == "expired" || info.ExpiresAt == nil || *info.ExpiresAt != info.LastActiveAt+86400 {
		t.Fatalf("Info before expiry: status %s, expires_at %v, last_active_at %d", info.Status, info.ExpiresAt, info.LastActiveAt)
	}

	clock.advance(24*time.Hour + time.Second)
	if _, err := keywordSearch(ctx, vs, "zanzibar"); !errors.Is(err, ErrExpired) {
		t.Errorf("Search of an expired store = %v, want ErrExpired", err)
	}
	if _, err := vs.AddFile(ctx, FileInput{Name: "b.txt", Body: strings.NewReader("late")}); !errors.Is(err, ErrExpired) {
		t.Errorf("AddFile to an expired store = %v, want ErrExpired", err)
	}
	waitFor(t, "the expired store's files to be removed", func() bool {
		all, err := vs.AllFiles(ctx)
		return err == nil && len(all) == 0
	})
	info, err = vs.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Status != "expired" || info.FileCounts.Total != 0 || info.UsageBytes != 0 {
		t.Errorf("Info after expiry: status %s, counts %+v, usage %d; want expired, 0, 0", info.Status, info.FileCounts, info.UsageBytes)
	}
	if _, err := vs.File(ctx, f.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("File(%s) of an expired store = %v, want ErrNotFound", f.ID, err)
	}
	waitFor(t, "the big file's blob to be removed", func() bool {
		_, err := os.Stat(db.blobPath(big.ID))
		return errors.Is(err, os.ErrNotExist)
	})
	// An update is activity, but not after the expiry.
	if info, err := vs.Update(ctx, VectorStoreUpdate{ExpiresAfter: &ExpiresAfter{Days: 365}}); err != nil || info.Status != "expired" {
		t.Errorf("Update of an expired store = %v, %v; want status expired", info, err)
	}
	if res, err := keywordSearch(ctx, keep, "zanzibar"); err != nil || len(res.Data) != 1 || res.Data[0].FileID != kf.ID {
		t.Errorf("Search of the store without expiry = %v, %v; want %s", res, err, kf.ID)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openTest(t, dir, opts)
	defer db.Close()
	vs, err = db.VectorStore(vs.ID())
	if err != nil {
		t.Fatalf("expired store after reopen: %v (it stays until deleted)", err)
	}
	if info, err := vs.Info(ctx); err != nil || info.Status != "expired" || info.FileCounts.Total != 0 {
		t.Errorf("Info after reopen = %+v, %v; want expired with no files", info, err)
	}
	if _, err := keywordSearch(ctx, vs, "zanzibar"); !errors.Is(err, ErrExpired) {
		t.Errorf("Search after reopen = %v, want ErrExpired", err)
	}
	if err := vs.Delete(ctx); err != nil {
		t.Errorf("Delete of an expired store = %v", err)
	}
}

// TestExpiryActivity: a search moves last_active_at, and with it
// expires_at: a store used within its window does not expire.
func TestExpiryActivity(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	db := openTest(t, t.TempDir(), Options{Clock: clock.Now, ReclaimInterval: 10 * time.Millisecond})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "tmp", ExpiresAfter: &ExpiresAfter{Days: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f := addText(t, vs, "a.txt", "the zanzibar protocol is documented here", nil)
	clock.advance(20 * time.Hour)
	used := clock.Now().Unix()
	if _, err := keywordSearch(ctx, vs, "zanzibar"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the search to be recorded as activity", func() bool {
		info, err := vs.Info(ctx)
		return err == nil && info.LastActiveAt == used
	})
	info, _ := vs.Info(ctx)
	if *info.ExpiresAt != used+86400 {
		t.Errorf("expires_at = %d, want last_active_at + 1 day = %d", *info.ExpiresAt, used+86400)
	}
	clock.advance(20 * time.Hour) // 40 h after creation, 20 h after the search
	time.Sleep(50 * time.Millisecond)
	if res, err := keywordSearch(ctx, vs, "zanzibar"); err != nil || len(res.Data) != 1 || res.Data[0].FileID != f.ID {
		t.Fatalf("Search within the window = %v, %v; want %s", res, err, f.ID)
	}
	waitFor(t, "the second search to be recorded", func() bool {
		info, err := vs.Info(ctx)
		return err == nil && info.LastActiveAt == clock.Now().Unix()
	})
	clock.advance(24*time.Hour + time.Second)
	waitFor(t, "the idle store to expire", func() bool {
		info, err := vs.Info(ctx)
		return err == nil && info.Status == "expired" && info.FileCounts.Total == 0
	})
}

// TestExpiryAtOpen: a store that expired while no process had the DB open
// is reclaimed by the next Open, including one whose reclamation a
// previous process had begun (marked expired, files left).
func TestExpiryAtOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{})
	a, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "a", ExpiresAfter: &ExpiresAfter{Days: 2}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	addText(t, a, "a.txt", "alpha text", nil)
	addText(t, b, "b.txt", "beta text", nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash after marking b expired, before removing its files.
	raw, err := bolt.Open(filepath.Join(dir, "quarry.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = raw.Update(func(tx *bolt.Tx) error {
		bk, _ := buckets(tx, b.ID())
		rec, err := bk.record()
		if err != nil {
			return err
		}
		rec.Expired = true
		return putJSON(bk.root, keyRecord, rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()

	clock := newFakeClock()
	clock.advance(48*time.Hour + time.Second)
	db = openTest(t, dir, Options{Clock: clock.Now, ReclaimInterval: time.Hour}) // only the pass at Open
	defer db.Close()
	for _, vs := range []*VectorStore{a, b} {
		vs, err := db.VectorStore(vs.ID())
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the files of "+vs.ID()+" to be removed at Open", func() bool {
			info, err := vs.Info(ctx)
			return err == nil && info.Status == "expired" && info.FileCounts.Total == 0
		})
	}
}
