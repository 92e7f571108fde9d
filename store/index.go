package store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/ann"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/internal/durable"
	"github.com/quarrylabs/quarry/lexical"
)

// Bounds of the derived indexes' background work. They are variables so
// that tests can shorten them.
var (
	// checkpointChanges is how many chunk changes (adds and deletes) the
	// vector graph may hold beyond its saved copy before the indexer saves
	// it again.
	checkpointChanges = 20_000
	// checkpointInterval is the longest a change waits before the graph
	// holding it is saved.
	checkpointInterval = time.Minute
	// indexWait bounds how long DeleteFile or UpdateFileAttributes waits
	// for the indexer to apply its change; past it, the call returns with
	// the indexes as they are. Searches never wait (see unindexed).
	indexWait = 10 * time.Second
	// beforeCatchUp, when set (tests only), runs before each catch-up
	// round, outside every lock: a test holds the indexer back with it.
	beforeCatchUp func(vsID string)
)

const (
	// catchUpEntries is the most log entries one catch-up round reads
	// (in one read transaction); the indexer runs rounds until caught up.
	catchUpEntries = 1024
	// catchUpChunks and catchUpText are about the most chunks and bytes
	// of chunk text one catch-up round reads (a round stops after the
	// entry that reaches either): the BM25 analysis of a round holds every
	// token of its chunks at once (about 8 bytes per byte of text), so an
	// indexer far behind must not take 1,024 large files in one gulp.
	catchUpChunks = 2048
	catchUpText   = 4 << 20
	// rebuildBatch is how many vectors or files a rebuild reads per read
	// transaction; rebuilds never hold more than one batch of source data.
	rebuildBatch = 4096
	// lexBatch is how many chunks go into one BM25 batch of a rebuild.
	lexBatch = 2000
)

// vsState holds a vector store's derived indexes: the vector index and the
// BM25 index. Both are rebuilt or caught up from the source of truth (the
// bbolt log) and never hold anything the source of truth does not.
//
// A vsState has an explicit lifetime. Callers get one from DB.acquire,
// which counts a reference, and give it back with release; retire stops
// new references, waits for the held ones, stops the indexer and closes
// the indexes. vec and lex are set before the state is shared and never
// change, so a holder may use them without locks.
type vsState struct {
	id       string
	dir      string
	identity embed.Identity
	// mismatch is set when the DB's embedder differs from the one that
	// built the store; it is fixed at open.
	mismatch error
	// own, fixed at open, embeds for a store built by a builtin embedder
	// the DB serves it with (see builtin.go); nil: the DB's embedder.
	own *ownEmbedder

	vec *ann.HNSW
	lex *lexical.Index

	kick     chan struct{} // wakes the indexer goroutine
	stop     chan struct{} // closed by stopIndexer
	done     chan struct{} // closed when the indexer goroutine returns
	stopOnce sync.Once
	cancel   context.CancelFunc // cancels the indexer's work
	ictx     context.Context

	refMu   sync.Mutex
	refIdle *sync.Cond // signalled on refMu when refs drops to 0
	refs    int        // guarded by refMu: references held
	retired bool       // guarded by refMu: no new references

	mu       sync.Mutex // serializes catchUp, checkpoints and close
	vecSeq   uint64     // guarded by mu: last log sequence applied to vec
	savedSeq uint64     // guarded by mu: the sequence of the saved graph
	lexSeq   uint64     // guarded by mu: last log sequence applied to lex
	unsaved  int        // guarded by mu: chunk changes in vec since the save
	lastSave time.Time  // guarded by mu
	ownsLex  bool       // guarded by mu: close closes lex (false once handed over)
	noSave   bool       // guarded by mu: close and checkpoints leave the graph file alone
	gone     bool       // guarded by mu: the vector store was deleted
	trimmed  uint64     // guarded by mu: the log is trimmed up to here

	// unidx is told each applied sequence (see unindexed). Guarded by mu;
	// nil until the state is the one searches reach (Reembed's swap sets
	// it at the install) and in tests that build a state by hand.
	unidx *unindexed

	progMu   sync.Mutex
	applied  uint64        // guarded by progMu: min(vecSeq, lexSeq), published
	advanced chan struct{} // guarded by progMu: closed and replaced when applied moves
	// failing is set while the indexer's last catch-up failed (a full
	// disk, say): DeleteFile and UpdateFileAttributes then go ahead
	// instead of waiting indexWait for it, and it retries every second.
	failing bool // guarded by progMu

	attrMu    sync.RWMutex
	chunkFile map[uint64]string         // guarded by attrMu: chunk id -> file id
	fileAttrs map[string]map[string]any // guarded by attrMu: file id -> attributes
	fileNames map[string]string         // guarded by attrMu: file id -> filename
	lastTouch int64                     // guarded by attrMu: unix time of the last recorded activity
	touchDue  int64                     // guarded by attrMu: activity the indexer is to write, 0 for none
}

func newState(dir, vsID string) *vsState {
	st := &vsState{
		id: vsID, dir: filepath.Join(dir, "indexes", vsID),
		chunkFile: map[uint64]string{}, fileAttrs: map[string]map[string]any{}, fileNames: map[string]string{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		advanced: make(chan struct{}), ownsLex: true, lastSave: time.Now(),
	}
	st.refIdle = sync.NewCond(&st.refMu)
	st.ictx, st.cancel = context.WithCancel(context.Background())
	return st
}

// acquire takes a reference, or reports false once the state is retired.
func (st *vsState) acquire() bool {
	st.refMu.Lock()
	defer st.refMu.Unlock()
	if st.retired {
		return false
	}
	st.refs++
	return true
}

// release gives back a reference taken by acquire.
func (st *vsState) release() {
	st.refMu.Lock()
	defer st.refMu.Unlock()
	st.refs--
	if st.refs == 0 {
		st.refIdle.Broadcast()
	}
}

// logBounds reads the vector store's record and the newest log sequence:
// last is the newest change ever logged (also when the log was trimmed
// empty), start the first sequence the log still holds.
func logBounds(b vsBuckets) (rec *vsRecord, last, start uint64, err error) {
	if rec, err = b.record(); err != nil {
		return nil, 0, 0, err
	}
	start = max(rec.LogStart, 1)
	last = start - 1
	if k, _ := b.log.Cursor().Last(); k != nil {
		last = max(last, keyU64(k))
	}
	return rec, last, start, nil
}

// openIndexes opens the vector store's derived indexes and catches them up
// with the log. Either index is rebuilt from scratch, in a fresh directory
// for BM25, when it cannot be opened or is ahead of, behind or otherwise
// inconsistent with the source of truth.
func (db *DB) openIndexes(ctx context.Context, vsID string) (*vsState, error) {
	st := newState(db.dir, vsID)
	st.unidx = db.unidx
	var rec *vsRecord
	var last, start uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vsID)
		if !ok {
			return notFound("vector store", vsID)
		}
		var err error
		rec, last, start, err = logBounds(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	st.identity = rec.Embedder
	st.own, st.mismatch = db.storeEmbedder(vsID, rec.Embedder)
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	fresh, err := st.openLexical(db, last, start)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*vsState, error) {
		st.lex.Close()
		return nil, err
	}
	if err := st.loadFiles(db.bolt); err != nil {
		return fail(err)
	}
	rebuilt := false
	if h, ok := st.savedGraph(db.log, rec, last, start); ok {
		st.vec, st.vecSeq, st.savedSeq = h, h.Seq(), h.Seq()
	} else {
		if st.vec, err = st.rebuildVectors(ctx, db.bolt); err != nil {
			return fail(err)
		}
		st.vecSeq, rebuilt = last, true
	}
	st.trimmed = start - 1
	if fresh && last > 0 {
		if err := st.rebuildLexical(ctx, db.bolt, last); err != nil {
			return fail(err)
		}
	}
	if err := st.catchUpAll(ctx, db.bolt); err != nil {
		return fail(err)
	}
	if st.vecSeq > st.savedSeq && (rebuilt || st.unsaved >= checkpointChanges) {
		// A rebuilt graph, or one that replayed a checkpoint's worth of
		// changes, is saved at once, so the next Open is fast; a short
		// replay is left to the indexer's checkpoint (saving a 1M-vector
		// graph took 7.5 s of Open after replaying 17 files).
		st.mu.Lock()
		err := st.saveVectorsLocked()
		st.mu.Unlock()
		if err != nil {
			return fail(err)
		}
	}
	go st.indexer(db)
	return st, nil
}

// openLexical opens the BM25 index, or creates it empty in a fresh
// directory when it cannot be opened, is ahead of the log (a restored,
// older quarry.db) or behind the start of the trimmed log. fresh reports
// that it needs a rebuild.
func (st *vsState) openLexical(db *DB, last, start uint64) (fresh bool, err error) {
	path := filepath.Join(st.dir, "bm25")
	lex, err := lexical.Open(path, db.opts.Lexical)
	if err == nil {
		seq, serr := lex.Seq()
		switch {
		case serr != nil:
			err = serr
		case seq > last:
			err = fmt.Errorf("it has applied sequence %d, the log ends at %d", seq, last)
		case seq+1 < start:
			err = fmt.Errorf("it has applied sequence %d, the log starts at %d", seq, start)
		default:
			st.lex, st.lexSeq = lex, seq
			return false, nil
		}
		lex.Close()
	}
	if last > 0 || !errors.Is(err, os.ErrNotExist) {
		db.log.Warn("quarry: rebuilding the BM25 index", "vector_store", st.id, "err", err)
	}
	if err := os.RemoveAll(path); err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if st.lex, err = lexical.Open(path, db.opts.Lexical); err != nil {
		return false, fmt.Errorf("store: open BM25 index: %w", err)
	}
	return true, nil
}

// loadFiles records the completed files' attributes and chunk ids.
func (st *vsState) loadFiles(bdb *bolt.DB) error {
	err := bdb.View(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, st.id)
		return b.files.ForEach(func(_, v []byte) error {
			f, err := decodeFile(v)
			if err != nil {
				return err
			}
			if f.Status == StatusCompleted {
				st.noteFile(f)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: load files of %s: %w", st.id, err)
	}
	return nil
}

// savedGraph reads the saved HNSW graph and reports whether it can be
// caught up from the log: it has the store's dimensions, is not newer than
// the log (a restored, older quarry.db), not older than the last Reembed
// and not older than the start of the trimmed log.
func (st *vsState) savedGraph(log *slog.Logger, rec *vsRecord, last, start uint64) (*ann.HNSW, bool) {
	h, err := readGraph(st.graphPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, false
	case err != nil:
	case h.Dim() != st.identity.Dimensions:
		err = fmt.Errorf("graph of %d dimensions, the store has %d", h.Dim(), st.identity.Dimensions)
	case h.Seq() > last:
		err = fmt.Errorf("graph at sequence %d, the log ends at %d", h.Seq(), last)
	case h.Seq() < rec.VectorsSeq:
		err = fmt.Errorf("graph at sequence %d predates the re-embedding at %d", h.Seq(), rec.VectorsSeq)
	case h.Seq()+1 < start:
		err = fmt.Errorf("graph at sequence %d, the log starts at %d", h.Seq(), start)
	default:
		return h, true
	}
	log.Warn("quarry: rebuilding the vector index", "vector_store", st.id, "err", err)
	return nil, false
}

// rebuildVectors builds a graph from the stored vectors, reading them in
// batches of rebuildBatch (one read transaction each) and inserting each
// batch in parallel. The caller records the log sequence it read before
// the first batch as the graph's: changes committed while it runs are
// replayed on top by catchUp (adds and deletes are idempotent). It honours
// ctx between and within batches.
func (st *vsState) rebuildVectors(ctx context.Context, bdb *bolt.DB) (*ann.HNSW, error) {
	h := ann.NewHNSW(st.identity.Dimensions, ann.Config{})
	var after []byte
	ids := make([]uint64, 0, rebuildBatch)
	vecs := make([][]float32, 0, rebuildBatch)
	for first := true; ; first = false {
		ids, vecs = ids[:0], vecs[:0]
		err := bdb.View(func(tx *bolt.Tx) error {
			b, ok := buckets(tx, st.id)
			if !ok {
				return notFound("vector store", st.id)
			}
			if first {
				h.Reserve(b.vectors.Stats().KeyN)
			}
			c := b.vectors.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(ids) < rebuildBatch; k, v = c.Next() {
				vec, err := decodeVector(v)
				if err != nil {
					return err
				}
				ids, vecs = append(ids, keyU64(k)), append(vecs, vec)
				after = append(after[:0], k...)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store: load vectors of %s: %w", st.id, err)
		}
		if len(ids) == 0 {
			return h, nil
		}
		if err := addParallel(ctx, h, ids, vecs); err != nil {
			return nil, fmt.Errorf("store: load vectors of %s: %w", st.id, err)
		}
	}
}

// addParallel inserts vecs[i] under ids[i] with GOMAXPROCS goroutines
// (fewer for small batches), stopping early when ctx is done.
func addParallel(ctx context.Context, h *ann.HNSW, ids []uint64, vecs [][]float32) error {
	g, gctx := errgroup.WithContext(ctx)
	workers := max(1, min(runtime.GOMAXPROCS(0), len(ids)/64))
	for w := range workers {
		g.Go(func() error {
			for i := w; i < len(ids); i += workers {
				if err := gctx.Err(); err != nil {
					return err
				}
				if err := h.Add(ids[i], vecs[i]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

func (st *vsState) graphPath() string { return filepath.Join(st.dir, "vectors.hnsw") }

func readGraph(path string) (*ann.HNSW, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ann.ReadHNSW(f) // buffered inside, sized by the file
}

// saveVectorsLocked writes the graph with the sequence it reflects:
// temp file, fsync, rename, fsync directory.
// REQUIRES: st.mu held, or st not yet shared.
func (st *vsState) saveVectorsLocked() error {
	if st.vecSeq == st.savedSeq || st.noSave {
		return nil
	}
	st.vec.SetSeq(st.vecSeq)
	err := durable.WriteFile(st.graphPath(), func(f io.Writer) error {
		w := bufio.NewWriterSize(f, 1<<20)
		if _, err := st.vec.WriteTo(w); err != nil {
			return err
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("store: save vectors: %w", err)
	}
	st.savedSeq, st.unsaved, st.lastSave = st.vecSeq, 0, time.Now()
	return nil
}

// rebuildLexical indexes every completed file's chunks into the empty BM25
// index, reading rebuildBatch files per read transaction and applying
// lexBatch chunks per BM25 batch, all under sequence last (read before the
// first batch; later changes are replayed by catchUp).
func (st *vsState) rebuildLexical(ctx context.Context, bdb *bolt.DB, last uint64) error {
	var after []byte
	var docs []lexical.Doc
	flush := func(all bool) error {
		for len(docs) >= lexBatch || (all && len(docs) > 0) {
			n := min(lexBatch, len(docs))
			if err := st.lex.Apply(ctx, last, docs[:n], nil); err != nil {
				return err
			}
			docs = docs[n:]
		}
		return nil
	}
	for {
		files := 0
		err := bdb.View(func(tx *bolt.Tx) error {
			b, ok := buckets(tx, st.id)
			if !ok {
				return notFound("vector store", st.id)
			}
			c := b.files.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && files < rebuildBatch && len(docs) < 4*lexBatch; k, v = c.Next() {
				files++
				after = append(after[:0], k...)
				f, err := decodeFile(v)
				if err != nil {
					return err
				}
				if f.Status != StatusCompleted {
					continue
				}
				ds, err := lexDocs(b, f)
				if err != nil {
					return err
				}
				docs = append(docs, ds...)
			}
			return nil
		})
		if err == nil {
			err = flush(files == 0)
		}
		if err != nil {
			return fmt.Errorf("store: rebuild BM25 index of %s: %w", st.id, err)
		}
		if files == 0 {
			break
		}
	}
	// Record the sequence even for a store without chunks.
	if err := st.lex.Apply(ctx, last, nil, nil); err != nil {
		return fmt.Errorf("store: rebuild BM25 index of %s: %w", st.id, err)
	}
	st.lexSeq = last
	return nil
}

// lexDocs returns the BM25 documents of a file's chunks as stored now.
func lexDocs(b vsBuckets, f *File) ([]lexical.Doc, error) {
	docs := make([]lexical.Doc, 0, len(f.ChunkIDs))
	for _, id := range f.ChunkIDs {
		c, err := b.chunk(u64key(id))
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		docs = append(docs, lexical.Doc{
			ID: id, Text: c.Text, Filename: f.Filename, Headings: c.Headings, Attributes: f.Attributes,
		})
	}
	return docs, nil
}

func (st *vsState) noteFile(f *File) {
	st.attrMu.Lock()
	defer st.attrMu.Unlock()
	st.fileAttrs[f.ID] = f.Attributes
	st.fileNames[f.ID] = f.Filename
	for _, c := range f.ChunkIDs {
		st.chunkFile[c] = f.ID
	}
}

func (st *vsState) forgetFile(fileID string, chunks []uint64) {
	st.attrMu.Lock()
	defer st.attrMu.Unlock()
	delete(st.fileAttrs, fileID)
	delete(st.fileNames, fileID)
	for _, c := range chunks {
		delete(st.chunkFile, c)
	}
}

// indexer applies committed changes to the indexes in the background, as
// many at a time as have accumulated, and checkpoints the vector graph
// (see checkpoint); while it fails it retries every second. Searches
// never wait for it nor index themselves: a file is completed once the
// indexer has applied it (see unindexed).
func (st *vsState) indexer(db *DB) {
	defer close(st.done)
	tick := time.NewTicker(min(checkpointInterval, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-st.kick:
			st.applyAll(db)
		case <-tick.C:
			st.progMu.Lock()
			failing := st.failing
			st.progMu.Unlock()
			if failing {
				st.applyAll(db) // try again: space may have returned
			}
		}
		if st.ictx.Err() != nil {
			return
		}
		db.writeTouch(st)
		if err := st.checkpoint(db, false); err != nil {
			db.log.Error("quarry: checkpoint failed", "vector_store", st.id, "err", err)
		}
	}
}

// applyAll runs catch-up rounds until the indexes hold every logged
// change, and records whether that failed.
func (st *vsState) applyAll(db *DB) {
	err := st.catchUpAll(st.ictx, db.bolt)
	failing := err != nil && st.ictx.Err() == nil
	st.progMu.Lock()
	was := st.failing
	st.failing = failing
	st.progMu.Unlock()
	switch {
	case failing && !was:
		db.log.Error("quarry: index update failed; retrying every second", "vector_store", st.id, "err", err)
	case was && !failing:
		db.log.Info("quarry: index update recovered", "vector_store", st.id)
	}
	db.unidx.setFailing(st.id, failing)
}

// committed wakes the indexer after a commit that logged a change.
func (st *vsState) committed() {
	select {
	case st.kick <- struct{}{}:
	default:
	}
}

// stopIndexer stops the indexer goroutine and waits for it; the indexes
// stay open and searchable.
func (st *vsState) stopIndexer() {
	st.stopOnce.Do(func() {
		st.cancel()
		close(st.stop)
	})
	<-st.done
}

// publish makes the applied sequence visible to waiters.
// REQUIRES: st.mu held.
func (st *vsState) publishLocked() {
	a := min(st.vecSeq, st.lexSeq)
	if st.gone {
		a = math.MaxUint64
	}
	st.progMu.Lock()
	moved := a > st.applied
	if moved {
		st.applied = a
		close(st.advanced)
		st.advanced = make(chan struct{})
	}
	st.progMu.Unlock()
	if moved && st.unidx != nil {
		st.unidx.advance(st.id, a)
	}
}

// errRetired is returned by waitApplied when the state's indexer stopped.
var errRetired = errors.New("store: index state retired")

func (st *vsState) waitApplied(ctx context.Context, seq uint64, log *slog.Logger) error {
	var timer *time.Timer
	for {
		st.progMu.Lock()
		applied, ch, failing := st.applied, st.advanced, st.failing
		st.progMu.Unlock()
		if applied >= seq {
			return nil
		}
		st.committed()
		if failing {
			return nil // the indexer retries; search what is indexed
		}
		if timer == nil {
			timer = time.NewTimer(indexWait)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-st.done:
			// Stopped: replaced by Reembed (the caller retries on the
			// new state) or retired by Delete or Close.
			return errRetired
		case <-timer.C:
			log.Warn("quarry: indexes behind; searching what is indexed", "vector_store", st.id, "applied", applied, "want", seq)
			return nil
		}
	}
}

// catchUpAll runs catch-up rounds until the indexes hold every logged
// change.
func (st *vsState) catchUpAll(ctx context.Context, bdb *bolt.DB) error {
	for {
		more, err := st.catchUp(ctx, bdb)
		if err != nil || !more {
			return err
		}
	}
}

// catchUp applies up to catchUpEntries log entries (or catchUpChunks
// chunks, whichever comes first) the derived indexes have not seen, in sequence order, and reports whether more remain. It
// reads chunks and vectors as they are now, so an add whose file was
// deleted since adds nothing.
func (st *vsState) catchUp(ctx context.Context, bdb *bolt.DB) (more bool, err error) {
	if beforeCatchUp != nil {
		beforeCatchUp(st.id)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	defer st.publishLocked()
	from := min(st.vecSeq, st.lexSeq) + 1
	var last uint64
	adds := map[uint64]lexical.Doc{}
	var dels []uint64
	var vecIDs []uint64
	var vecs [][]float32
	changes := 0
	err = bdb.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, st.id)
		if !ok {
			// Deleted: no change will ever come; let waiters go.
			st.gone = true
			return nil
		}
		c := b.log.Cursor()
		n, chunks, text := 0, 0, 0
		for k, v := c.Seek(u64key(from)); k != nil; k, v = c.Next() {
			if n == catchUpEntries || chunks >= catchUpChunks || text >= catchUpText {
				more = true
				break
			}
			n++
			seq := keyU64(k)
			var e logEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: log entry %d: %v", ErrCorrupt, seq, err)
			}
			chunks += len(e.Chunks)
			if e.Op == opVectors && seq > st.vecSeq {
				// Re-embedded: Reembed is about to replace this state. It
				// serves until then, but its graph, holding the old
				// vectors, must never be saved as of this sequence.
				st.noSave = true
			}
			last = seq
			f, err := b.file(e.FileID)
			if err != nil {
				return err
			}
			switch e.Op {
			case opAdd, opAttrs:
				if f == nil {
					continue // deleted since; a later entry removes it
				}
				if seq > st.vecSeq && e.Op == opAdd {
					for _, id := range e.Chunks {
						if v := b.vectors.Get(u64key(id)); v != nil {
							vec, err := decodeVector(v)
							if err != nil {
								return err
							}
							if len(vec) != st.vec.Dim() {
								// Re-embedded under another embedder since
								// this state was built: the state Reembed
								// installs indexes it.
								continue
							}
							vecIDs, vecs = append(vecIDs, id), append(vecs, vec)
						}
					}
				}
				st.noteFile(f)
				if seq > st.lexSeq {
					ds, err := lexDocs(b, f)
					if err != nil {
						return err
					}
					for _, d := range ds {
						text += len(d.Text)
						adds[d.ID] = d
					}
				}
			case opDel:
				if seq > st.vecSeq {
					for _, id := range e.Chunks {
						st.vec.Delete(id)
					}
					changes += len(e.Chunks)
				}
				st.forgetFile(e.FileID, e.Chunks)
				if seq > st.lexSeq {
					for _, id := range e.Chunks {
						delete(adds, id)
						dels = append(dels, id)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: catch up %s: %w", st.id, err)
	}
	if last == 0 {
		return false, nil
	}
	// Within one snapshot no chunk is both added and deleted (chunk ids are
	// never reused and adds read the chunks as they are now), so the vector
	// inserts run in parallel with each other and with the BM25 batch.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := addParallel(gctx, st.vec, vecIDs, vecs); err != nil {
			return fmt.Errorf("store: update vector index of %s: %w", st.id, err)
		}
		return nil
	})
	lexDone := last <= st.lexSeq
	if !lexDone {
		g.Go(func() error {
			docs := make([]lexical.Doc, 0, len(adds))
			for _, d := range adds {
				docs = append(docs, d)
			}
			if err := st.lex.Apply(gctx, last, docs, dels); err != nil {
				return fmt.Errorf("store: update BM25 index of %s: %w", st.id, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	if last > st.vecSeq {
		st.unsaved += changes + len(vecIDs)
		st.vecSeq = last
	}
	if !lexDone {
		st.lexSeq = last
	}
	return more, nil
}

// checkpoint saves the vector graph when it holds checkpointChanges chunk
// changes beyond its saved copy, or any change older than
// checkpointInterval (always, with force), and then trims the log up to
// what both indexes have applied and persisted. Restart cost is then the
// changes since the last checkpoint, not the store's age.
func (st *vsState) checkpoint(db *DB, force bool) error {
	st.mu.Lock()
	due := st.vecSeq > st.savedSeq && (force || st.unsaved >= checkpointChanges || time.Since(st.lastSave) >= checkpointInterval)
	if due && !st.noSave {
		if err := st.saveVectorsLocked(); err != nil {
			st.mu.Unlock()
			return err
		}
	}
	// The BM25 index persists on its own after each Apply (seconds later
	// under load): trim only what it reports on disk, or a crash would
	// leave it behind the log and Open would rebuild it from scratch.
	upTo := min(st.savedSeq, st.lex.PersistedSeq())
	if upTo <= st.trimmed || st.noSave {
		st.mu.Unlock()
		return nil
	}
	st.mu.Unlock()
	if err := db.trimLog(st.id, upTo); err != nil {
		return err
	}
	st.mu.Lock()
	st.trimmed = max(st.trimmed, upTo)
	st.mu.Unlock()
	return nil
}

// trimLog deletes the vector store's log entries up to and including seq,
// in bounded transactions, and records where the log now starts.
func (db *DB) trimLog(vsID string, seq uint64) error {
	for {
		done := false
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			b, ok := buckets(tx, vsID)
			if !ok {
				done = true
				return nil
			}
			rec, err := b.record()
			if err != nil {
				return err
			}
			if rec.LogStart > seq {
				done = true
				return nil
			}
			c := b.log.Cursor()
			n := 0
			for k, _ := c.First(); k != nil && keyU64(k) <= seq; k, _ = c.First() {
				if n == rebuildBatch {
					return nil
				}
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			done = true
			rec.LogStart = seq + 1
			return putJSON(b.root, keyRecord, rec)
		})
		if err != nil {
			return fmt.Errorf("store: trim log of %s: %w", vsID, err)
		}
		if done {
			return nil
		}
	}
}

// allow returns the ann filter for f, or nil when f is nil.
func (st *vsState) allow(f *filter.Filter) ann.Filter {
	if f == nil {
		return nil
	}
	return func(id uint64) bool {
		st.attrMu.RLock()
		defer st.attrMu.RUnlock()
		fid, ok := st.chunkFile[id]
		return ok && f.Match(st.fileAttrs[fid])
	}
}

// retire ends the state's lifetime: no new references, wait for the held
// ones (searches in flight finish on this state), stop the indexer, apply
// what the log holds beyond the indexes when drain is set (DB.Close: the
// next Open then has nothing to catch up), save the graph (unless save is
// false: the store was deleted or the graph handed over) and close the
// BM25 index unless it was handed over.
func (st *vsState) retire(save bool, drain *bolt.DB) error {
	st.refMu.Lock()
	st.retired = true
	for st.refs > 0 {
		st.refIdle.Wait()
	}
	st.refMu.Unlock()
	st.stopIndexer()
	var errs []error
	if drain != nil && !st.noSave {
		errs = append(errs, st.catchUpAll(context.Background(), drain))
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if save {
		errs = append(errs, st.saveVectorsLocked())
	}
	if st.ownsLex {
		errs = append(errs, st.lex.Close())
		st.ownsLex = false
	}
	return errors.Join(errs...)
}
