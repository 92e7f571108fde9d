package embed

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestCachedSecondRunMakesNoHTTPCalls(t *testing.T) {
	for _, kind := range []string{"memory", "bolt"} {
		t.Run(kind, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cache.db")
			open := func() (Cache, func()) {
				if kind == "memory" {
					return NewMemoryCache(), func() {}
				}
				c, err := OpenBoltCache(path)
				if err != nil {
					t.Fatal(err)
				}
				return c, func() { c.Close() }
			}
			f := &fakeServer{t: t, dims: 16}
			c, _ := newClient(t, f, OpenAIOptions{MaxBatch: 2})
			cache, closeCache := open()
			texts := []string{"one", "two", "three", "two", "four", "one"}
			first, err := NewCached(c, cache).Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			checkVectors(t, texts, first, 16)
			if n := f.n.Load(); n != 2 { // 4 distinct texts, 2 per request
				t.Fatalf("first run: %d requests, want 2", n)
			}
			if kind == "bolt" { // reopen: the cache is on disk
				closeCache()
				cache, closeCache = open()
			}
			defer closeCache()
			ce := NewCached(c, cache)
			second, err := ce.Embed(context.Background(), texts)
			if err != nil {
				t.Fatal(err)
			}
			if n := f.n.Load(); n != 2 {
				t.Errorf("second run made %d HTTP requests, want 0", n-2)
			}
			if s := ce.Stats(); s != (CacheStats{Hits: 6}) {
				t.Errorf("Stats() = %+v, want 6 hits", s)
			}
			for i := range texts {
				if !slices.Equal(first[i], second[i]) {
					t.Errorf("vector %d differs from cache", i)
				}
			}
			second[0][0] = 42 // callers own their vectors
			third, _ := ce.Embed(context.Background(), texts[:1])
			if third[0][0] == 42 {
				t.Error("mutating a returned vector changed the cache")
			}
			// Another identity never hits these entries, even with the same
			// dimensions (so the cached vectors' length alone cannot tell).
			of := &fakeServer{t: t, dims: 16}
			other, _ := newClient(t, of, OpenAIOptions{Model: "text-embedding-3-large", Dimensions: 16})
			if oid, id := other.Identity(), c.Identity(); oid == id || oid.Dimensions != id.Dimensions {
				t.Fatalf("other identity %v, want another model with the dimensions of %v", oid, id)
			}
			oc := NewCached(other, cache)
			if _, err := oc.Embed(context.Background(), texts[:1]); err != nil {
				t.Fatal(err)
			}
			if n := of.n.Load(); n != 1 {
				t.Errorf("another identity made %d requests, want 1", n)
			}
			if s := oc.Stats(); s != (CacheStats{Misses: 1}) {
				t.Errorf("another identity: Stats() = %+v, want 1 miss", s)
			}
		})
	}
}

func TestCheckVectors(t *testing.T) {
	two := [][]float32{{1, 0, 0}, {0, 1, 0}}
	for _, tc := range []struct {
		vecs   [][]float32
		n, dim int
		want   string // "" for no error
	}{
		{two, 2, 3, ""},
		{two, 2, -1, ""},
		{nil, 0, 3, ""},
		{two, 3, 3, "embed: bad response: embedder returned 2 vectors for 3 inputs"},
		{two, 3, -1, "embed: bad response: embedder returned 2 vectors for 3 inputs"},
		{[][]float32{{1, 0, 0}, {0, 1}}, 2, 3, "embed: bad response: embedder returned a vector of 2 dimensions for input 1, want 3"},
		{two, 2, 4, "embed: bad response: embedder returned a vector of 3 dimensions for input 0, want 4"},
	} {
		err := CheckVectors(tc.vecs, tc.n, tc.dim)
		if tc.want == "" {
			if err != nil {
				t.Errorf("CheckVectors(%v, %d, %d) = %v, want nil", tc.vecs, tc.n, tc.dim, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrBadResponse) {
			t.Errorf("CheckVectors(%v, %d, %d) = %v, want %q wrapping ErrBadResponse", tc.vecs, tc.n, tc.dim, err, tc.want)
		}
	}
}

func TestCachedPropagatesErrors(t *testing.T) {
	f := &fakeServer{t: t, dims: 4, fail: func(_ int, w http.ResponseWriter, _ *embeddingsRequest) bool {
		w.WriteHeader(401)
		return true
	}}
	c, _ := newClient(t, f, OpenAIOptions{})
	cache := NewMemoryCache()
	if _, err := NewCached(c, cache).Embed(context.Background(), []string{"a"}); !errors.Is(err, ErrAuth) {
		t.Fatalf("Embed() error = %v, want ErrAuth", err)
	}
	if cache.Len() != 0 {
		t.Error("failed embedding was cached")
	}
}

func TestBoltCacheCorruptEntryIsMiss(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	c, err := OpenBoltCache(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	k := CacheKey(Identity{"p", "m", 2}, "x")
	if err := c.Put(ctx, []Key{k}, [][]float32{{0.6, 0.8}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Get(ctx, []Key{k}); !slices.Equal(got[0], []float32{0.6, 0.8}) {
		t.Fatalf("Get = %v", got)
	}
	c.db.Update(func(tx *bolt.Tx) error {
		v := slices.Clone(tx.Bucket(cacheBucket).Get(k[:]))
		v[2] ^= 1
		return tx.Bucket(cacheBucket).Put(k[:], v)
	})
	if got, err := c.Get(ctx, []Key{k}); err != nil || got[0] != nil {
		t.Errorf("Get(corrupt) = %v, %v, want a miss", got, err)
	}
	c.Close()
	if _, err := c.Get(ctx, []Key{k}); err == nil {
		t.Error("Get after Close succeeded")
	}
}

func FuzzDecodeCached(f *testing.F) {
	f.Add(encodeCached([]float32{1, 2, 3}))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeCached(b)
		if err == nil && !slices.Equal(encodeCached(v), b) {
			t.Fatalf("decode(%x) = %v does not re-encode", b, v)
		}
		if err != nil && !errors.Is(err, errCorruptEntry) {
			t.Fatal(err)
		}
	})
}
