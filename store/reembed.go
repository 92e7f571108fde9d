package store

import (
	"bytes"
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/ann"
)

// reembedBatch is how many chunks Reembed reads, embeds and writes at a
// time: its memory is one batch of texts and vectors plus the new graph.
const reembedBatch = 256

var bucketNext = []byte("next") // Reembed's staging area inside a vector store's bucket

// Reembed recomputes every vector of the vector store with the DB's
// embedder and records it as the store's embedder; use it after switching
// models. Chunks are not re-parsed. Texts already embedded by the new
// embedder come from its cache, if it has one (see embed.NewCached).
//
// The new vectors are written in batches of reembedBatch to a staging
// bucket and inserted into a new graph as they come; one last transaction
// reconciles them with the chunks added and deleted meanwhile and swaps
// them in. Until then the old indexes keep serving, and an error (or ctx
// done) leaves them serving, with the stored vectors untouched. Files
// that waited for the re-embedding (added under another embedder) are
// queued again once it is done. One Reembed runs at a time per DB.
func (db *DB) Reembed(ctx context.Context, vsID string) error {
	db.reembedMu.Lock()
	defer db.reembedMu.Unlock()
	old, err := db.acquire(vsID)
	if err != nil {
		return err
	}
	old.release()
	id := db.opts.Embedder.Identity()
	h := ann.NewHNSW(id.Dimensions, ann.Config{})
	seq, err := db.stageVectors(ctx, vsID, h)
	if err == nil {
		err = db.swapVectors(ctx, vsID, old, h, seq)
	}
	if err != nil {
		db.bolt.Update(func(tx *bolt.Tx) error {
			if b, ok := buckets(tx, vsID); ok && b.root.Bucket(bucketNext) != nil {
				return b.root.DeleteBucket(bucketNext)
			}
			return nil
		})
		return fmt.Errorf("store: re-embed %s: %w", vsID, err)
	}
	db.unpark(vsID)
	return nil
}

// stageVectors embeds every chunk into the staging bucket next/vectors
// and into h, and then, in one transaction, reconciles the staging bucket
// with the chunks as they are now, moves it in place of the vectors,
// records the embedder and logs the change. It returns the sequence of
// that log entry: h reflects the vectors as of it.
func (db *DB) stageVectors(ctx context.Context, vsID string, h *ann.HNSW) (uint64, error) {
	id := db.opts.Embedder.Identity()
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vsID)
		if !ok {
			return notFound("vector store", vsID)
		}
		if b.root.Bucket(bucketNext) != nil {
			if err := b.root.DeleteBucket(bucketNext); err != nil {
				return err
			}
		}
		next, err := b.root.CreateBucket(bucketNext)
		if err != nil {
			return err
		}
		_, err = next.CreateBucket(bucketVectors)
		return err
	})
	if err != nil {
		return 0, err
	}
	var after []byte
	ids := make([]uint64, 0, reembedBatch)
	texts := make([]string, 0, reembedBatch)
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		ids, texts = ids[:0], texts[:0]
		err := db.bolt.View(func(tx *bolt.Tx) error {
			b, ok := buckets(tx, vsID)
			if !ok {
				return notFound("vector store", vsID)
			}
			c := b.chunks.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(ids) < reembedBatch; k, v = c.Next() {
				ch, err := decodeChunk(v)
				if err == nil {
					err = b.fillText(ch)
				}
				if err != nil {
					return err
				}
				ids, texts = append(ids, keyU64(k)), append(texts, ch.Text)
				after = append(after[:0], k...)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if len(ids) == 0 {
			break
		}
		vecs, err := db.opts.Embedder.Embed(ctx, texts)
		if err != nil {
			return 0, err
		}
		if err := checkVectors(vecs, len(texts), id.Dimensions); err != nil {
			return 0, err
		}
		err = db.bolt.Batch(func(tx *bolt.Tx) error {
			b, ok := buckets(tx, vsID)
			if !ok {
				return notFound("vector store", vsID)
			}
			next := b.root.Bucket(bucketNext).Bucket(bucketVectors)
			for i, cid := range ids {
				if err := next.Put(u64key(cid), encodeVector(vecs[i])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if err := addParallel(ctx, h, ids, vecs); err != nil {
			return 0, err
		}
	}
	// The swap. Chunks added since their batch was read were embedded by
	// the DB's embedder, the new one (a store waiting for a re-embedding
	// ingests nothing), so their vectors are copied as they are; chunks
	// deleted since are dropped.
	var seq uint64
	var added, removed []uint64
	var addedVecs [][]float32
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		added, removed, addedVecs = nil, nil, nil
		b, ok := buckets(tx, vsID)
		if !ok {
			return notFound("vector store", vsID)
		}
		nextRoot := b.root.Bucket(bucketNext)
		next := nextRoot.Bucket(bucketVectors)
		nc := next.Cursor()
		for k, _ := nc.First(); k != nil; {
			if b.chunks.Get(k) != nil {
				k, _ = nc.Next()
				continue
			}
			removed = append(removed, keyU64(k))
			if err := nc.Delete(); err != nil {
				return err
			}
			k, _ = nc.Seek(k)
		}
		cc := b.chunks.Cursor()
		for k, _ := cc.First(); k != nil; k, _ = cc.Next() {
			if next.Get(k) != nil {
				continue
			}
			v := b.vectors.Get(k)
			if v == nil {
				continue
			}
			vec, err := decodeVector(v)
			if err != nil {
				return err
			}
			if len(vec) != id.Dimensions {
				return fmt.Errorf("%w: chunk %d has a vector of %d dimensions, want %d", ErrCorrupt, keyU64(k), len(vec), id.Dimensions)
			}
			if err := next.Put(k, v); err != nil {
				return err
			}
			added, addedVecs = append(added, keyU64(k)), append(addedVecs, vec)
		}
		if err := b.root.DeleteBucket(bucketVectors); err != nil {
			return err
		}
		if err := tx.MoveBucket(bucketVectors, nextRoot, b.root); err != nil {
			return err
		}
		if err := b.root.DeleteBucket(bucketNext); err != nil {
			return err
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		// The log entry marks the saved graph stale, also across a crash
		// before the new graph is saved (see savedGraph).
		if err := b.appendLog(tx, logEntry{Op: opVectors}, &rec.VectorsSeq); err != nil {
			return err
		}
		seq = rec.VectorsSeq
		rec.Embedder = id
		return putJSON(b.root, keyRecord, rec)
	})
	if err != nil {
		return 0, err
	}
	for _, cid := range removed {
		h.Delete(cid)
	}
	// Committed: from here on the new vectors are the source of truth, so
	// the graph is finished whatever ctx says.
	if err := addParallel(context.Background(), h, added, addedVecs); err != nil {
		return 0, err
	}
	return seq, nil
}

// swapVectors builds the new state around graph h (at sequence seq), hands
// it the old state's BM25 index, installs it and retires the old state,
// which searches in flight finish on. If the store was deleted meanwhile,
// it returns ErrNotFound.
func (db *DB) swapVectors(ctx context.Context, vsID string, old *vsState, h *ann.HNSW, seq uint64) error {
	db.swapMu.Lock()
	defer db.swapMu.Unlock()
	db.mu.RLock()
	cur, closed := db.stores[vsID], db.closed
	db.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if cur != old {
		return notFound("vector store", vsID)
	}
	st := newState(db.dir, vsID)
	st.identity = db.opts.Embedder.Identity()
	if err := st.loadFiles(db.bolt); err != nil {
		return err
	}
	// The old indexer stops (its searches go on); the BM25 index, which a
	// re-embedding leaves valid, changes hands with the sequence it is at.
	old.stopIndexer()
	old.mu.Lock()
	st.lex, st.lexSeq = old.lex, old.lexSeq
	old.ownsLex, old.noSave = false, true
	old.mu.Unlock()
	st.vec, st.vecSeq = h, seq
	// Catch up on a context of our own: the swap is committed, so an
	// error here only leaves work for the indexer.
	if err := st.catchUpAll(context.Background(), db.bolt); err != nil {
		db.log.Error("quarry: index update failed", "vector_store", vsID, "err", err)
	}
	st.mu.Lock()
	st.publishLocked()
	st.mu.Unlock()
	go st.indexer(db)
	db.mu.Lock()
	db.stores[vsID] = st
	db.mu.Unlock()
	// Files the new state applied become completed only now that searches
	// reach it (the old state's graph lacks their vectors).
	st.mu.Lock()
	st.unidx = db.unidx
	st.progMu.Lock()
	applied := st.applied
	st.progMu.Unlock()
	st.unidx.advance(vsID, applied)
	st.mu.Unlock()
	st.committed()
	old.retire(false, nil)
	// Save the new graph now: until then a restart rebuilds it.
	return st.checkpoint(db, true)
}
