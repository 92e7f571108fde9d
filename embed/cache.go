package embed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Key identifies one cached vector: a SHA-256 of the embedder identity and
// the text, so a model or dimension change never reuses a vector.
type Key [32]byte

// CacheKey returns the key of text embedded by id.
func CacheKey(id Identity, text string) Key {
	h := sha256.New()
	h.Write([]byte(id.String()))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var k Key
	h.Sum(k[:0])
	return k
}

// Cache stores vectors by Key. Implementations are safe for concurrent use
// and must not retain or mutate the slices passed to Put nor hand out slices
// a caller's mutation could corrupt.
type Cache interface {
	// Get returns one entry per key, nil for a miss.
	Get(ctx context.Context, keys []Key) ([][]float32, error)
	// Put stores vecs[i] under keys[i].
	Put(ctx context.Context, keys []Key, vecs [][]float32) error
}

// CacheStats counts cache lookups of a Cached embedder.
type CacheStats struct {
	Hits   int64 `json:"hits"`
	Misses int64 `json:"misses"`
}

// Cached is an Embedder that looks every text up in a Cache first and sends
// only the misses to the wrapped embedder, each distinct text once, storing
// what comes back. Re-indexing unchanged text never calls the provider.
// A *Cached is safe for concurrent use when its embedder and cache are.
type Cached struct {
	e            Embedder
	c            Cache
	hits, misses atomic.Int64
}

// NewCached wraps e with cache c.
func NewCached(e Embedder, c Cache) *Cached { return &Cached{e: e, c: c} }

// Identity implements Embedder: that of the wrapped embedder.
func (c *Cached) Identity() Identity { return c.e.Identity() }

// Unwrap returns the wrapped embedder.
func (c *Cached) Unwrap() Embedder { return c.e }

// Stats returns the lookups so far.
func (c *Cached) Stats() CacheStats {
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load()}
}

// Embed implements Embedder.
func (c *Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	id := c.e.Identity()
	keys := make([]Key, len(texts))
	for i, t := range texts {
		keys[i] = CacheKey(id, t)
	}
	out, err := c.c.Get(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("embed: cache get: %w", err)
	}
	if len(out) != len(keys) {
		return nil, fmt.Errorf("embed: cache returned %d entries for %d keys", len(out), len(keys))
	}
	var missTexts []string
	var missKeys []Key
	first := map[Key]int{} // key -> position in missTexts
	for i, v := range out {
		if v != nil && len(v) == id.Dimensions {
			continue
		}
		out[i] = nil
		if _, ok := first[keys[i]]; !ok {
			first[keys[i]] = len(missTexts)
			missTexts = append(missTexts, texts[i])
			missKeys = append(missKeys, keys[i])
		}
	}
	c.hits.Add(int64(len(texts) - len(missTexts)))
	c.misses.Add(int64(len(missTexts)))
	if len(missTexts) == 0 {
		return out, nil
	}
	vecs, err := c.e.Embed(ctx, missTexts)
	if err != nil {
		return nil, err
	}
	if err := CheckVectors(vecs, len(missTexts), id.Dimensions); err != nil {
		return nil, err
	}
	if err := c.c.Put(ctx, missKeys, vecs); err != nil {
		return nil, fmt.Errorf("embed: cache put: %w", err)
	}
	for i := range out {
		if out[i] == nil {
			// Duplicated texts share a vector; each gets its own copy.
			out[i] = append([]float32(nil), vecs[first[keys[i]]]...)
		}
	}
	return out, nil
}

// MemoryCache is an in-memory Cache without eviction, for tests and
// short-lived processes.
type MemoryCache struct {
	mu sync.RWMutex
	m  map[Key][]float32 // guarded by mu
}

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{m: map[Key][]float32{}} }

// Get implements Cache.
func (m *MemoryCache) Get(_ context.Context, keys []Key) ([][]float32, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([][]float32, len(keys))
	for i, k := range keys {
		if v, ok := m.m[k]; ok {
			out[i] = append([]float32(nil), v...)
		}
	}
	return out, nil
}

// Put implements Cache.
func (m *MemoryCache) Put(_ context.Context, keys []Key, vecs [][]float32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, k := range keys {
		m.m[k] = append([]float32(nil), vecs[i]...)
	}
	return nil
}

// Len returns the number of entries.
func (m *MemoryCache) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.m)
}

// BoltCache is a Cache in a bbolt file. Each value is a format version
// byte, the little-endian float32 components and a CRC-32C of them; a value
// that fails its checksum reads as a miss and is overwritten on the next Put.
type BoltCache struct {
	db *bolt.DB
}

var cacheBucket = []byte("embeddings")

// checksum is CRC-32C; the table is built on first use, not at import.
func checksum(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }

const cacheFormat = 1

// OpenBoltCache opens or creates the cache file at path. Only one process
// may hold it open; Close releases it.
func OpenBoltCache(path string) (*BoltCache, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("embed: open cache %s: %w", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(cacheBucket)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("embed: open cache %s: %w", path, err)
	}
	return &BoltCache{db: db}, nil
}

// Close closes the file.
func (b *BoltCache) Close() error { return b.db.Close() }

// Get implements Cache.
func (b *BoltCache) Get(ctx context.Context, keys []Key) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(keys))
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket(cacheBucket)
		for i, k := range keys {
			if v, err := decodeCached(bk.Get(k[:])); err == nil {
				out[i] = v
			}
		}
		return nil
	})
	return out, err
}

// Put implements Cache.
func (b *BoltCache) Put(ctx context.Context, keys []Key, vecs [][]float32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(cacheBucket)
		for i, k := range keys {
			if err := bk.Put(k[:], encodeCached(vecs[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

func encodeCached(v []float32) []byte {
	b := make([]byte, 1+4*len(v)+4)
	b[0] = cacheFormat
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[1+4*i:], math.Float32bits(x))
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], checksum(b[1:len(b)-4]))
	return b
}

var errCorruptEntry = errors.New("embed: corrupt cache entry")

func decodeCached(b []byte) ([]float32, error) {
	if b == nil {
		return nil, errCorruptEntry
	}
	if len(b) < 5 || b[0] != cacheFormat || (len(b)-5)%4 != 0 ||
		checksum(b[1:len(b)-4]) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, errCorruptEntry
	}
	v := make([]float32, (len(b)-5)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[1+4*i:]))
	}
	return v, nil
}
