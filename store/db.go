package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/semaphore"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/parse"
)

// Format version of the bbolt layout.
const formatVersion = "1"

var (
	bucketMeta     = []byte("meta")
	bucketVS       = []byte("vs")
	bucketChunkSeq = []byte("chunkseq")
	keyVersion     = []byte("version")
	keyRecord      = []byte("rec")
	bucketFiles    = []byte("files")
	bucketChunks   = []byte("chunks")
	bucketVectors  = []byte("vectors")
	bucketLog      = []byte("log")
	bucketTexts    = []byte("texts")
	bucketPending  = []byte("pending") // bytes of small files not yet ingested
)

// DB is a quarry database: vector stores, their files and indexes, in one
// directory. A DB is safe for concurrent use. Open starts background
// ingestion workers; Close stops and waits for them.
type DB struct {
	dir     string
	opts    Options
	bolt    *bolt.DB
	chunker *chunk.Chunker
	log     *slog.Logger
	closers []io.Closer // closed last by Close (the embedding cache)

	wg     sync.WaitGroup
	cancel context.CancelFunc
	wctx   context.Context // workers' context, cancelled by Close

	// embedSem bounds the Embed calls in flight DB-wide (ingestion,
	// queries and Reembed together): Options.EmbedConcurrency.
	embedSem chan struct{}
	// builtins embed for the stores built by another builtin embedder
	// than the DB's (builtin.go).
	builtins builtinEmbedders
	// batcher embeds the ingested chunks, merging many files' chunks into
	// one request (see pipeline.go).
	batcher *embed.Batcher
	// inflight bounds the bytes held between the pipeline's prepare and
	// commit stages: Options.IngestMemory.
	inflight *semaphore.Weighted
	// commitQ hands embedded files to the commit stage.
	commitQ chan *item
	// queryEmbedder embeds queries: the DB's embedder behind a bounded
	// in-memory LRU (and read-only lookups in the persistent cache), so
	// the read path never writes.
	queryEmbedder Embedder

	// swapMu serializes what replaces or removes a vector store's state:
	// CreateVectorStore's registration, Delete, Reembed's swap and Close.
	swapMu sync.Mutex
	// reembedMu runs one Reembed at a time.
	reembedMu sync.Mutex
	// contentLocks serialize blob files with their reference counts.
	contentLocks contentLocks
	// backupMu runs one Backup at a time; blobGate is held (write) while
	// a Backup takes its snapshot and (read) by removeBlob. onSnapshot,
	// for tests, runs inside the snapshot. See backup.go.
	backupMu sync.Mutex
	// uploadsDue is when the next upload expires (unix seconds): see
	// reclaimUploads.
	uploadsDue atomic.Int64
	blobGate   sync.RWMutex
	onSnapshot func()

	mu     sync.RWMutex
	closed bool                           // guarded by mu
	stores map[string]*vsState            // guarded by mu: open indexes per vector store
	queued map[job]bool                   // guarded by mu: files queued or being ingested
	again  map[job]bool                   // guarded by mu: attached while queued: queue again once let go
	parked map[string]map[string]struct{} // guarded by mu: vector store -> files waiting for a Reembed
	queue  []job                          // guarded by mu: jobs not yet taken by a worker, FIFO
	wake   *sync.Cond                     // on mu: signalled when queue grows or the DB closes

	space spaceWait // files whose commit found the disk full

	// unidx holds the committed files the indexes have not yet applied,
	// shown in_progress until they are (see unindexed).
	unidx *unindexed
}

type job struct{ vsID, fileID string }

// Open opens or creates the database in dir. Zero Options mean the
// embedded defaults. Only one process may open a directory at a time.
func Open(ctx context.Context, dir string, opts Options) (*DB, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	for _, d := range []string{dir, filepath.Join(dir, "blobs"), filepath.Join(dir, "indexes")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	ck, err := chunk.New(opts.Encoding)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var closers []io.Closer
	raw := opts.Embedder
	bdb, err := bolt.Open(filepath.Join(dir, "quarry.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("store: %s is %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	sem := make(chan struct{}, opts.EmbedConcurrency)
	limited := &limitedEmbedder{e: raw, sem: sem}
	var queryEmbedder Embedder = limited
	opts.Embedder = limited
	if cache := opts.EmbedCache; cache == CacheAlways || (cache == CacheRemote && raw.Identity().Provider != "local") {
		c, err := embed.OpenBoltCache(filepath.Join(dir, "embeddings.db"))
		if err != nil {
			bdb.Close()
			return nil, fmt.Errorf("store: open embedding cache: %w", err)
		}
		closers = append(closers, c)
		opts.Embedder = embed.NewCached(limited, c)
		queryEmbedder = embed.NewCached(limited, embed.Tiered(embed.NewLRU(queryCacheEntries), embed.ReadOnly(c)))
	}
	// Concurrent AddFile and ingestion commits share transactions (and
	// fsyncs); a lone caller waits at most this long for company.
	bdb.MaxBatchDelay = 2 * time.Millisecond
	db := &DB{
		dir: dir, opts: opts, bolt: bdb, chunker: ck, log: opts.Logger, closers: closers,
		unidx: newUnindexed(), stores: map[string]*vsState{}, queued: map[job]bool{}, again: map[job]bool{}, parked: map[string]map[string]struct{}{},
		embedSem: sem, queryEmbedder: queryEmbedder,
		batcher:  embed.NewBatcher(opts.Embedder, embed.BatcherOptions{Concurrency: opts.EmbedConcurrency}),
		inflight: semaphore.NewWeighted(opts.IngestMemory), commitQ: make(chan *item, commitGroupFiles),
	}
	db.wake = sync.NewCond(&db.mu)
	if err := db.init(ctx); err != nil {
		bdb.Close()
		for _, c := range closers {
			c.Close()
		}
		return nil, err
	}
	db.wctx, db.cancel = context.WithCancel(context.Background())
	// One PDF engine instance per worker (it takes effect before the
	// process's first PDF only: the pool is process-wide).
	parse.SetPDFWorkers(opts.Workers)
	db.wg.Add(1 + opts.Workers)
	go db.committer()
	for range opts.Workers {
		go db.worker()
	}
	db.wg.Add(1)
	go db.reclaimer() // expiry.go
	if err := db.resume(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// init creates the buckets, checks the format version and opens the
// derived indexes of every vector store, catching them up.
func (db *DB) init(ctx context.Context) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		switch v := meta.Get(keyVersion); {
		case v == nil:
			if err := meta.Put(keyVersion, []byte(formatVersion)); err != nil {
				return err
			}
		case string(v) != formatVersion:
			return fmt.Errorf("%w: format version %q, this build reads %q", ErrCorrupt, v, formatVersion)
		}
		for _, b := range [][]byte{bucketVS, bucketChunkSeq, bucketUploads, bucketContent, bucketLinks} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: init: %w", err)
	}
	if err := db.migrateUploads(); err != nil {
		return err
	}
	var ids []string
	err = db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketVS).ForEachBucket(func(k []byte) error {
			ids = append(ids, string(k))
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: init: %w", err)
	}
	for _, id := range ids {
		st, err := db.openIndexes(ctx, id)
		if err != nil {
			return err
		}
		db.stores[id] = st
	}
	return nil
}

// resume re-queues files left in_progress by a previous process and removes
// blobs that no file or upload needs any more (and staged uploads never
// committed).
func (db *DB) resume() error {
	var pending []job
	need := map[string]bool{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketContent).ForEach(func(k, v []byte) error {
			if len(v) == 16 { // kept in blobs/ (see content)
				need[string(k)] = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketVS).ForEachBucket(func(vsID []byte) error {
			files := tx.Bucket(bucketVS).Bucket(vsID).Bucket(bucketFiles)
			return files.ForEach(func(k, v []byte) error {
				f, err := decodeFile(v)
				if err != nil {
					return err
				}
				if f.Status == StatusInProgress {
					pending = append(pending, job{string(vsID), f.ID})
					need[f.ID] = true
				}
				return nil
			})
		})
	})
	if err != nil {
		return fmt.Errorf("store: resume: %w", err)
	}
	removeBackupStages(db.dir) // backup.go
	entries, _ := os.ReadDir(filepath.Join(db.dir, "blobs"))
	for _, e := range entries {
		if !need[e.Name()] {
			os.Remove(filepath.Join(db.dir, "blobs", e.Name()))
		}
	}
	for _, j := range pending {
		db.enqueue(j)
	}
	return nil
}

// Close stops the ingestion workers, waits for them and for the searches
// and other calls in flight, applies the changes the derived indexes are
// behind on (so that the next Open has nothing to catch up), checkpoints
// them and closes the database. Files still in progress resume at the next Open. Calls made
// after Close has begun return ErrClosed.
func (db *DB) Close() error {
	db.swapMu.Lock()
	defer db.swapMu.Unlock()
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	db.closed = true
	stores := db.stores
	db.stores = map[string]*vsState{}
	db.wake.Broadcast()
	db.mu.Unlock()
	if db.cancel != nil {
		db.cancel()
	}
	db.wg.Wait()
	var errs []error
	for _, st := range stores {
		errs = append(errs, st.retire(true, db.bolt))
	}
	errs = append(errs, db.bolt.Close())
	for _, c := range db.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Dir returns the directory the DB lives in.
func (db *DB) Dir() string { return db.dir }

// Options returns the options the DB runs with, defaults filled in.
func (db *DB) Options() Options { return db.opts }

func (db *DB) checkOpen() error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return ErrClosed
	}
	return nil
}

// acquire returns the vector store's state with a reference held: its
// indexes stay open until the caller calls st.release. It fails with
// ErrClosed after Close and ErrNotFound for a store that does not exist
// (or is being deleted).
func (db *DB) acquire(id string) (*vsState, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.closed {
		return nil, ErrClosed
	}
	st, ok := db.stores[id]
	if !ok || !st.acquire() {
		return nil, notFound("vector store", id)
	}
	return st, nil
}

// acquireCurrent acquires a vector store's state for a search: an expired
// store fails with ErrExpired. It does not wait for the indexer: a search
// reads the indexes as they are. Every file shown completed is in them
// (a file is in_progress until the indexes have applied it, see
// unindexed), and results are read back from the source of truth, so
// nothing deleted is ever returned.
func (db *DB) acquireCurrent(ctx context.Context, id string) (*vsState, error) {
	st, err := db.acquire(id)
	if err != nil {
		return nil, err
	}
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, id)
		if !ok {
			return notFound("vector store", id)
		}
		rec, err := b.record()
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return db.live(id, rec)
	})
	if err != nil {
		st.release()
		return nil, err
	}
	return st, nil
}

// waitIndexed waits until the vector store's current state has applied
// log sequence seq (see vsState.waitApplied).
func (db *DB) waitIndexed(ctx context.Context, id string, seq uint64) error {
	for {
		st, err := db.acquire(id)
		if err != nil {
			return err
		}
		err = st.waitApplied(ctx, seq, db.log)
		st.release()
		if !errors.Is(err, errRetired) {
			return err
		}
	}
}

// kick wakes the indexer of the vector store's current state.
func (db *DB) kick(id string) {
	db.mu.RLock()
	st := db.stores[id]
	db.mu.RUnlock()
	if st != nil {
		st.committed()
	}
}

// queryCacheEntries bounds the in-memory LRU of query embeddings.
const queryCacheEntries = 4096

// limitedEmbedder holds a slot of sem for each Embed call: one DB-wide
// bound on the embedding calls in flight, whatever the number of workers.
type limitedEmbedder struct {
	e   Embedder
	sem chan struct{}
}

func (l *limitedEmbedder) Identity() embed.Identity { return l.e.Identity() }

func (l *limitedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-l.sem }()
	return l.e.Embed(ctx, texts)
}

// Unwrap returns the wrapped embedder.
func (l *limitedEmbedder) Unwrap() Embedder { return l.e }
