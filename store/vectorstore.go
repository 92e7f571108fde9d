package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// VectorStore is a handle on one vector store of a DB. It is cheap, holds no
// resources and is safe for concurrent use.
type VectorStore struct {
	db *DB
	id string
}

// ID returns the vector store's id.
func (vs *VectorStore) ID() string { return vs.id }

func validateMetadata(m map[string]string) error {
	var errs []error
	if len(m) > 16 {
		errs = append(errs, invalidf("metadata has %d pairs, at most 16 allowed", len(m)))
	}
	for k, v := range m {
		if len(k) > 64 {
			errs = append(errs, invalidf("metadata key %q is longer than 64 characters", k))
		}
		if utf8.RuneCountInString(v) > 512 {
			errs = append(errs, invalidf("metadata value of %q is longer than 512 characters", k))
		}
	}
	return errors.Join(errs...)
}

func validateExpiry(e *ExpiresAfter) error {
	if e == nil {
		return nil
	}
	if e.Anchor != "" && e.Anchor != "last_active_at" {
		return invalidf("expires_after.anchor must be \"last_active_at\", got %q", e.Anchor)
	}
	if e.Days < 1 || e.Days > 365 {
		return invalidf("expires_after.days must be between 1 and 365, got %d", e.Days)
	}
	return nil
}

// CreateVectorStore creates an empty vector store built by the DB's embedder.
func (db *DB) CreateVectorStore(ctx context.Context, p VectorStoreParams) (*VectorStore, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if err := errors.Join(validateMetadata(p.Metadata), validateExpiry(p.ExpiresAfter)); err != nil {
		return nil, err
	}
	now := db.now().Unix()
	rec := &vsRecord{
		ID: newID("vs_"), Name: p.Name, CreatedAt: now, LastActiveAt: now,
		Metadata: p.Metadata, Embedder: db.opts.Embedder.Identity(),
	}
	if p.ExpiresAfter != nil {
		e := *p.ExpiresAfter
		e.Anchor = "last_active_at"
		rec.ExpiresAfter = &e
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		root, err := tx.Bucket(bucketVS).CreateBucket([]byte(rec.ID))
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketFiles, bucketChunks, bucketVectors, bucketLog, bucketTexts, bucketPending, bucketBatches} {
			if _, err := root.CreateBucket(name); err != nil {
				return err
			}
		}
		return putJSON(root, keyRecord, rec)
	})
	if err != nil {
		return nil, fmt.Errorf("store: create vector store: %w", err)
	}
	st, err := db.openIndexes(ctx, rec.ID)
	if err != nil {
		// Not created after all (a full disk, say): take the record back,
		// so that a failed create leaves nothing behind.
		db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketVS).DeleteBucket([]byte(rec.ID)) })
		os.RemoveAll(filepath.Join(db.dir, "indexes", rec.ID))
		return nil, err
	}
	db.swapMu.Lock()
	defer db.swapMu.Unlock()
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		st.retire(false, nil)
		return nil, ErrClosed
	}
	db.stores[rec.ID] = st
	db.mu.Unlock()
	return &VectorStore{db: db, id: rec.ID}, nil
}

// VectorStore returns a handle on the vector store with id, or ErrNotFound.
func (db *DB) VectorStore(id string) (*VectorStore, error) {
	st, err := db.acquire(id)
	if err != nil {
		return nil, err
	}
	st.release()
	return &VectorStore{db: db, id: id}, nil
}

// VectorStoreByName returns the most recently created vector store named
// name, or ErrNotFound.
func (db *DB) VectorStoreByName(ctx context.Context, name string) (*VectorStore, error) {
	all, err := db.allVectorStores(ctx)
	if err != nil {
		return nil, err
	}
	var best *VectorStoreInfo
	for i := range all {
		if all[i].Name == name && (best == nil || all[i].CreatedAt >= best.CreatedAt) {
			best = &all[i]
		}
	}
	if best == nil {
		return nil, notFound("vector store named", name)
	}
	return &VectorStore{db: db, id: best.ID}, nil
}

func (db *DB) allVectorStores(ctx context.Context) ([]VectorStoreInfo, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	var out []VectorStoreInfo
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketVS).ForEachBucket(func(k []byte) error {
			b, _ := buckets(tx, string(k))
			rec, err := b.record()
			if err != nil {
				return err
			}
			out = append(out, rec.info(db.now().Unix(), db.unidx.count(rec.ID)))
			return nil
		})
	})
	return out, err
}

// VectorStores returns every vector store, newest first (by creation
// time, then id).
func (db *DB) VectorStores(ctx context.Context) ([]VectorStoreInfo, error) {
	all, err := db.allVectorStores(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b VectorStoreInfo) int { return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	return all, nil
}

// newestFirst orders by creation time, then id, descending.
func newestFirst(ta int64, ida string, tb int64, idb string) int {
	if c := cmp.Compare(tb, ta); c != 0 {
		return c
	}
	return strings.Compare(idb, ida)
}

// info converts the record into the public object, as of now (unix time),
// counting unindexed of its completed files (committed, not yet applied
// by the indexes) as in progress.
func (r *vsRecord) info(now int64, unindexed int) VectorStoreInfo {
	v := VectorStoreInfo{
		ID: r.ID, CreatedAt: r.CreatedAt, Name: r.Name,
		UsageBytes: r.UsageBytes, FileCounts: r.Counts, ExpiresAfter: r.ExpiresAfter,
		LastActiveAt: r.LastActiveAt, Metadata: r.Metadata, Embedder: r.Embedder,
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	n := min(unindexed, v.FileCounts.Completed)
	v.FileCounts.Completed -= n
	v.FileCounts.InProgress += n
	v.Status = "completed"
	if v.FileCounts.InProgress > 0 {
		v.Status = "in_progress"
	}
	if r.ExpiresAfter != nil {
		at := r.expiresAt()
		v.ExpiresAt = &at
	}
	if r.expiredAt(now) {
		v.Status = "expired"
	}
	return v
}

// Info returns the vector store's current description.
func (vs *VectorStore) Info(ctx context.Context) (*VectorStoreInfo, error) {
	if err := vs.db.checkOpen(); err != nil {
		return nil, err
	}
	var info VectorStoreInfo
	err := vs.db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vs.id)
		if !ok {
			return notFound("vector store", vs.id)
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		info = rec.info(vs.db.now().Unix(), vs.db.unidx.count(vs.id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// Update modifies the vector store's name, metadata or expiry.
func (vs *VectorStore) Update(ctx context.Context, u VectorStoreUpdate) (*VectorStoreInfo, error) {
	if err := vs.db.checkOpen(); err != nil {
		return nil, err
	}
	if err := validateMetadata(u.Metadata); err != nil {
		return nil, err
	}
	if u.ExpiresAfter != nil && u.ExpiresAfter.Days != 0 {
		if err := validateExpiry(u.ExpiresAfter); err != nil {
			return nil, err
		}
	}
	var info VectorStoreInfo
	err := vs.db.bolt.Update(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vs.id)
		if !ok {
			return notFound("vector store", vs.id)
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		// Activity is judged before the change: extending the expiry of
		// a store past it does not revive it.
		vs.db.active(rec)
		if u.Name != nil {
			rec.Name = *u.Name
		}
		if u.Metadata != nil {
			rec.Metadata = u.Metadata
		}
		if u.ExpiresAfter != nil {
			if u.ExpiresAfter.Days == 0 {
				rec.ExpiresAfter = nil
			} else {
				e := *u.ExpiresAfter
				e.Anchor = "last_active_at"
				rec.ExpiresAfter = &e
			}
		}
		info = rec.info(vs.db.now().Unix(), vs.db.unidx.count(vs.id))
		return putJSON(b.root, keyRecord, rec)
	})
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// Delete deletes the vector store, its files and its indexes. Searches
// and other calls already running on the store finish first (Delete waits
// for them); calls made once Delete has begun return ErrNotFound.
func (vs *VectorStore) Delete(ctx context.Context) error {
	db := vs.db
	db.swapMu.Lock()
	defer db.swapMu.Unlock()
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return ErrClosed
	}
	// Take the state out of reach and let the calls holding it finish on
	// it, then delete the source of truth.
	st, ok := db.stores[vs.id]
	delete(db.stores, vs.id)
	db.mu.Unlock()
	if !ok {
		return notFound("vector store", vs.id)
	}
	st.retire(false, nil)
	var blobs []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vs.id)
		if !ok {
			return notFound("vector store", vs.id)
		}
		err := b.files.ForEach(func(k, v []byte) error {
			f, err := decodeFile(v)
			if err != nil {
				return err
			}
			if f.Attached {
				return tx.Bucket(bucketLinks).Delete(linkKey(f.ID, vs.id))
			}
			blobs = append(blobs, f.ID)
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketVS).DeleteBucket([]byte(vs.id))
	})
	if err != nil {
		// Still there: serve it again (from its last checkpoint).
		if st, oerr := db.openIndexes(ctx, vs.id); oerr == nil {
			db.mu.Lock()
			if db.closed {
				db.mu.Unlock()
				st.retire(true, nil)
			} else {
				db.stores[vs.id] = st
				db.mu.Unlock()
			}
		}
		return err
	}
	db.unidx.advance(vs.id, math.MaxUint64) // its pending files are gone
	db.mu.Lock()
	for id := range db.parked[vs.id] {
		delete(db.queued, job{vs.id, id})
	}
	delete(db.parked, vs.id)
	db.mu.Unlock()
	for _, id := range blobs {
		db.removeBlob(db.blobPath(id))
	}
	return os.RemoveAll(st.dir)
}
