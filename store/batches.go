package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MaxBatchFiles is the most files one file batch may hold, as OpenAI's
// limit.
const MaxBatchFiles = 2000

var bucketBatches = []byte("batches") // per vector store: batch id -> batchRecord

// batchRecord is a file batch as persisted.
type batchRecord struct {
	ID        string   `json:"id"`
	CreatedAt int64    `json:"created_at"`
	FileIDs   []string `json:"file_ids"`
	Cancelled bool     `json:"cancelled,omitempty"`
}

// FileBatch describes a file batch: files attached to a vector store
// together. Its status and counts follow its files' statuses (files
// deleted since are not counted): in_progress while one is, cancelled once
// cancelled, failed when every file failed, completed otherwise.
type FileBatch struct {
	ID            string
	VectorStoreID string
	CreatedAt     int64
	Status        FileStatus
	FileCounts    FileCounts
}

// CreateFileBatch attaches the uploads named by files (see AttachFile) in
// one transaction and records them as a batch. Every item is validated
// first (ids, attributes, chunking strategies): an invalid batch attaches
// nothing. A file the store already holds is part of the batch as it is.
func (vs *VectorStore) CreateFileBatch(ctx context.Context, files []BatchFile) (*FileBatch, error) {
	bt := &batchRecord{ID: newID("vsfb_"), CreatedAt: time.Now().Unix()}
	if _, err := vs.attach(ctx, files, bt); err != nil {
		return nil, err
	}
	return vs.FileBatch(ctx, bt.ID)
}

// batchIn returns the buckets of vector store vsID and its batch id, or
// ErrNotFound naming the one that is missing.
func batchIn(tx *bolt.Tx, vsID, id string) (vsBuckets, *batchRecord, error) {
	b, ok := buckets(tx, vsID)
	if !ok {
		return b, nil, notFound("vector store", vsID)
	}
	r, err := getBatch(b, id)
	return b, r, err
}

func getBatch(b vsBuckets, id string) (*batchRecord, error) {
	bb := b.root.Bucket(bucketBatches)
	if bb == nil {
		return nil, notFound("file batch", id)
	}
	v := bb.Get([]byte(id))
	if v == nil {
		return nil, notFound("file batch", id)
	}
	var r batchRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("%w: batch record %s: %v", ErrCorrupt, id, err)
	}
	return &r, nil
}

// batchFiles returns the batch's files still in the store, with status
// when not empty.
func batchFiles(b vsBuckets, r *batchRecord, status FileStatus) ([]File, error) {
	var out []File
	for _, id := range r.FileIDs {
		f, err := b.file(id)
		if err != nil {
			return nil, err
		}
		if f == nil || (status != "" && f.Status != status) {
			continue
		}
		f.ChunkIDs = nil
		out = append(out, *f)
	}
	return out, nil
}

// describe sums the batch's files as callers see them (see DB.shown).
func (r *batchRecord) describe(db *DB, vsID string, files []File) *FileBatch {
	fb := &FileBatch{ID: r.ID, VectorStoreID: vsID, CreatedAt: r.CreatedAt}
	for _, f := range files {
		db.shown(vsID, &f)
		fb.FileCounts.add(f.Status, 1)
	}
	c := fb.FileCounts
	switch {
	case c.InProgress > 0:
		fb.Status = StatusInProgress
	case r.Cancelled:
		fb.Status = StatusCancelled
	case c.Total > 0 && c.Failed == c.Total:
		fb.Status = StatusFailed
	default:
		fb.Status = StatusCompleted
	}
	return fb
}

// FileBatch returns the batch with id, or ErrNotFound.
func (vs *VectorStore) FileBatch(ctx context.Context, id string) (*FileBatch, error) {
	if err := vs.db.checkOpen(); err != nil {
		return nil, err
	}
	var fb *FileBatch
	err := vs.db.bolt.View(func(tx *bolt.Tx) error {
		b, r, err := batchIn(tx, vs.id, id)
		if err != nil {
			return err
		}
		files, err := batchFiles(b, r, "")
		fb = r.describe(vs.db, vs.id, files)
		return err
	})
	return fb, err
}

// FileBatchFiles returns the batch's files, only those with status when
// it is not empty, in the batch's order.
func (vs *VectorStore) FileBatchFiles(ctx context.Context, id string, status FileStatus) ([]File, error) {
	if err := checkStatus(status); err != nil {
		return nil, err
	}
	if err := vs.db.checkOpen(); err != nil {
		return nil, err
	}
	var files []File
	err := vs.db.bolt.View(func(tx *bolt.Tx) error {
		b, r, err := batchIn(tx, vs.id, id)
		if err != nil {
			return err
		}
		files, err = batchFiles(b, r, "")
		return err
	})
	out := files[:0]
	for _, f := range files {
		vs.db.shown(vs.id, &f)
		if status == "" || f.Status == status {
			out = append(out, f)
		}
	}
	return out, err
}

// CancelFileBatch cancels the batch: its files still in progress become
// cancelled (queued ones are never ingested, one being ingested is
// dropped at its commit) and the batch ends cancelled. Files that finished
// keep their status. Cancelling a finished batch only marks it cancelled
// when some file was cancelled; otherwise the batch is returned as it is.
func (vs *VectorStore) CancelFileBatch(ctx context.Context, id string) (*FileBatch, error) {
	var fb *FileBatch
	var blobs []string
	err := vs.db.bolt.Update(func(tx *bolt.Tx) error {
		b, r, err := batchIn(tx, vs.id, id)
		if err != nil {
			return err
		}
		files, err := batchFiles(b, r, "")
		if err != nil {
			return err
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		n := 0
		for i := range files {
			if files[i].Status != StatusInProgress {
				continue
			}
			f := &files[i] // in progress: no chunk ids for batchFiles to have cleared
			if err := cancelFileTx(b, rec, f); err != nil {
				return err
			}
			if !f.Attached {
				blobs = append(blobs, f.ID)
			}
			n++
		}
		if n > 0 || files == nil {
			r.Cancelled = true
		}
		if n > 0 {
			if err := putJSON(b.root, keyRecord, rec); err != nil {
				return err
			}
		}
		if err := putJSON(b.root.Bucket(bucketBatches), []byte(r.ID), r); err != nil {
			return err
		}
		fb = r.describe(vs.db, vs.id, files)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, id := range blobs {
		vs.db.removeBlob(vs.db.blobPath(id))
	}
	return fb, nil
}

// cancelFileTx marks an in-progress file cancelled and updates rec's
// counts (the caller writes rec). A worker that holds the file drops its
// work: it commits only files still in progress.
func cancelFileTx(b vsBuckets, rec *vsRecord, f *File) error {
	f.Status, f.LastError = StatusCancelled, nil
	rec.Counts.add(StatusInProgress, -1)
	rec.Counts.add(StatusCancelled, 1)
	if err := b.pending.Delete([]byte(f.ID)); err != nil {
		return err
	}
	return putJSON(b.files, []byte(f.ID), f)
}

// CancelFile cancels the file's ingestion: a file in progress becomes
// cancelled (never ingested, or dropped at its commit when a worker holds
// it). A file no longer in progress is returned as it is.
func (vs *VectorStore) CancelFile(ctx context.Context, id string) (*File, error) {
	if err := vs.db.checkOpen(); err != nil {
		return nil, err
	}
	var f *File
	err := vs.db.bolt.Update(func(tx *bolt.Tx) error {
		var b vsBuckets
		var err error
		if b, f, err = fileIn(tx, vs.id, id); err != nil {
			return err
		}
		if f.Status != StatusInProgress {
			return nil
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		if err := cancelFileTx(b, rec, f); err != nil {
			return err
		}
		return putJSON(b.root, keyRecord, rec)
	})
	if err != nil {
		return nil, err
	}
	if !f.Attached {
		vs.db.removeBlob(vs.db.blobPath(id))
	}
	f.ChunkIDs = nil
	vs.db.shown(vs.id, f)
	return f, nil
}
