package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/parse"
)

// Commit retries of an ingested file: after commitAttempts failed commits
// the file fails with server_error; if even that cannot be written, the
// file is queued again after retryDelay. A commit that fails for want of
// disk space fails nothing: the file waits for space (see spaceWait).
var (
	commitAttempts = 3
	commitBackoff  = 100 * time.Millisecond
	retryDelay     = 5 * time.Second
)

// enqueue queues a file for ingestion unless it is queued or being
// ingested already. The queue is a slice the workers take from: no
// goroutine per job, one small job record per file in progress.
func (db *DB) enqueue(j job) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed || db.queued[j] {
		return
	}
	db.queued[j] = true
	db.queue = append(db.queue, j)
	db.wake.Signal()
}

// next waits for a job; ok is false once the DB closes.
func (db *DB) next() (j job, ok bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	for len(db.queue) == 0 && !db.closed {
		db.wake.Wait()
	}
	if db.closed {
		return job{}, false
	}
	j = db.queue[0]
	db.queue[0] = job{}
	db.queue = db.queue[1:]
	if len(db.queue) == 0 {
		db.queue = nil // let a drained backing array go
	}
	return j, true
}

// park records a file that waits for its vector store's Reembed; it stays
// marked as queued, and Reembed queues it again.
func (db *DB) park(j job) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.parked[j.vsID] == nil {
		db.parked[j.vsID] = map[string]struct{}{}
	}
	db.parked[j.vsID][j.fileID] = struct{}{}
}

// unpark queues again the files that waited for the vector store's
// Reembed.
func (db *DB) unpark(vsID string) {
	db.mu.Lock()
	ids := db.parked[vsID]
	delete(db.parked, vsID)
	for id := range ids {
		delete(db.queued, job{vsID, id})
	}
	db.mu.Unlock()
	for id := range ids {
		db.enqueue(job{vsID, id})
	}
}

// retryLater queues the file again after retryDelay.
func (db *DB) retryLater(j job) {
	time.AfterFunc(retryDelay, func() { db.enqueue(j) })
}

// failure is a file's terminal error.
type failure struct {
	code ErrorCode
	err  error
}

func (f *failure) Error() string { return f.err.Error() }

// failureMessage is what a failed file's LastError says: for a parse
// error, its description without the file name and code, which the
// File's fields already carry.
func failureMessage(err error) string {
	var pe *parse.Error
	if errors.As(err, &pe) && pe.Msg != "" {
		if pe.Err != nil {
			return pe.Msg + ": " + pe.Err.Error()
		}
		return pe.Msg
	}
	return err.Error()
}

// prepare parses and chunks one file for the pipeline (see pipeline.go).
// It returns nil when there is nothing to commit: the file is gone, done,
// parked (keep reports that it stays marked as queued) or the DB closes.
// A file that fails to parse or chunk comes back with its failure set.
func (db *DB) prepare(ctx context.Context, j job) (it *item, keep bool) {
	st, err := db.acquire(j.vsID)
	if err != nil {
		return nil, false
	}
	// The reference is held for the checks only: Delete and Reembed do not
	// wait for a file's parsing and embedding. The commit reads the store
	// as it is then: a deleted store or file is left alone.
	mismatch, dim, own := st.mismatch, st.identity.Dimensions, st.own
	st.release()
	if mismatch != nil {
		db.park(j)
		return nil, true
	}
	var f *File
	db.bolt.View(func(tx *bolt.Tx) error {
		if b, ok := buckets(tx, j.vsID); ok {
			f, _ = b.file(j.fileID)
		}
		return nil
	})
	if f == nil || f.Status != StatusInProgress {
		return nil, false
	}
	res, err := db.process(ctx, f)
	if ctx.Err() != nil {
		return nil, false // closing: the file resumes at the next Open
	}
	it = &item{j: j, f: f, dim: dim, res: res, own: own}
	if err != nil {
		it.fail(db, err)
	}
	return it, false
}

// fail records the file's terminal error: it commits as failed.
func (it *item) fail(db *DB, err error) {
	var fl *failure
	if !errors.As(err, &fl) {
		fl = &failure{CodeServerError, err}
	}
	msg := failureMessage(fl.err)
	db.log.Info("quarry: file failed", "file", it.f.ID, "name", it.f.Filename, "code", fl.code, "err", msg)
	it.status, it.ferr, it.res = StatusFailed, &FileError{Code: fl.code, Message: msg}, nil
}

// settle commits one file's outcome on its own, for a file whose group
// commit failed: a failed commit is retried, then the file fails with
// server_error; one that found the disk full waits for space instead
// (waitForSpace); if even the failure cannot be written, the whole file is
// queued again later. It reports whether the file stays marked as queued,
// and the sequence of the log entry it committed (0 for none).
func (db *DB) settle(ctx context.Context, it *item) (keep bool, logged uint64) {
	j, status, ferr, res := it.j, it.status, it.ferr, it.res
	var seq uint64
	var err error
	for attempt := 1; ; attempt++ {
		if seq, err = db.finish(j, status, ferr, res); err == nil {
			break
		}
		db.log.Error("quarry: commit failed", "file", j.fileID, "attempt", attempt, "err", err)
		if attempt == commitAttempts || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(commitBackoff << attempt):
		case <-ctx.Done():
		}
	}
	if err != nil && ctx.Err() == nil && errors.Is(err, ErrNoSpace) {
		// The disk is full: the file waits, in_progress, for space.
		db.log.Warn("quarry: disk full; the file waits for space", "file", j.fileID)
		db.waitForSpace(j)
		return true, 0
	}
	if err != nil && ctx.Err() == nil && status == StatusCompleted {
		msg := fmt.Sprintf("commit failed after %d attempts: %v", commitAttempts, err)
		seq, err = db.finish(j, StatusFailed, &FileError{Code: CodeServerError, Message: msg}, nil)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false, 0 // closing: the file resumes at the next Open
		}
		// Not even the failure could be written (a full disk, say): try
		// the whole file again later rather than leave it stranded.
		db.mu.Lock()
		delete(db.queued, j)
		db.mu.Unlock()
		db.retryLater(j)
		return true, 0
	}
	if seq > 0 {
		db.kick(j.vsID)
	}
	db.spaceReturned()
	return false, seq
}

// fileBytes opens a queued file's bytes: an attached file's upload's,
// inline in the database for small files, a blob file otherwise.
func (db *DB) fileBytes(f *File) (io.ReadCloser, error) {
	if f.Attached {
		return db.uploadBytes(f.ID)
	}
	var data []byte
	db.bolt.View(func(tx *bolt.Tx) error {
		if b, ok := buckets(tx, f.VectorStoreID); ok {
			if v := b.pending.Get([]byte(f.ID)); v != nil {
				data = bytes.Clone(v)
			}
		}
		return nil
	})
	if data != nil || f.Bytes == 0 {
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	return os.Open(db.blobPath(f.ID))
}

// processed is a file ready to commit.
type processed struct {
	doc     *parse.Document
	chunks  []chunkRecord // without their text: it is doc.Text's (see chunkRecord)
	texts   []string      // the chunks' texts, to embed
	counts  []int         // the chunks' tokens
	vectors [][]float32
	tokens  int
	// chunking is the strategy the chunks were cut with: a commit leaves
	// alone a file attached again since with another one.
	chunking chunk.Strategy
}

// process parses and chunks a file's bytes (embedding is the pipeline's
// next stage). Panics in any stage fail the file, never the process.
func (db *DB) process(ctx context.Context, f *File) (res *processed, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &failure{CodeServerError, fmt.Errorf("internal error: %v\n%s", r, debug.Stack())}
		}
	}()
	body, err := db.fileBytes(f)
	if err != nil {
		return nil, &failure{CodeServerError, fmt.Errorf("the file's bytes are missing: %w", err)}
	}
	defer body.Close()
	popts := db.opts.Parse
	doc, err := parse.Parse(ctx, f.Filename, body, &popts)
	if err != nil {
		switch {
		case errors.Is(err, parse.ErrUnsupported):
			return nil, &failure{CodeUnsupportedFile, err}
		case errors.Is(err, context.DeadlineExceeded):
			limit := cmp.Or(popts.Timeout, parse.DefaultTimeout)
			return nil, &failure{CodeInvalidFile, fmt.Errorf("parsing took longer than the limit of %v (Options.Parse.Timeout): %w", limit, err)}
		case errors.Is(err, parse.ErrInvalid):
			return nil, &failure{CodeInvalidFile, err}
		}
		return nil, err
	}
	chunks, err := db.chunker.Split(ctx, doc, f.ChunkingStrategy)
	if err != nil {
		return nil, err
	}
	res = &processed{doc: doc, chunking: f.ChunkingStrategy, texts: make([]string, len(chunks)), counts: make([]int, len(chunks))}
	for i, c := range chunks {
		res.texts[i], res.counts[i] = c.Text, c.Tokens
		res.tokens += c.Tokens
		res.chunks = append(res.chunks, chunkRecord{
			FileID: f.ID, Index: c.Index, Prefix: c.Prefix, Tokens: c.Tokens,
			Start: c.Start, End: c.End, CharStart: c.CharStart, CharEnd: c.CharEnd,
			PageStart: c.PageStart, PageEnd: c.PageEnd, Headings: c.Headings,
		})
	}
	if res.tokens > db.opts.MaxFileTokens {
		return nil, &failure{CodeInvalidFile, fmt.Errorf("file has %d tokens, more than the limit of %d", res.tokens, db.opts.MaxFileTokens)}
	}
	return res, nil
}

func checkVectors(vs [][]float32, n, dim int) error {
	if err := embed.CheckVectors(vs, n, dim); err != nil {
		return err
	}
	for i, v := range vs {
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return fmt.Errorf("embedder returned a non-finite value at %d", i)
			}
		}
	}
	return nil
}

// finish commits a file's outcome in a transaction of its own (shared
// with concurrent callers by bolt.Batch); see commitFile.
func (db *DB) finish(j job, status FileStatus, ferr *FileError, res *processed) (seq uint64, err error) {
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		var err error
		seq, err = db.commitFile(tx, j, status, ferr, res)
		return err
	})
	if err != nil {
		return 0, err
	}
	db.removeBlob(db.blobPath(j.fileID))
	return seq, nil
}

// commitFile writes a file's outcome in tx: its chunks, vectors and text,
// its status, the vector store's counts and usage, and a log entry for the
// derived indexes. A file deleted meanwhile is left alone. seq is the log
// entry's sequence, 0 for none.
func (db *DB) commitFile(tx *bolt.Tx, j job, status FileStatus, ferr *FileError, res *processed) (seq uint64, err error) {
	b, ok := buckets(tx, j.vsID)
	if !ok {
		return 0, nil
	}
	f, err := b.file(j.fileID)
	if err != nil || f == nil || f.Status != StatusInProgress {
		return 0, err
	}
	if res != nil && res.chunking != f.ChunkingStrategy {
		return 0, nil // attached again, with another strategy: queued again (see enqueueAttached)
	}
	rec, err := b.record()
	if err != nil {
		return 0, err
	}
	f.Status, f.LastError, f.ChunkIDs, f.UsageBytes = status, ferr, nil, 0
	if res != nil {
		// Chunk ids only grow: full pages, not the half-full ones bbolt's
		// default split leaves behind an append.
		b.chunks.FillPercent, b.vectors.FillPercent = 1, 1
		seqs := tx.Bucket(bucketChunkSeq)
		for i := range res.chunks {
			id, err := seqs.NextSequence()
			if err != nil {
				return 0, err
			}
			f.ChunkIDs = append(f.ChunkIDs, id)
			if err := putJSON(b.chunks, u64key(id), &res.chunks[i]); err != nil {
				return 0, err
			}
			vec := encodeVector(res.vectors[i])
			if err := b.vectors.Put(u64key(id), vec); err != nil {
				return 0, err
			}
			f.UsageBytes += int64(len(res.texts[i]) + len(vec))
		}
		if err := b.texts.Put([]byte(f.ID), []byte(res.doc.Text)); err != nil {
			return 0, err
		}
		f.Type, f.Pages, f.Chunks, f.Tokens = res.doc.Type, res.doc.Pages, len(res.chunks), res.tokens
		if len(f.ChunkIDs) > 0 {
			if err := b.appendLog(tx, logEntry{Op: opAdd, FileID: f.ID, Chunks: f.ChunkIDs}, &seq); err != nil {
				return 0, err
			}
		}
	}
	if err := b.pending.Delete([]byte(f.ID)); err != nil {
		return 0, err
	}
	rec.Counts.add(StatusInProgress, -1)
	rec.Counts.add(status, 1)
	rec.UsageBytes += f.UsageBytes
	db.active(rec)
	if err := putJSON(b.root, keyRecord, rec); err != nil {
		return 0, err
	}
	return seq, putJSON(b.files, []byte(f.ID), f)
}
