package store

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/ann"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/internal/durable"
	"github.com/quarrylabs/quarry/lexical"
)

// vsState holds a vector store's derived indexes: the vector index and the
// BM25 index. Both are rebuilt or caught up from the source of truth (the
// bbolt log) and never hold anything the source of truth does not.
type vsState struct {
	id       string
	dir      string
	identity embed.Identity
	// mismatch is set when the DB's embedder differs from the one that
	// built the store; it is fixed at open.
	mismatch error

	kick chan struct{} // wakes the indexer goroutine
	stop chan struct{} // closed by close
	done chan struct{} // closed when the indexer goroutine returns

	mu       sync.Mutex // serializes catchUp
	vecSeq   uint64     // guarded by mu: last log sequence applied to vec
	savedSeq uint64     // guarded by mu: the sequence of the saved graph
	lexSeq   uint64     // guarded by mu: last log sequence applied to lex
	vec      *ann.HNSW
	lex      *lexical.Index

	attrMu    sync.RWMutex
	chunkFile map[uint64]string         // guarded by attrMu: chunk id -> file id
	fileAttrs map[string]map[string]any // guarded by attrMu: file id -> attributes
	fileNames map[string]string         // guarded by attrMu: file id -> filename
	lastTouch int64                     // guarded by attrMu: unix time of the last recorded activity
}

// openIndexes opens the vector store's derived indexes and catches them up
// with the log. The vector index is rebuilt from the stored vectors; the
// BM25 index is reopened and replays what it missed, or is rebuilt when it
// cannot be opened.
func (db *DB) openIndexes(ctx context.Context, vsID string) (*vsState, error) {
	st := &vsState{
		id: vsID, dir: filepath.Join(db.dir, "indexes", vsID),
		chunkFile: map[uint64]string{}, fileAttrs: map[string]map[string]any{}, fileNames: map[string]string{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	var rec *vsRecord
	var last uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vsID)
		if !ok {
			return notFound("vector store", vsID)
		}
		var err error
		if rec, err = b.record(); err != nil {
			return err
		}
		if k, _ := b.log.Cursor().Last(); k != nil {
			last = keyU64(k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st.identity = rec.Embedder
	if cur := db.opts.Embedder.Identity(); cur != rec.Embedder {
		st.mismatch = fmt.Errorf("%w: vector store %s was built with %s, this DB embeds with %s; use the same embedder or re-embed the store (DB.Reembed)",
			ErrEmbedderMismatch, vsID, rec.Embedder, cur)
	}
	if err := os.MkdirAll(st.dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	st.lex, err = lexical.Open(filepath.Join(st.dir, "bm25"), db.opts.Lexical)
	if err != nil {
		db.log.Warn("quarry: rebuilding the BM25 index", "vector_store", vsID, "err", err)
		if err := os.RemoveAll(filepath.Join(st.dir, "bm25")); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if st.lex, err = lexical.Open(filepath.Join(st.dir, "bm25"), db.opts.Lexical); err != nil {
			return nil, fmt.Errorf("store: open BM25 index: %w", err)
		}
	}
	if st.lexSeq, err = st.lex.Seq(); err != nil {
		st.lex.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if st.lexSeq > last {
		// The index claims changes the source of truth never made: rebuild.
		st.lexSeq = 0
	}
	if err := st.loadVectors(db.bolt, last, db.log); err != nil {
		st.lex.Close()
		return nil, err
	}
	if st.lexSeq == 0 && last > 0 {
		if err := st.rebuildLexical(ctx, db.bolt, last); err != nil {
			st.lex.Close()
			return nil, err
		}
	}
	if err := st.catchUp(ctx, db.bolt); err != nil {
		st.lex.Close()
		return nil, err
	}
	go st.indexer(db)
	return st, nil
}

// indexer applies committed changes to the indexes in the background, as
// many at a time as have accumulated, so that ingestion never waits for
// the BM25 index. Searches catch up themselves when they find the indexes
// behind (see current), so a completed file is always searchable.
func (st *vsState) indexer(db *DB) {
	defer close(st.done)
	for {
		select {
		case <-st.stop:
			return
		case <-st.kick:
			if err := st.catchUp(context.Background(), db.bolt); err != nil {
				db.log.Error("quarry: index update failed", "vector_store", st.id, "err", err)
			}
		}
	}
}

// committed wakes the indexer after a commit that logged a change.
func (st *vsState) committed() {
	select {
	case st.kick <- struct{}{}:
	default:
	}
}

// current brings the indexes up to the newest committed change. It reads
// the newest sequence from the log itself, so a change whose commit a
// caller has seen (a completed file, say) is always searchable.
func (st *vsState) current(ctx context.Context, bdb *bolt.DB) error {
	var last uint64
	err := bdb.View(func(tx *bolt.Tx) error {
		if b, ok := buckets(tx, st.id); ok {
			if k, _ := b.log.Cursor().Last(); k != nil {
				last = keyU64(k)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	st.mu.Lock()
	behind := min(st.vecSeq, st.lexSeq) < last
	st.mu.Unlock()
	if !behind {
		return nil
	}
	return st.catchUp(ctx, bdb)
}

// loadVectors opens the saved HNSW graph and the files' attributes. A
// missing, stale (newer than the log, or older than the last Reembed) or
// corrupt graph is rebuilt from the stored vectors and saved, so the next
// open is fast.
func (st *vsState) loadVectors(bdb *bolt.DB, last uint64, log *slog.Logger) error {
	var vectorsSeq uint64
	err := bdb.View(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, st.id)
		rec, err := b.record()
		if err != nil {
			return err
		}
		vectorsSeq = rec.VectorsSeq
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
	if h, err := readGraph(st.graphPath()); err == nil && h.Dim() == st.identity.Dimensions && h.Seq() <= last && h.Seq() >= vectorsSeq {
		st.vec, st.vecSeq, st.savedSeq = h, h.Seq(), h.Seq()
		return nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Warn("quarry: rebuilding the vector index", "vector_store", st.id, "err", err)
	}
	h := ann.NewHNSW(st.identity.Dimensions, ann.Config{})
	err = bdb.View(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, st.id)
		h.Reserve(b.vectors.Stats().KeyN)
		return b.vectors.ForEach(func(k, v []byte) error {
			vec, err := decodeVector(v)
			if err != nil {
				return err
			}
			return h.Add(keyU64(k), vec)
		})
	})
	if err != nil {
		return fmt.Errorf("store: load vectors of %s: %w", st.id, err)
	}
	st.vec, st.vecSeq = h, last
	if last > 0 {
		return st.saveVectorsLocked()
	}
	return nil
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
	if st.vecSeq == st.savedSeq {
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
	st.savedSeq = st.vecSeq
	return nil
}

// rebuildLexical re-indexes every chunk into an empty BM25 index.
func (st *vsState) rebuildLexical(ctx context.Context, bdb *bolt.DB, last uint64) error {
	var docs []lexical.Doc
	err := bdb.View(func(tx *bolt.Tx) error {
		b, _ := buckets(tx, st.id)
		return b.files.ForEach(func(_, v []byte) error {
			f, err := decodeFile(v)
			if err != nil || f.Status != StatusCompleted {
				return err
			}
			ds, err := lexDocs(b, f)
			docs = append(docs, ds...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("store: rebuild BM25 index of %s: %w", st.id, err)
	}
	const batch = 2000
	for i := 0; i < len(docs) || i == 0; i += batch {
		if err := st.lex.Apply(ctx, last, docs[i:min(i+batch, len(docs))], nil); err != nil {
			return fmt.Errorf("store: rebuild BM25 index of %s: %w", st.id, err)
		}
	}
	st.lexSeq = last
	return nil
}

// lexDocs returns the BM25 documents of a file's chunks as stored now.
func lexDocs(b vsBuckets, f *File) ([]lexical.Doc, error) {
	docs := make([]lexical.Doc, 0, len(f.ChunkIDs))
	for _, id := range f.ChunkIDs {
		v := b.chunks.Get(u64key(id))
		if v == nil {
			continue
		}
		c, err := decodeChunk(v)
		if err != nil {
			return nil, err
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

// catchUp applies the log entries the derived indexes have not seen, in
// sequence order. It reads chunks and vectors as they are now, so an add
// whose file was deleted since adds nothing.
func (st *vsState) catchUp(ctx context.Context, bdb *bolt.DB) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	from := min(st.vecSeq, st.lexSeq) + 1
	var last uint64
	adds := map[uint64]lexical.Doc{}
	var dels []uint64
	type vecAdd struct {
		id  uint64
		vec []float32
	}
	var vecAdds []vecAdd
	err := bdb.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, st.id)
		if !ok {
			return nil
		}
		c := b.log.Cursor()
		for k, v := c.Seek(u64key(from)); k != nil; k, v = c.Next() {
			seq := keyU64(k)
			last = seq
			var e logEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("%w: log entry %d: %v", ErrCorrupt, seq, err)
			}
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
							vecAdds = append(vecAdds, vecAdd{id, vec})
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
						adds[d.ID] = d
					}
				}
			case opDel:
				if seq > st.vecSeq {
					for _, id := range e.Chunks {
						st.vec.Delete(id)
					}
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
		return fmt.Errorf("store: catch up %s: %w", st.id, err)
	}
	if last == 0 {
		return nil
	}
	// Within one snapshot no chunk is both added and deleted (chunk ids are
	// never reused and adds read the chunks as they are now), so the vector
	// inserts run in parallel with each other and with the BM25 batch.
	g, gctx := errgroup.WithContext(ctx)
	workers := max(1, min(runtime.GOMAXPROCS(0), len(vecAdds)/64))
	for w := range workers {
		g.Go(func() error {
			for i := w; i < len(vecAdds); i += workers {
				if err := gctx.Err(); err != nil {
					return err
				}
				if err := st.vec.Add(vecAdds[i].id, vecAdds[i].vec); err != nil {
					return fmt.Errorf("store: update vector index of %s: %w", st.id, err)
				}
			}
			return nil
		})
	}
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
		return err
	}
	st.vecSeq = max(st.vecSeq, last)
	if !lexDone {
		st.lexSeq = last
	}
	return nil
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

func (st *vsState) close() error {
	select {
	case <-st.stop:
	default:
		close(st.stop)
		<-st.done
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.lex == nil {
		return nil
	}
	var errs []error
	if _, err := os.Stat(st.dir); err == nil {
		errs = append(errs, st.saveVectorsLocked())
	}
	errs = append(errs, st.lex.Close())
	st.lex = nil
	return errors.Join(errs...)
}
