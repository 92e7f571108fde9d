package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Expiry, as OpenAI defines it: a vector store created or updated with
// ExpiresAfter{Anchor: "last_active_at", Days: n} expires n days after its
// last activity. Activity is a search on it, a file added to it or
// finishing ingestion, and an Update of it (OpenAI: "the last time the
// vector store was active"). From expires_at on, the store reports status
// "expired", its searches and AddFile fail with ErrExpired, and the
// reclaimer removes its files; the store itself stays, retrievable, until
// deleted, and no later activity revives it (OpenAI's advice for an
// expired store is to create a new one).
//
// The reclaimer is one goroutine per DB (started by Open, stopped by
// Close) that checks every store at Open and then every reclaimInterval.
// Its state is the store record's Expired flag, set in the same
// transaction that decides the expiry; files are then deleted one by one
// through DeleteFile, so a restart in the middle finishes the job at the
// next Open.

// reclaimInterval is how often the reclaimer looks for expired stores.
const reclaimInterval = time.Minute

// now is the DB's clock: time.Now unless Options.Clock is set.
func (db *DB) now() time.Time {
	if db.opts.Clock != nil {
		return db.opts.Clock()
	}
	return time.Now()
}

// expiresAt is when the store expires (unix time), or 0 for never.
func (r *vsRecord) expiresAt() int64 {
	if r.ExpiresAfter == nil {
		return 0
	}
	return r.LastActiveAt + int64(r.ExpiresAfter.Days)*86400
}

// expiredAt reports whether the store has expired at now (unix time).
func (r *vsRecord) expiredAt(now int64) bool {
	if r.Expired {
		return true
	}
	at := r.expiresAt()
	return at != 0 && now >= at
}

// active records activity on rec: last_active_at moves to now, unless the
// store has expired, which activity does not undo; it is marked expired
// instead, for the reclaimer.
func (db *DB) active(rec *vsRecord) {
	now := db.now().Unix()
	if rec.expiredAt(now) {
		rec.Expired = true
		return
	}
	rec.LastActiveAt = max(rec.LastActiveAt, now)
}

// live returns ErrExpired if the store of rec has expired.
func (db *DB) live(vsID string, rec *vsRecord) error {
	if rec.expiredAt(db.now().Unix()) {
		return fmt.Errorf("%w: %s expired at %d; create a new vector store", ErrExpired, vsID, rec.expiresAt())
	}
	return nil
}

// reclaimer runs reclaimExpired at once and then every reclaimInterval,
// until Close.
func (db *DB) reclaimer() {
	defer db.wg.Done()
	every := reclaimInterval
	if db.opts.ReclaimInterval > 0 {
		every = db.opts.ReclaimInterval
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-db.wctx.Done():
			return
		case <-t.C:
		}
		if err := db.reclaimExpired(db.wctx); err != nil && !errors.Is(err, ErrClosed) && db.wctx.Err() == nil {
			db.log.Warn("store: reclaiming expired vector stores", "err", err)
		}
		t.Reset(every)
	}
}

// reclaimExpired marks every store past its expiry as expired and removes
// the files of every expired store, then deletes the expired uploads.
func (db *DB) reclaimExpired(ctx context.Context) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	uerr := db.reclaimUploads(ctx)
	now := db.now().Unix()
	var due []string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketVS).ForEachBucket(func(k []byte) error {
			b, _ := buckets(tx, string(k))
			rec, err := b.record()
			if err != nil {
				return err
			}
			if rec.expiredAt(now) && !(rec.Expired && isEmpty(b.files)) {
				due = append(due, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("store: reclaim: %w", err)
	}
	var errs []error
	for _, id := range due {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := db.reclaim(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("store: reclaim %s: %w", id, err))
		}
	}
	return errors.Join(append(errs, uerr)...)
}

// reclaimUploads deletes the uploads past their ExpiresAt, once the
// earliest is due: db.uploadsDue is 0 until the first scan (at Open),
// math.MaxInt64 when none expires, and Commit lowers it. An expired
// upload reads as deleted from its ExpiresAt on (liveUpload); this removes
// it, with its copies in vector stores, within a reclaim interval.
func (db *DB) reclaimUploads(ctx context.Context) error {
	now := db.now().Unix()
	if due := db.uploadsDue.Load(); due != 0 && now < due {
		return nil
	}
	// Uploads committed from here on lower uploadsDue themselves; the
	// scan below sees every one committed before.
	db.uploadsDue.Store(math.MaxInt64)
	var due []*Upload
	next := int64(math.MaxInt64)
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUploads).ForEach(func(k, v []byte) error {
			var up Upload
			if err := json.Unmarshal(v, &up); err != nil {
				return fmt.Errorf("%w: upload record %s: %v", ErrCorrupt, k, err)
			}
			switch {
			case up.ExpiresAt == 0:
			case up.expired(now):
				due = append(due, &up)
			default:
				next = min(next, up.ExpiresAt)
			}
			return nil
		})
	})
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, up := range due {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := db.deleteUpload(ctx, up); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("store: reclaim upload %s: %w", up.ID, err))
		}
	}
	if len(errs) > 0 {
		next = now + 1 // try again at the next round
	}
	db.uploadDueBy(next)
	if len(due) > 0 {
		db.log.Info("store: expired uploads deleted", "files", len(due))
	}
	return errors.Join(errs...)
}

// uploadDueBy lowers the time of the next upload reclamation to at,
// unless no scan ran yet (the first one reads every upload).
func (db *DB) uploadDueBy(at int64) {
	for {
		due := db.uploadsDue.Load()
		if due == 0 || due <= at || db.uploadsDue.CompareAndSwap(due, at) {
			return
		}
	}
}

// reclaim expires the vector store if it is past its expiry, and deletes
// its files.
func (db *DB) reclaim(ctx context.Context, vsID string) error {
	// Activity noted by a search but not yet written counts: the search
	// ran before the expiry.
	db.mu.RLock()
	st := db.stores[vsID]
	db.mu.RUnlock()
	if st != nil {
		db.writeTouch(st)
	}
	var files []string
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vsID)
		if !ok {
			return notFound("vector store", vsID)
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		if !rec.expiredAt(db.now().Unix()) {
			return nil
		}
		if err := b.files.ForEach(func(k, _ []byte) error {
			files = append(files, string(k))
			return nil
		}); err != nil {
			return err
		}
		if rec.Expired {
			return nil
		}
		rec.Expired = true
		return putJSON(b.root, keyRecord, rec)
	})
	if err != nil {
		return err
	}
	if len(files) > 0 {
		db.log.Info("store: vector store expired, removing its files", "vector_store", vsID, "files", len(files))
	}
	vs := &VectorStore{db: db, id: vsID}
	for _, id := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := vs.DeleteFile(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

func isEmpty(b *bolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k == nil
}
