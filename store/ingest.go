package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/parse"
)

func (db *DB) enqueue(j job) {
	db.mu.Lock()
	if db.closed || db.queued[j.fileID] {
		db.mu.Unlock()
		return
	}
	db.queued[j.fileID] = true
	db.mu.Unlock()
	select {
	case db.jobs <- j:
	default:
		// The queue is full: hand the job over without blocking the caller.
		go func() {
			select {
			case db.jobs <- j:
			case <-db.wctx.Done():
			}
		}()
	}
}

func (db *DB) worker() {
	defer db.wg.Done()
	for {
		select {
		case <-db.wctx.Done():
			return
		case j := <-db.jobs:
			db.ingest(db.wctx, j)
			db.mu.Lock()
			delete(db.queued, j.fileID)
			db.mu.Unlock()
		}
	}
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

// ingest parses, chunks, embeds and commits one file. A crash anywhere
// before the commit leaves the file in_progress with its blob, and the next
// Open resumes it.
func (db *DB) ingest(ctx context.Context, j job) {
	st, err := db.state(j.vsID)
	if err != nil {
		return
	}
	var f *File
	db.bolt.View(func(tx *bolt.Tx) error {
		if b, ok := buckets(tx, j.vsID); ok {
			f, _ = b.file(j.fileID)
		}
		return nil
	})
	if f == nil || f.Status != StatusInProgress {
		return
	}
	res, err := db.process(ctx, st, f)
	if ctx.Err() != nil {
		return // closing: the file resumes at the next Open
	}
	if err != nil {
		var fl *failure
		if !errors.As(err, &fl) {
			fl = &failure{CodeServerError, err}
		}
		msg := failureMessage(fl.err)
		db.log.Info("quarry: file failed", "file", f.ID, "name", f.Filename, "code", fl.code, "err", msg)
		db.finish(j, StatusFailed, &FileError{Code: fl.code, Message: msg}, nil)
		return
	}
	seq, err := db.finish(j, StatusCompleted, nil, res)
	if err != nil {
		db.log.Error("quarry: commit failed", "file", f.ID, "err", err)
		return
	}
	if seq > 0 {
		st.committed()
	}
}

// fileBytes opens a queued file's bytes: inline in the database for small
// files, a blob file otherwise.
func (db *DB) fileBytes(f *File) (io.ReadCloser, error) {
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
	chunks  []chunkRecord
	vectors [][]float32
	tokens  int
}

// process turns a file's bytes into chunks and vectors. Panics in any stage
// fail the file, never the process.
func (db *DB) process(ctx context.Context, st *vsState, f *File) (res *processed, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &failure{CodeServerError, fmt.Errorf("internal error: %v\n%s", r, debug.Stack())}
		}
	}()
	if st.mismatch != nil {
		return nil, &failure{CodeServerError, st.mismatch}
	}
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
		case errors.Is(err, parse.ErrInvalid), errors.Is(err, context.DeadlineExceeded):
			return nil, &failure{CodeInvalidFile, err}
		}
		return nil, err
	}
	chunks, err := db.chunker.Split(ctx, doc, f.ChunkingStrategy)
	if err != nil {
		return nil, err
	}
	res = &processed{doc: doc}
	texts := make([]string, len(chunks))
	for i, c := range chunks {
		texts[i] = c.Text
		res.tokens += c.Tokens
		res.chunks = append(res.chunks, chunkRecord{
			FileID: f.ID, Index: c.Index, Text: c.Text, Prefix: c.Prefix, Tokens: c.Tokens,
			Start: c.Start, End: c.End, CharStart: c.CharStart, CharEnd: c.CharEnd,
			PageStart: c.PageStart, PageEnd: c.PageEnd, Headings: c.Headings,
		})
	}
	if res.tokens > db.opts.MaxFileTokens {
		return nil, &failure{CodeInvalidFile, fmt.Errorf("file has %d tokens, more than the limit of %d", res.tokens, db.opts.MaxFileTokens)}
	}
	if len(texts) > 0 {
		res.vectors, err = db.opts.Embedder.Embed(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("embed: %w", err)
		}
		if err := checkVectors(res.vectors, len(texts), st.identity.Dimensions); err != nil {
			return nil, err
		}
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

// finish commits a file's outcome in one transaction: its chunks, vectors
// and text, its status, the vector store's counts and usage, and a log
// entry for the derived indexes. A file deleted meanwhile is left alone.
func (db *DB) finish(j job, status FileStatus, ferr *FileError, res *processed) (seq uint64, err error) {
	err = db.bolt.Batch(func(tx *bolt.Tx) error {
		seq = 0
		b, ok := buckets(tx, j.vsID)
		if !ok {
			return nil
		}
		f, err := b.file(j.fileID)
		if err != nil || f == nil || f.Status != StatusInProgress {
			return err
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		f.Status, f.LastError, f.ChunkIDs, f.UsageBytes = status, ferr, nil, 0
		if res != nil {
			seqs := tx.Bucket(bucketChunkSeq)
			for i := range res.chunks {
				id, err := seqs.NextSequence()
				if err != nil {
					return err
				}
				f.ChunkIDs = append(f.ChunkIDs, id)
				if err := putJSON(b.chunks, u64key(id), &res.chunks[i]); err != nil {
					return err
				}
				vec := encodeVector(res.vectors[i])
				if err := b.vectors.Put(u64key(id), vec); err != nil {
					return err
				}
				f.UsageBytes += int64(len(res.chunks[i].Text) + len(vec))
			}
			if err := b.texts.Put([]byte(f.ID), []byte(res.doc.Text)); err != nil {
				return err
			}
			f.Type, f.Pages, f.Chunks, f.Tokens = res.doc.Type, res.doc.Pages, len(res.chunks), res.tokens
			if len(f.ChunkIDs) > 0 {
				if err := b.appendLog(tx, logEntry{Op: opAdd, FileID: f.ID, Chunks: f.ChunkIDs}, &seq); err != nil {
					return err
				}
			}
		}
		if err := b.pending.Delete([]byte(f.ID)); err != nil {
			return err
		}
		rec.Counts.add(StatusInProgress, -1)
		rec.Counts.add(status, 1)
		rec.UsageBytes += f.UsageBytes
		rec.LastActiveAt = time.Now().Unix()
		if err := putJSON(b.root, keyRecord, rec); err != nil {
			return err
		}
		return putJSON(b.files, []byte(f.ID), f)
	})
	if err != nil {
		return 0, err
	}
	os.Remove(db.blobPath(j.fileID))
	return seq, nil
}
