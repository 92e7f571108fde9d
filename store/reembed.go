package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Reembed recomputes every vector of the vector store with the DB's
// embedder and records it as the store's embedder; use it after switching
// models. Chunks are not re-parsed. Texts already embedded by the new
// embedder come from its cache, if it has one (see embed.NewCached).
func (db *DB) Reembed(ctx context.Context, vsID string) error {
	old, err := db.state(vsID)
	if err != nil {
		return err
	}
	var ids []uint64
	var texts []string
	err = db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vsID)
		if !ok {
			return notFound("vector store", vsID)
		}
		return b.chunks.ForEach(func(k, v []byte) error {
			c, err := decodeChunk(v)
			if err != nil {
				return err
			}
			ids = append(ids, keyU64(k))
			texts = append(texts, c.Text)
			return nil
		})
	})
	if err != nil {
		return err
	}
	id := db.opts.Embedder.Identity()
	const batch = 256
	vecs := make([][]float32, 0, len(texts))
	for i := 0; i < len(texts); i += batch {
		vs, err := db.opts.Embedder.Embed(ctx, texts[i:min(i+batch, len(texts))])
		if err != nil {
			return fmt.Errorf("store: re-embed %s: %w", vsID, err)
		}
		if err := checkVectors(vs, min(batch, len(texts)-i), id.Dimensions); err != nil {
			return fmt.Errorf("store: re-embed %s: %w", vsID, err)
		}
		vecs = append(vecs, vs...)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vsID)
		if !ok {
			return notFound("vector store", vsID)
		}
		for i, cid := range ids {
			if b.chunks.Get(u64key(cid)) == nil {
				continue // deleted meanwhile
			}
			if err := b.vectors.Put(u64key(cid), encodeVector(vecs[i])); err != nil {
				return err
			}
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		// The log entry marks the saved graph stale, also across a crash
		// before the indexes below are reopened (see loadVectors).
		if err := b.appendLog(tx, logEntry{Op: opVectors}, &rec.VectorsSeq); err != nil {
			return err
		}
		rec.Embedder = id
		return putJSON(b.root, keyRecord, rec)
	})
	if err != nil {
		return fmt.Errorf("store: re-embed %s: %w", vsID, err)
	}
	old.close()
	st, err := db.openIndexes(ctx, vsID)
	if err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		st.close()
		return ErrClosed
	}
	db.stores[vsID] = st
	return nil
}
