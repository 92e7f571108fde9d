package embed

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func keysFor(n int) ([]Key, [][]float32) {
	id := Identity{Provider: "t", Model: "m", Dimensions: 4}
	keys := make([]Key, n)
	vecs := make([][]float32, n)
	for i := range n {
		keys[i] = CacheKey(id, fmt.Sprint(i))
		vecs[i] = []float32{float32(i), 1, 2, 3}
	}
	return keys, vecs
}

func TestLRUEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	c := NewLRU(3)
	keys, vecs := keysFor(4)
	c.Put(ctx, keys[:3], vecs[:3])
	c.Get(ctx, keys[:1]) // 0 is now the most recent
	c.Put(ctx, keys[3:], vecs[3:])
	got, _ := c.Get(ctx, keys)
	for i, want := range []bool{true, false, true, true} {
		if (got[i] != nil) != want {
			t.Errorf("entry %d present = %v, want %v", i, got[i] != nil, want)
		}
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
}

func TestBoltCacheSizeBound(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	c, err := OpenBoltCache(path)
	if err != nil {
		t.Fatal(err)
	}
	entry := int64(len(encodeCached(make([]float32, 4))))
	c.SetMaxBytes(10 * entry)
	keys, vecs := keysFor(25)
	for i := range keys {
		if err := c.Put(ctx, keys[i:i+1], vecs[i:i+1]); err != nil {
			t.Fatal(err)
		}
	}
	n, size, err := c.Size()
	if err != nil {
		t.Fatal(err)
	}
	if n != 10 || size != 10*entry {
		t.Errorf("Size = %d entries, %d bytes; want 10, %d", n, size, 10*entry)
	}
	got, _ := c.Get(ctx, keys)
	for i := range keys {
		if want := i >= 15; (got[i] != nil) != want {
			t.Errorf("entry %d present = %v, want %v (oldest evicted first)", i, got[i] != nil, want)
		}
	}
	c.Close()
	// The count survives a reopen.
	c, err = OpenBoltCache(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, size2, _ := c.Size(); size2 != size {
		t.Errorf("size after reopen = %d, want %d", size2, size)
	}
}

func TestTieredFillsEarlierTiers(t *testing.T) {
	ctx := context.Background()
	front, back := NewLRU(10), NewMemoryCache()
	keys, vecs := keysFor(2)
	back.Put(ctx, keys, vecs)
	c := Tiered(front, ReadOnly(back))
	got, err := c.Get(ctx, keys)
	if err != nil || got[0] == nil || got[1] == nil {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if front.Len() != 2 {
		t.Errorf("front tier holds %d entries after a hit behind it, want 2", front.Len())
	}
	more, mv := keysFor(3)
	c.Put(ctx, more[2:], mv[2:])
	if back.Len() != 2 {
		t.Errorf("a Put reached the read-only tier")
	}
}
