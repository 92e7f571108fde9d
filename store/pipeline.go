package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The ingestion pipeline runs three stages across files, joined by bounded
// hand-offs:
//
//   - prepare: Options.Workers goroutines take queued files, parse and
//     chunk them (DB.prepare);
//   - embed: each chunked file waits in the DB's embedding Batcher, which
//     merges the chunks of many files into one request (up to the
//     provider's limits) and splits a huge file's chunks into batches that
//     run in parallel (Options.EmbedConcurrency);
//   - commit: one goroutine writes every file that is ready in one bbolt
//     transaction, so many small files share one fsync. A file is
//     completed (and acknowledged) only once that transaction is durable.
//
// Options.IngestMemory bounds the bytes held between the prepare and
// commit stages (parsed text, chunks and vectors): a prepare worker waits
// for room before it hands a file on, so a fast parser never runs ahead
// of the embedder or the disk by more than that.

// item is one file going through the pipeline.
type item struct {
	j      job
	f      *File
	dim    int
	res    *processed // nil for a failed file
	status FileStatus
	ferr   *FileError
	cost   int64        // bytes held against DB.inflight
	own    *ownEmbedder // the store's own embedder (builtin.go); nil: the DB's
}

// Bounds of one group commit.
const (
	commitGroupFiles = 1024
	commitGroupBytes = 32 << 20
	// dropMappedEvery is how many bytes of files are committed between
	// two calls of dropMapped, which bounds the pages of quarry.db the
	// process keeps resident while it ingests.
	dropMappedEvery = 64 << 20
)

// worker is a prepare-stage goroutine.
func (db *DB) worker() {
	defer db.wg.Done()
	ctx := db.wctx
	for {
		j, ok := db.next()
		if !ok {
			return
		}
		it, keep := db.prepare(ctx, j)
		if it == nil {
			if !keep {
				db.unqueue(j)
			}
			continue
		}
		if it.status == "" {
			it.status = StatusCompleted
		}
		it.cost = min(it.size(), db.opts.IngestMemory)
		if err := db.inflight.Acquire(ctx, it.cost); err != nil {
			db.unqueue(j) // closing: the file resumes at the next Open
			continue
		}
		if it.res == nil || len(it.res.texts) == 0 {
			db.toCommit(ctx, it)
			continue
		}
		db.wg.Add(1)
		go db.embedItem(ctx, it)
	}
}

// size estimates the bytes an item holds until it is committed: its text,
// chunk texts and records and vectors.
func (it *item) size() int64 {
	n := int64(1024)
	if r := it.res; r != nil {
		n += int64(len(r.doc.Text)) + int64(len(r.chunks))*int64(256+4*it.dim)
		for _, t := range r.texts {
			n += int64(len(t))
		}
	}
	return n
}

// unqueue is called once a worker lets go of a file: it is no longer
// queued, and a file attached again meanwhile under its id is queued again
// (see DB.enqueueAttached).
func (db *DB) unqueue(j job) {
	db.mu.Lock()
	delete(db.queued, j)
	again := db.again[j]
	delete(db.again, j)
	db.mu.Unlock()
	if again {
		db.enqueue(j)
	}
}

// drop lets go of an item the DB will not commit (it is closing); the file
// stays in_progress and resumes at the next Open.
func (db *DB) drop(it *item) {
	db.inflight.Release(it.cost)
	db.unqueue(it.j)
}

// embedItem is an item's embed stage.
func (db *DB) embedItem(ctx context.Context, it *item) {
	defer db.wg.Done()
	r := it.res
	b := db.batcher
	if it.own != nil {
		b = it.own.batcher
	}
	vecs, err := b.EmbedCounted(ctx, r.texts, r.counts)
	if ctx.Err() != nil {
		db.drop(it)
		return
	}
	if err == nil {
		err = checkVectors(vecs, len(r.texts), it.dim)
	}
	if err != nil {
		it.fail(db, fmt.Errorf("embed: %w", err))
	} else {
		r.vectors = vecs
	}
	db.toCommit(ctx, it)
}

// toCommit hands an item to the commit stage.
func (db *DB) toCommit(ctx context.Context, it *item) {
	select {
	case db.commitQ <- it:
	case <-ctx.Done():
		db.drop(it)
	}
}

// committer is the commit stage: it commits every item ready, up to
// commitGroupFiles and commitGroupBytes, in one transaction.
func (db *DB) committer() {
	defer db.wg.Done()
	ctx := db.wctx
	var sinceDrop int64
	for {
		var group []*item
		select {
		case it := <-db.commitQ:
			group = append(group, it)
		case <-ctx.Done():
			db.drainCommits()
			return
		}
		// The indexes may lag at most maxIndexLag chunks behind: wait
		// for the indexer first (the items wait in commitQ and under
		// Options.IngestMemory meanwhile), then commit what is ready.
		db.waitIndexer(ctx, group[0].j.vsID)
		size, chunks := group[0].cost, group[0].chunks()
	more:
		for len(group) < commitGroupFiles && size < commitGroupBytes && chunks < maxIndexLag {
			select {
			case it := <-db.commitQ:
				group = append(group, it)
				size += it.cost
				chunks += it.chunks()
			default:
				break more
			}
		}
		db.commitGroup(ctx, group)
		if sinceDrop += size; sinceDrop >= dropMappedEvery {
			db.dropMapped()
			sinceDrop = 0
		}
	}
}

// drainCommits drops the items handed to the commit stage after Close
// began.
func (db *DB) drainCommits() {
	for {
		select {
		case it := <-db.commitQ:
			db.drop(it)
		default:
			return
		}
	}
}

// chunks returns how many chunks committing the item adds to the indexes.
func (it *item) chunks() int {
	if it.status != StatusCompleted || it.res == nil {
		return 0
	}
	return len(it.res.chunks)
}

// waitIndexer waits while the vector store's indexes lag more than
// maxIndexLag chunks behind its commits (not while its indexer fails or
// once the store is gone).
func (db *DB) waitIndexer(ctx context.Context, vsID string) {
	db.unidx.wait(ctx, vsID, maxIndexLag, func() bool {
		db.mu.RLock()
		defer db.mu.RUnlock()
		return db.stores[vsID] == nil
	})
}

// commitGroup commits the items in one transaction. If it fails, each
// item is committed alone (DB.settle), so one file's trouble is its own.
// A file completed with chunks is shown in_progress until the indexes
// have applied it (see unindexed): it is recorded so before the
// transaction, and its log sequence after.
func (db *DB) commitGroup(ctx context.Context, group []*item) {
	seqs := make([]uint64, len(group))
	for _, it := range group {
		if n := it.chunks(); n > 0 {
			db.unidx.begin(it.j.vsID, it.j.fileID, n)
		}
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for i, it := range group {
			var err error
			if seqs[i], err = db.commitFile(tx, it.j, it.status, it.ferr, it.res); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.log.Warn("quarry: group commit failed; committing its files one by one", "files", len(group), "err", err)
	}
	if err == nil {
		db.spaceReturned()
	}
	kicked := map[string]bool{}
	for i, it := range group {
		keep := false
		if err != nil {
			keep, seqs[i] = db.settle(ctx, it)
		} else {
			db.removeBlob(db.blobPath(it.j.fileID))
			if seqs[i] > 0 && !kicked[it.j.vsID] {
				kicked[it.j.vsID] = true
				db.kick(it.j.vsID)
			}
		}
		if it.chunks() > 0 {
			db.unidx.settle(it.j.vsID, it.j.fileID, seqs[i])
		}
		db.inflight.Release(it.cost)
		if !keep {
			db.unqueue(it.j)
		}
	}
}
