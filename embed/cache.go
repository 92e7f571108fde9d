package embed

import (
	"container/list"
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

// LRU is an in-memory Cache holding at most a fixed number of entries,
// evicting the least recently used. It is safe for concurrent use.
type LRU struct {
	max int
	mu  sync.Mutex
	ll  *list.List            // guarded by mu: most recent first, of *lruEntry
	m   map[Key]*list.Element // guarded by mu
}

type lruEntry struct {
	k Key
	v []float32
}

// NewLRU returns an empty LRU of at most n entries (at least 1).
func NewLRU(n int) *LRU {
	return &LRU{max: max(1, n), ll: list.New(), m: map[Key]*list.Element{}}
}

// Get implements Cache.
func (c *LRU) Get(_ context.Context, keys []Key) ([][]float32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([][]float32, len(keys))
	for i, k := range keys {
		if e, ok := c.m[k]; ok {
			c.ll.MoveToFront(e)
			out[i] = append([]float32(nil), e.Value.(*lruEntry).v...)
		}
	}
	return out, nil
}

// Put implements Cache.
func (c *LRU) Put(_ context.Context, keys []Key, vecs [][]float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, k := range keys {
		v := append([]float32(nil), vecs[i]...)
		if e, ok := c.m[k]; ok {
			e.Value.(*lruEntry).v = v
			c.ll.MoveToFront(e)
			continue
		}
		c.m[k] = c.ll.PushFront(&lruEntry{k, v})
		for c.ll.Len() > c.max {
			old := c.ll.Back()
			c.ll.Remove(old)
			delete(c.m, old.Value.(*lruEntry).k)
		}
	}
	return nil
}

// Len returns the number of entries.
func (c *LRU) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// ReadOnly returns a Cache that looks keys up in c and drops every Put.
func ReadOnly(c Cache) Cache { return readOnly{c} }

type readOnly struct{ c Cache }

func (r readOnly) Get(ctx context.Context, keys []Key) ([][]float32, error) {
	return r.c.Get(ctx, keys)
}
func (readOnly) Put(context.Context, []Key, [][]float32) error { return nil }

// Tiered returns a Cache that looks keys up in each cache in turn, filling
// the earlier ones with what a later one had, and puts into all of them.
// A failing later tier counts as misses. The usual stack is a small LRU in
// front of a persistent cache.
func Tiered(caches ...Cache) Cache { return tiered(caches) }

type tiered []Cache

func (t tiered) Get(ctx context.Context, keys []Key) ([][]float32, error) {
	out := make([][]float32, len(keys))
	for ti, c := range t {
		var idx []int
		var miss []Key
		for i, v := range out {
			if v == nil {
				idx, miss = append(idx, i), append(miss, keys[i])
			}
		}
		if len(miss) == 0 {
			break
		}
		got, err := c.Get(ctx, miss)
		if err != nil || len(got) != len(miss) {
			if ti == 0 && err != nil {
				return nil, err
			}
			continue
		}
		var fk []Key
		var fv [][]float32
		for j, v := range got {
			if v != nil {
				out[idx[j]] = v
				fk, fv = append(fk, miss[j]), append(fv, v)
			}
		}
		for _, earlier := range t[:ti] {
			if len(fk) > 0 {
				earlier.Put(ctx, fk, fv)
			}
		}
	}
	return out, nil
}

func (t tiered) Put(ctx context.Context, keys []Key, vecs [][]float32) error {
	var errs []error
	for _, c := range t {
		errs = append(errs, c.Put(ctx, keys, vecs))
	}
	return errors.Join(errs...)
}

// BoltCache is a Cache in a bbolt file. Each value is a format version
// byte, the little-endian float32 components and a CRC-32C of them; a value
// that fails its checksum reads as a miss and is overwritten on the next Put.
//
// The cache holds at most MaxBytes of vectors (DefaultCacheBytes unless
// set with SetMaxBytes); past it, Put evicts the oldest entries first. The
// file does not shrink, but its freed pages are reused.
type BoltCache struct {
	db       *bolt.DB
	maxBytes atomic.Int64
}

// DefaultCacheBytes is the default bound of a BoltCache: 1 GiB of vectors.
const DefaultCacheBytes = 1 << 30

var (
	cacheBucket = []byte("embeddings")
	orderBucket = []byte("order") // insertion sequence -> key, for eviction
	metaBucket  = []byte("meta")
	keyBytes    = []byte("bytes") // total size of the values in cacheBucket
)

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
		if _, err := tx.CreateBucketIfNotExists(cacheBucket); err != nil {
			return err
		}
		if tx.Bucket(orderBucket) != nil {
			return nil
		}
		// A cache written before eviction existed: order its entries as
		// they are, once.
		order, err := tx.CreateBucket(orderBucket)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		var total uint64
		err = tx.Bucket(cacheBucket).ForEach(func(k, v []byte) error {
			total += uint64(len(v))
			n, err := order.NextSequence()
			if err != nil {
				return err
			}
			return order.Put(binary.BigEndian.AppendUint64(nil, n), k)
		})
		if err != nil {
			return err
		}
		return meta.Put(keyBytes, binary.BigEndian.AppendUint64(nil, total))
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("embed: open cache %s: %w", path, err)
	}
	b := &BoltCache{db: db}
	b.maxBytes.Store(DefaultCacheBytes)
	return b, nil
}

// SetMaxBytes bounds the size of the cached vectors; the next Put evicts
// down to it. n <= 0 means DefaultCacheBytes.
func (b *BoltCache) SetMaxBytes(n int64) {
	if n <= 0 {
		n = DefaultCacheBytes
	}
	b.maxBytes.Store(n)
}

// Size returns the number of entries and their total size in bytes.
func (b *BoltCache) Size() (entries int, bytes int64, err error) {
	err = b.db.View(func(tx *bolt.Tx) error {
		entries = tx.Bucket(cacheBucket).Stats().KeyN
		if v := tx.Bucket(metaBucket).Get(keyBytes); len(v) == 8 {
			bytes = int64(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return entries, bytes, err
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
	limit := uint64(b.maxBytes.Load())
	return b.db.Update(func(tx *bolt.Tx) error {
		bk, order, meta := tx.Bucket(cacheBucket), tx.Bucket(orderBucket), tx.Bucket(metaBucket)
		var total uint64
		if v := meta.Get(keyBytes); len(v) == 8 {
			total = binary.BigEndian.Uint64(v)
		}
		for i, k := range keys {
			v := encodeCached(vecs[i])
			if old := bk.Get(k[:]); old != nil {
				total -= min(total, uint64(len(old)))
			} else {
				n, err := order.NextSequence()
				if err != nil {
					return err
				}
				if err := order.Put(binary.BigEndian.AppendUint64(nil, n), k[:]); err != nil {
					return err
				}
			}
			if err := bk.Put(k[:], v); err != nil {
				return err
			}
			total += uint64(len(v))
		}
		// Evict oldest first. An order entry whose key was overwritten
		// since evicts the newer value: a cache may forget anything.
		c := order.Cursor()
		for k, v := c.First(); k != nil && total > limit; k, v = c.First() {
			if old := bk.Get(v); old != nil {
				total -= min(total, uint64(len(old)))
				if err := bk.Delete(v); err != nil {
					return err
				}
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return meta.Put(keyBytes, binary.BigEndian.AppendUint64(nil, total))
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
