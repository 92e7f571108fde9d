package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/internal/durable"
)

var (
	bucketUploads = []byte("uploads") // file id -> Upload (JSON)
	bucketContent = []byte("content") // hex SHA-256 -> refs, size and, when small, the bytes
	bucketLinks   = []byte("links")   // file id, 0, vector store id -> nothing: the file is attached there
)

// uploadInlineMax is the largest upload kept inside quarry.db; larger ones
// live in blobs/<sha256>.
const uploadInlineMax = 128 << 10

// Upload is a File object of the OpenAI API: bytes uploaded once
// (DB.UploadFile) that any number of vector stores reference
// (VectorStore.AttachFile) without copying them. Identical bytes are stored
// once, whatever the number of uploads holding them.
type Upload struct {
	ID        string `json:"id"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	// Status is always "processed": an upload is usable once UploadFile
	// returns.
	Status string `json:"status"`
	SHA256 string `json:"sha256"` // of the bytes, hex
	// ExpiresAt is when the upload expires (unix seconds), or 0 for
	// never: from then on it reads as deleted, and the DB's reclaimer
	// deletes it, with its copy in every vector store, as DeleteUpload
	// does.
	ExpiresAt int64 `json:"expires_at,omitempty"`
}

// expired reports whether the upload has expired at now (unix seconds).
func (u *Upload) expired(now int64) bool { return u.ExpiresAt != 0 && now >= u.ExpiresAt }

// CommitParams is what an upload records beside its bytes.
type CommitParams struct {
	Purpose string
	// ExpiresAfter, when positive, makes the upload expire that long
	// after its creation (OpenAI's expires_after with anchor created_at).
	ExpiresAfter time.Duration
}

// UploadParams is a file to upload.
type UploadParams struct {
	Filename string
	Purpose  string
	Body     io.Reader // read to the end by UploadFile
	// MaxBytes bounds the file; 0 means MaxFileBytes, and more than
	// MaxFileBytes is MaxFileBytes. A larger body is ErrTooLarge.
	MaxBytes int64
	// ExpiresAfter is CommitParams.ExpiresAfter.
	ExpiresAfter time.Duration
}

// ErrTooLarge is returned for a file over the size limit. It matches
// ErrInvalid.
var ErrTooLarge = fmt.Errorf("%w: file too large", ErrInvalid)

// content is a reference-counted piece of content as persisted: refs and
// size, then the bytes when they are kept inline.
type content struct {
	refs   uint64
	size   int64
	inline []byte // nil when the bytes are in blobs/<sha>
}

func (c content) encode() []byte {
	b := make([]byte, 16+len(c.inline))
	binary.BigEndian.PutUint64(b, c.refs)
	binary.BigEndian.PutUint64(b[8:], uint64(c.size))
	copy(b[16:], c.inline)
	return b
}

func decodeContent(v []byte) (content, error) {
	if len(v) < 16 {
		return content{}, fmt.Errorf("%w: content record of %d bytes", ErrCorrupt, len(v))
	}
	c := content{refs: binary.BigEndian.Uint64(v), size: int64(binary.BigEndian.Uint64(v[8:]))}
	switch rest := v[16:]; {
	case int64(len(rest)) == c.size:
		c.inline = bytes.Clone(rest)
		if c.inline == nil {
			c.inline = []byte{}
		}
	case len(rest) != 0:
		return content{}, fmt.Errorf("%w: content record holds %d bytes of %d", ErrCorrupt, len(rest), c.size)
	}
	return c, nil
}

// contentLocks serialize, per content hash, what creates or removes a blob
// file together with the transaction that counts its references, so that
// an upload never counts on a blob a concurrent delete removes.
type contentLocks [64]sync.Mutex

func (l *contentLocks) lock(sha string) func() {
	h := fnv.New32a()
	h.Write([]byte(sha))
	m := &l[h.Sum32()%uint32(len(l))]
	m.Lock()
	return m.Unlock
}

// StagedFile is an upload whose bytes are stored but not yet recorded:
// Commit records it, Discard drops it. It lets a caller read the bytes
// before it knows every parameter (a multipart form whose purpose comes
// after the file). It is not safe for concurrent use.
type StagedFile struct {
	db       *DB
	filename string
	size     int64
	sha      string
	inline   []byte // the bytes when small
	tmp      string // otherwise: a durable temporary file under blobs/
	done     bool
}

// StageFile reads p.Body to the end and stores the bytes durably, without
// recording an upload; p.Purpose is ignored (Commit sets it).
func (db *DB) StageFile(ctx context.Context, p UploadParams) (*StagedFile, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	if p.Body == nil {
		return nil, invalidf("file %q has no body", p.Filename)
	}
	limit := p.MaxBytes
	if limit <= 0 || limit > MaxFileBytes {
		limit = MaxFileBytes
	}
	s := &StagedFile{db: db, filename: p.Filename}
	r := ctxReader{ctx, p.Body}
	head, err := io.ReadAll(io.LimitReader(r, uploadInlineMax+1))
	if err != nil {
		return nil, fmt.Errorf("store: read file: %w", err)
	}
	if len(head) <= uploadInlineMax {
		if int64(len(head)) > limit {
			return nil, ErrTooLarge
		}
		sum := sha256.Sum256(head)
		s.inline, s.size, s.sha = head, int64(len(head)), hex.EncodeToString(sum[:])
		return s, nil
	}
	s.tmp = db.blobPath(newID(".stage-"))
	if s.size, s.sha, err = writeBlob(ctx, s.tmp, io.MultiReader(bytes.NewReader(head), r), limit, ErrTooLarge); err != nil {
		return nil, err
	}
	return s, nil
}

// Discard drops a staged file that was not committed. It is a no-op after
// Commit.
func (s *StagedFile) Discard() {
	if !s.done && s.tmp != "" {
		os.Remove(s.tmp)
	}
	s.done = true
}

// Commit records the staged file as an upload. Once it returns, the
// upload survives a crash.
func (s *StagedFile) Commit(ctx context.Context, p CommitParams) (*Upload, error) {
	if s.done {
		return nil, invalidf("staged file %q was committed or discarded already", s.filename)
	}
	defer s.Discard()
	db := s.db
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	up := &Upload{ID: newID("file-"), Filename: s.filename, Purpose: p.Purpose, Bytes: s.size,
		CreatedAt: db.now().Unix(), Status: "processed", SHA256: s.sha}
	if p.ExpiresAfter > 0 {
		up.ExpiresAt = up.CreatedAt + int64(max(p.ExpiresAfter/time.Second, 1))
	}
	unlock := db.contentLocks.lock(s.sha)
	defer unlock()
	created := false // this commit put the blob file in place
	err := db.bolt.Batch(func(tx *bolt.Tx) error {
		isNew, err := addContentRef(tx.Bucket(bucketContent), s.sha, content{size: s.size, inline: s.inline})
		if err != nil {
			return err
		}
		if isNew && s.tmp != "" && !created {
			// REQUIRES: the content lock, so that no delete removes the
			// blob between the rename and the commit.
			if err := os.Rename(s.tmp, db.blobPath(s.sha)); err != nil {
				return err
			}
			if err := durable.SyncDir(filepath.Dir(s.tmp)); err != nil {
				return err
			}
			created = true
		}
		return putJSON(tx.Bucket(bucketUploads), []byte(up.ID), up)
	})
	if err != nil {
		if created {
			os.Remove(db.blobPath(s.sha))
		}
		return nil, fmt.Errorf("store: upload %s: %w", s.filename, err)
	}
	if up.ExpiresAt != 0 {
		db.uploadDueBy(up.ExpiresAt)
	}
	return up, nil
}

// addContentRef adds a reference to the content sha, recording c (its size
// and inline bytes) when the content is new, which isNew reports.
func addContentRef(cb *bolt.Bucket, sha string, c content) (isNew bool, err error) {
	if v := cb.Get([]byte(sha)); v != nil {
		if c, err = decodeContent(v); err != nil {
			return false, err
		}
	} else {
		isNew = true
	}
	c.refs++
	return isNew, cb.Put([]byte(sha), c.encode())
}

// UploadFile stores p.Body as a new upload. Its bytes are written durably
// before UploadFile returns; identical bytes already stored are shared.
func (db *DB) UploadFile(ctx context.Context, p UploadParams) (*Upload, error) {
	s, err := db.StageFile(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.Commit(ctx, CommitParams{Purpose: p.Purpose, ExpiresAfter: p.ExpiresAfter})
}

func getUpload(tx *bolt.Tx, id string) (*Upload, error) {
	v := tx.Bucket(bucketUploads).Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var up Upload
	if err := json.Unmarshal(v, &up); err != nil {
		return nil, fmt.Errorf("%w: upload record %s: %v", ErrCorrupt, id, err)
	}
	return &up, nil
}

// Upload returns the upload with id, or ErrNotFound.
func (db *DB) Upload(ctx context.Context, id string) (*Upload, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	var up *Upload
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		if up, err = db.liveUpload(tx, id); err == nil && up == nil {
			err = notFound("file", id)
		}
		return err
	})
	return up, err
}

// liveUpload is getUpload, with an expired upload read as deleted.
func (db *DB) liveUpload(tx *bolt.Tx, id string) (*Upload, error) {
	up, err := getUpload(tx, id)
	if up != nil && up.expired(db.now().Unix()) {
		up = nil
	}
	return up, err
}

// Uploads returns every upload, with purpose when it is not empty, in no
// particular order.
func (db *DB) Uploads(ctx context.Context, purpose string) ([]Upload, error) {
	if err := db.checkOpen(); err != nil {
		return nil, err
	}
	var out []Upload
	now := db.now().Unix()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUploads).ForEach(func(k, v []byte) error {
			var up Upload
			if err := json.Unmarshal(v, &up); err != nil {
				return fmt.Errorf("%w: upload record %s: %v", ErrCorrupt, k, err)
			}
			if (purpose == "" || up.Purpose == purpose) && !up.expired(now) {
				out = append(out, up)
			}
			return nil
		})
	})
	return out, err
}

// OpenUpload opens the upload's bytes; the caller closes the reader.
func (db *DB) OpenUpload(ctx context.Context, id string) (*Upload, io.ReadSeekCloser, error) {
	if err := db.checkOpen(); err != nil {
		return nil, nil, err
	}
	var up *Upload
	var c content
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		if up, err = db.liveUpload(tx, id); err != nil {
			return err
		}
		if up == nil {
			return notFound("file", id)
		}
		v := tx.Bucket(bucketContent).Get([]byte(up.SHA256))
		if v == nil {
			return fmt.Errorf("%w: the content of upload %s is missing", ErrCorrupt, id)
		}
		c, err = decodeContent(v)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if c.inline != nil {
		return up, nopSeekCloser{bytes.NewReader(c.inline)}, nil
	}
	f, err := os.Open(db.blobPath(up.SHA256))
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted since the transaction above.
		return nil, nil, notFound("file", id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: %w", err)
	}
	return up, f, nil
}

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

// uploadBytes opens the bytes of an attached vector-store file for
// ingestion: those of the upload with the same id.
func (db *DB) uploadBytes(id string) (io.ReadCloser, error) {
	_, r, err := db.OpenUpload(context.Background(), id)
	return r, err
}

func linkKey(fileID, vsID string) []byte { return []byte(fileID + "\x00" + vsID) }

// DeleteUpload deletes the upload and, in the same transaction, removes it
// from every vector store it is attached to, as OpenAI does. When it
// returns, no search returns the file's chunks, and nothing of it comes
// back after a crash.
func (db *DB) DeleteUpload(ctx context.Context, id string) error {
	up, err := db.Upload(ctx, id)
	if err != nil {
		return err
	}
	return db.deleteUpload(ctx, up)
}

// deleteUpload deletes up, expired or not.
func (db *DB) deleteUpload(ctx context.Context, up *Upload) error {
	id := up.ID
	unlock := db.contentLocks.lock(up.SHA256)
	defer unlock()
	seqs := map[string]uint64{}
	removeBlob := false
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		up, err := getUpload(tx, id)
		if err != nil {
			return err
		}
		if up == nil {
			return notFound("file", id)
		}
		if err := tx.Bucket(bucketUploads).Delete([]byte(id)); err != nil {
			return err
		}
		cb := tx.Bucket(bucketContent)
		if v := cb.Get([]byte(up.SHA256)); v != nil {
			c, err := decodeContent(v)
			if err != nil {
				return err
			}
			if c.refs <= 1 {
				removeBlob = c.inline == nil
				err = cb.Delete([]byte(up.SHA256))
			} else {
				c.refs--
				err = cb.Put([]byte(up.SHA256), c.encode())
			}
			if err != nil {
				return err
			}
		}
		// The vector stores it is attached to.
		var vsIDs []string
		prefix := linkKey(id, "")
		c := tx.Bucket(bucketLinks).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			vsIDs = append(vsIDs, string(k[len(prefix):]))
		}
		for _, vsID := range vsIDs {
			if err := tx.Bucket(bucketLinks).Delete(linkKey(id, vsID)); err != nil {
				return err
			}
			b, ok := buckets(tx, vsID)
			if !ok {
				continue
			}
			f, err := b.file(id)
			if err != nil {
				return err
			}
			if f == nil {
				continue
			}
			var seq uint64
			if err := deleteFileTx(tx, b, f, &seq); err != nil {
				return err
			}
			seqs[vsID] = seq
		}
		return nil
	})
	if err != nil {
		return err
	}
	if removeBlob {
		db.removeBlob(db.blobPath(up.SHA256))
	}
	var errs []error
	for vsID, seq := range seqs {
		if seq == 0 {
			continue
		}
		db.kick(vsID)
		if err := db.waitIndexed(ctx, vsID, seq); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AttachFile adds the upload fileID to the vector store, under the same id,
// and queues it for ingestion; it returns the vector-store file, in
// progress. The file references the upload's bytes: nothing is copied.
// Attaching a file the store already holds returns it as it is. Attributes
// and chunking are validated as AddFile does.
func (vs *VectorStore) AttachFile(ctx context.Context, fileID string, attrs map[string]any, chunking chunk.Strategy) (*File, error) {
	files, err := vs.attach(ctx, []BatchFile{{FileID: fileID, Attributes: attrs, Chunking: chunking}}, nil)
	if err != nil {
		return nil, err
	}
	vs.db.shown(vs.id, &files[0])
	return &files[0], nil
}

// BatchFile is one file of a file batch.
type BatchFile struct {
	FileID     string
	Attributes map[string]any
	Chunking   chunk.Strategy // zero value: auto
}

// validateBatch checks every item before anything happens, and returns
// them deduplicated (the first of an id wins) with attributes normalized.
func validateBatch(items []BatchFile) ([]BatchFile, error) {
	var errs []error
	if len(items) == 0 {
		errs = append(errs, invalidf("no files given"))
	}
	if len(items) > MaxBatchFiles {
		errs = append(errs, invalidf("%d files given, at most %d allowed", len(items), MaxBatchFiles))
	}
	seen := make(map[string]bool, len(items))
	out := make([]BatchFile, 0, len(items))
	for i, it := range items {
		if it.FileID == "" {
			errs = append(errs, invalidf("file %d has no file id", i))
			continue
		}
		attrs, err := validateAttributes(it.Attributes)
		if err != nil {
			errs = append(errs, fmt.Errorf("file %s: %w", it.FileID, err))
		}
		if err := it.Chunking.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: file %s: %w", ErrInvalid, it.FileID, err))
		}
		if seen[it.FileID] {
			continue
		}
		seen[it.FileID] = true
		out = append(out, BatchFile{FileID: it.FileID, Attributes: attrs, Chunking: it.Chunking.Normalize()})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// attach attaches items (validated here, all before any effect) in one
// transaction, and records the batch bt in the same transaction when it is
// not nil. It returns the vector-store files, in the items' order
// (deduplicated).
func (vs *VectorStore) attach(ctx context.Context, items []BatchFile, bt *batchRecord) ([]File, error) {
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
	items, err = validateBatch(items)
	if err != nil {
		return nil, err
	}
	var out []File
	var queued []string
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		out, queued = out[:0], queued[:0]
		b, ok := buckets(tx, vs.id)
		if !ok {
			return notFound("vector store", vs.id)
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		if err := db.live(vs.id, rec); err != nil {
			return err
		}
		now := db.now().Unix()
		for _, it := range items {
			f, err := b.file(it.FileID)
			if err != nil {
				return err
			}
			if f != nil {
				f.ChunkIDs = nil
				out = append(out, *f)
				continue
			}
			up, err := vs.db.liveUpload(tx, it.FileID)
			if err != nil {
				return err
			}
			if up == nil {
				return invalidf("no such file: %q (upload it first)", it.FileID)
			}
			f = &File{
				ID: up.ID, VectorStoreID: vs.id, Filename: up.Filename,
				CreatedAt: now, Bytes: up.Bytes, SHA256: up.SHA256, Status: StatusInProgress,
				ChunkingStrategy: it.Chunking, Attributes: it.Attributes, Attached: true,
			}
			if err := putJSON(b.files, []byte(f.ID), f); err != nil {
				return err
			}
			if err := tx.Bucket(bucketLinks).Put(linkKey(f.ID, vs.id), []byte{}); err != nil {
				return err
			}
			rec.Counts.add(StatusInProgress, 1)
			out = append(out, *f)
			queued = append(queued, f.ID)
		}
		if bt != nil {
			bt.FileIDs = bt.FileIDs[:0]
			for _, f := range out {
				bt.FileIDs = append(bt.FileIDs, f.ID)
			}
			bb, err := b.root.CreateBucketIfNotExists(bucketBatches)
			if err != nil {
				return err
			}
			if err := putJSON(bb, []byte(bt.ID), bt); err != nil {
				return err
			}
		}
		db.active(rec)
		return putJSON(b.root, keyRecord, rec)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range queued {
		db.enqueueAttached(job{vs.id, id})
	}
	return out, nil
}

// enqueueAttached queues an attached file. Its id may still be queued or
// held by a worker for an earlier attach of the same upload, detached
// since: then it is queued again once the worker lets it go (unqueue),
// so that the new attach is never left unqueued.
func (db *DB) enqueueAttached(j job) {
	db.mu.Lock()
	if db.queued[j] && !db.closed {
		db.again[j] = true
		db.mu.Unlock()
		return
	}
	db.mu.Unlock()
	db.enqueue(j)
}
