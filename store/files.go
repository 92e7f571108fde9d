package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/internal/durable"
)

// MaxFileBytes is the largest file AddFile accepts, as OpenAI's limit.
const MaxFileBytes = 512 << 20

// inlineMax is the largest file kept inside the database until ingested.
const inlineMax = 1 << 20

// FileInput is a file to add to a vector store.
type FileInput struct {
	Name       string         // file name; its extension helps type detection
	Body       io.Reader      // the file's bytes, read to the end by AddFile
	Attributes map[string]any // up to 16: string (<= 512 chars), number or bool
	Chunking   chunk.Strategy // zero value: auto
}

func validateAttributes(a map[string]any) (map[string]any, error) {
	var errs []error
	if len(a) > 16 {
		errs = append(errs, invalidf("attributes has %d keys, at most 16 allowed", len(a)))
	}
	out := make(map[string]any, len(a))
	for k, v := range a {
		if len(k) > 64 || k == "" {
			errs = append(errs, invalidf("attribute key %q must have 1 to 64 characters", k))
		}
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) > 512 {
				errs = append(errs, invalidf("attribute %q is longer than 512 characters", k))
			}
			out[k] = x
		case bool:
			out[k] = x
		case float64:
			out[k] = x
		case float32:
			out[k] = float64(x)
		case int:
			out[k] = float64(x)
		case int64:
			out[k] = float64(x)
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				errs = append(errs, invalidf("attribute %q: %v", k, err))
			}
			out[k] = f
		default:
			errs = append(errs, invalidf("attribute %q must be a string, number or boolean, got %T", k, v))
		}
	}
	return out, errors.Join(errs...)
}

// blobPath is where blobs/<name> lives: a vector-store file's own bytes under
// its id, an upload's content under its SHA-256, a staged upload under
// .stage-*.
func (db *DB) blobPath(name string) string { return filepath.Join(db.dir, "blobs", name) }

// AddFile stores the file durably and queues it for ingestion; it returns
// the file with status in_progress. Parsing, chunking, embedding and
// indexing happen on the DB's workers; use WaitFile or File to follow the
// status. Once AddFile returns, the file survives a crash and is ingested
// at the next Open if it was not before.
func (vs *VectorStore) AddFile(ctx context.Context, in FileInput) (*File, error) {
	db := vs.db
	st, err := db.acquire(vs.id)
	if err != nil {
		return nil, err
	}
	mismatch := st.mismatch
	st.release()
	if mismatch != nil {
		return nil, mismatch
	}
	if in.Body == nil {
		return nil, invalidf("file %q has no body", in.Name)
	}
	attrs, err := validateAttributes(in.Attributes)
	if err != nil {
		return nil, err
	}
	if err := in.Chunking.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	strategy := in.Chunking.Normalize()
	f := &File{
		ID: newID("file-"), VectorStoreID: vs.id,
		Filename: in.Name, CreatedAt: time.Now().Unix(), Status: StatusInProgress,
		ChunkingStrategy: strategy, Attributes: attrs,
	}
	// Small files travel inside the transaction that records them; larger
	// ones are written to a blob file first.
	head, err := io.ReadAll(io.LimitReader(ctxReader{ctx, in.Body}, inlineMax+1))
	if err != nil {
		return nil, fmt.Errorf("store: read file: %w", err)
	}
	inline := len(head) <= inlineMax
	if inline {
		sum := sha256.Sum256(head)
		f.Bytes, f.SHA256 = int64(len(head)), hex.EncodeToString(sum[:])
	} else {
		n, sum, err := writeBlob(ctx, db.blobPath(f.ID), io.MultiReader(bytes.NewReader(head), in.Body),
			MaxFileBytes, invalidf("file is larger than %d bytes", MaxFileBytes))
		if err != nil {
			return nil, err
		}
		f.Bytes, f.SHA256 = n, sum
	}
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vs.id)
		if !ok {
			return notFound("vector store", vs.id)
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		if err := vs.db.live(vs.id, rec); err != nil {
			return err
		}
		rec.Counts.add(StatusInProgress, 1)
		vs.db.active(rec)
		if err := putJSON(b.root, keyRecord, rec); err != nil {
			return err
		}
		if inline {
			if err := b.pending.Put([]byte(f.ID), head); err != nil {
				return err
			}
		}
		return putJSON(b.files, []byte(f.ID), f)
	})
	if err != nil {
		if !inline {
			os.Remove(db.blobPath(f.ID))
		}
		return nil, err
	}
	db.enqueue(job{vs.id, f.ID})
	return f, nil
}

// writeBlob copies r to path durably (see durable.WriteFile) and returns
// its size and SHA-256; more than limit bytes fail with tooLarge.
func writeBlob(ctx context.Context, path string, r io.Reader, limit int64, tooLarge error) (int64, string, error) {
	h := sha256.New()
	var (
		n    int64
		ferr error // the reading's own error, returned as it is
	)
	err := durable.WriteFile(path, func(w io.Writer) error {
		n, ferr = io.Copy(io.MultiWriter(w, h), io.LimitReader(ctxReader{ctx, r}, limit+1))
		if ferr != nil {
			ferr = fmt.Errorf("store: read file: %w", ferr)
		} else if n > limit {
			ferr = tooLarge
		}
		return ferr
	})
	if ferr != nil {
		return 0, "", ferr
	}
	if err != nil {
		return 0, "", fmt.Errorf("store: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// ctxReader stops reading when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// File returns the file with id.
func (vs *VectorStore) File(ctx context.Context, id string) (*File, error) {
	if err := vs.db.checkOpen(); err != nil {
		return nil, err
	}
	var f *File
	err := vs.db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		_, f, err = fileIn(tx, vs.id, id)
		return err
	})
	vs.db.shown(vs.id, f)
	return f, err
}

// WaitFile waits until the file is no longer in progress, and returns it.
// It returns when ctx is done, and with ErrNotFound once the file or its
// vector store is deleted. A file is in progress only while it is queued
// or a worker ingests it, or while its vector store waits for a Reembed.
func (vs *VectorStore) WaitFile(ctx context.Context, id string) (*File, error) {
	delay := time.Millisecond
	for {
		f, err := vs.File(ctx, id)
		if err != nil || f.Status != StatusInProgress {
			return f, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// Files returns the vector store's files, only those with status when it
// is not empty, newest first (by creation time, then id).
func (vs *VectorStore) Files(ctx context.Context, status FileStatus) ([]File, error) {
	all, err := vs.allFiles(ctx, status)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b File) int { return newestFirst(a.CreatedAt, a.ID, b.CreatedAt, b.ID) })
	return all, nil
}

// AllFiles returns every file of the vector store, in no particular order.
func (vs *VectorStore) AllFiles(ctx context.Context) ([]File, error) { return vs.allFiles(ctx, "") }

func checkStatus(status FileStatus) error {
	switch status {
	case "", StatusInProgress, StatusCompleted, StatusFailed, StatusCancelled:
		return nil
	}
	return invalidf("unknown file status filter %q", status)
}

func (vs *VectorStore) allFiles(ctx context.Context, status FileStatus) ([]File, error) {
	if err := checkStatus(status); err != nil {
		return nil, err
	}
	if err := vs.db.checkOpen(); err != nil {
		return nil, err
	}
	var out []File
	err := vs.db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vs.id)
		if !ok {
			return notFound("vector store", vs.id)
		}
		return b.files.ForEach(func(_, v []byte) error {
			f, err := decodeFile(v)
			if err != nil {
				return err
			}
			vs.db.shown(vs.id, f)
			if status == "" || f.Status == status {
				f.ChunkIDs = nil
				out = append(out, *f)
			}
			return nil
		})
	})
	return out, err
}

// UpdateFileAttributes replaces the file's attributes; search filters see
// the new values once the call returns (once the indexer has applied the
// change; the call waits for it, at most a bounded time).
func (vs *VectorStore) UpdateFileAttributes(ctx context.Context, id string, attrs map[string]any) (*File, error) {
	attrs, err := validateAttributes(attrs)
	if err != nil {
		return nil, err
	}
	st, err := vs.db.acquire(vs.id)
	if err != nil {
		return nil, err
	}
	var f *File
	var seq uint64
	err = vs.db.bolt.Update(func(tx *bolt.Tx) error {
		var b vsBuckets
		if b, f, err = fileIn(tx, vs.id, id); err != nil {
			return err
		}
		f.Attributes = attrs
		if err := putJSON(b.files, []byte(id), f); err != nil {
			return err
		}
		if f.Status != StatusCompleted {
			return nil
		}
		return b.appendLog(tx, logEntry{Op: opAttrs, FileID: id, Chunks: f.ChunkIDs}, &seq)
	})
	st.release()
	if err != nil {
		return nil, err
	}
	if seq == 0 {
		f.ChunkIDs = nil
		vs.db.shown(vs.id, f)
		return f, nil
	}
	st.committed()
	if err := vs.db.waitIndexed(ctx, vs.id, seq); err != nil {
		return nil, err
	}
	f.ChunkIDs = nil
	vs.db.shown(vs.id, f)
	return f, nil
}

// DeleteFile removes the file, its chunks and vectors. When it returns, the
// file is gone from search results and stays gone after a crash.
func (vs *VectorStore) DeleteFile(ctx context.Context, id string) error {
	st, err := vs.db.acquire(vs.id)
	if err != nil {
		return err
	}
	var seq uint64
	err = vs.db.bolt.Update(func(tx *bolt.Tx) error {
		b, f, err := fileIn(tx, vs.id, id)
		if err != nil {
			return err
		}
		if f.Attached {
			if err := tx.Bucket(bucketLinks).Delete(linkKey(id, vs.id)); err != nil {
				return err
			}
		}
		return deleteFileTx(tx, b, f, &seq)
	})
	st.release()
	if err != nil {
		return err
	}
	vs.db.removeBlob(vs.db.blobPath(id))
	vs.db.unidx.drop(vs.id, id)
	if seq == 0 {
		return nil
	}
	st.committed()
	return vs.db.waitIndexed(ctx, vs.id, seq)
}

// deleteFileTx removes the file, its chunks, vectors and text from the
// vector store and logs the delete for the derived indexes (*seq is its
// sequence, 0 when the file had no chunks).
func deleteFileTx(tx *bolt.Tx, b vsBuckets, f *File, seq *uint64) error {
	id := f.ID
	for _, c := range f.ChunkIDs {
		k := u64key(c)
		if err := errors.Join(b.chunks.Delete(k), b.vectors.Delete(k)); err != nil {
			return err
		}
	}
	if err := errors.Join(b.texts.Delete([]byte(id)), b.pending.Delete([]byte(id)), b.files.Delete([]byte(id))); err != nil {
		return err
	}
	rec, err := b.record()
	if err != nil {
		return err
	}
	rec.Counts.add(f.Status, -1)
	rec.UsageBytes -= f.UsageBytes
	if err := putJSON(b.root, keyRecord, rec); err != nil {
		return err
	}
	if len(f.ChunkIDs) == 0 {
		return nil
	}
	return b.appendLog(tx, logEntry{Op: opDel, FileID: id, Chunks: f.ChunkIDs}, seq)
}

// FileContent returns the file's parsed text, the text that chunk ranges
// index. It is empty until the file is completed.
func (vs *VectorStore) FileContent(ctx context.Context, id string) (string, error) {
	if err := vs.db.checkOpen(); err != nil {
		return "", err
	}
	var text string
	err := vs.db.bolt.View(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, vs.id)
		if !ok {
			return notFound("vector store", vs.id)
		}
		if b.files.Get([]byte(id)) == nil {
			return notFound("file", id)
		}
		text = string(b.texts.Get([]byte(id)))
		return nil
	})
	return text, err
}
