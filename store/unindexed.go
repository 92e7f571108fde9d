package store

import (
	"context"
	"math"
	"sync"
	"time"
)

// maxIndexLag bounds how many committed chunks a vector store's indexes
// may lag behind its log before the commit stage waits for the indexer:
// about two catch-up rounds, so the indexer always has a round to start
// while it applies one, and a file is searchable (completed) seconds after
// its commit at most, whatever the ingest rate. The lag costs no memory
// (committed chunks wait in bbolt, not in the process); the bound keeps
// the CPU on indexing instead of on parsing and embedding files that
// could not be searched for minutes.
var maxIndexLag = 2 * catchUpChunks

// unindexed records the files committed as completed whose log entry the
// derived indexes have not yet applied. Such a file is reported
// in_progress (see DB.shown): a completed file is a searchable one, so a
// search never waits for the indexer. Nothing of it is persisted: Open
// catches the indexes up before it serves, so after a restart every
// committed file is applied.
type unindexed struct {
	mu      sync.Mutex
	files   map[string]map[string]pendingFile // vector store -> file -> pending
	chunks  map[string]int                    // vector store -> chunks of its pending files
	applied map[string]uint64                 // vector store -> the highest applied sequence published
	failing map[string]bool                   // vector store -> its indexer's last catch-up failed
	changed chan struct{}                     // closed and replaced when chunks drop
}

// pendingFile is a committed file the indexes have not applied: seq is
// its log entry's sequence (math.MaxUint64 while its commit runs).
type pendingFile struct {
	seq    uint64
	chunks int
}

func newUnindexed() *unindexed {
	return &unindexed{
		files: map[string]map[string]pendingFile{}, chunks: map[string]int{},
		applied: map[string]uint64{}, failing: map[string]bool{}, changed: make(chan struct{}),
	}
}

// begin records files about to be committed, before their transaction
// starts, so no reader sees one completed before the indexes hold it.
func (u *unindexed) begin(vsID, fileID string, chunks int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := u.files[vsID]
	if m == nil {
		m = map[string]pendingFile{}
		u.files[vsID] = m
	}
	if old, ok := m[fileID]; ok {
		u.chunks[vsID] -= old.chunks
	}
	m[fileID] = pendingFile{math.MaxUint64, chunks}
	u.chunks[vsID] += chunks
}

// settle records the outcome of a file's commit: seq is its log entry, 0
// when the commit logged nothing (it failed, or wrote no chunks) or did
// not happen.
func (u *unindexed) settle(vsID, fileID string, seq uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, ok := u.files[vsID][fileID]
	if !ok {
		return
	}
	if seq == 0 || seq <= u.applied[vsID] {
		u.removeLocked(vsID, fileID, p)
		return
	}
	p.seq = seq
	u.files[vsID][fileID] = p
}

func (u *unindexed) removeLocked(vsID, fileID string, p pendingFile) {
	delete(u.files[vsID], fileID)
	if len(u.files[vsID]) == 0 {
		delete(u.files, vsID)
	}
	u.chunks[vsID] -= p.chunks
	if u.chunks[vsID] <= 0 {
		delete(u.chunks, vsID)
	}
	close(u.changed)
	u.changed = make(chan struct{})
}

// advance records that the vector store's indexes hold every change up to
// seq (math.MaxUint64 once the store is gone).
func (u *unindexed) advance(vsID string, seq uint64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if seq <= u.applied[vsID] {
		return
	}
	u.applied[vsID] = seq // math.MaxUint64 stays: a deleted store's late commits settle at once
	for id, p := range u.files[vsID] {
		if p.seq <= seq {
			u.removeLocked(vsID, id, p)
		}
	}
}

// drop forgets a file deleted while pending.
func (u *unindexed) drop(vsID, fileID string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if p, ok := u.files[vsID][fileID]; ok {
		u.removeLocked(vsID, fileID, p)
	}
}

// setFailing records whether the vector store's indexer is failing (a
// full disk, say): while it is, the commit stage does not wait for it, so
// commits go on (their files stay in_progress until the indexer, retrying
// every second, applies them).
func (u *unindexed) setFailing(vsID string, failing bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.failing[vsID] == failing {
		return
	}
	if failing {
		u.failing[vsID] = true
	} else {
		delete(u.failing, vsID)
	}
	close(u.changed)
	u.changed = make(chan struct{})
}

// pending reports whether the file's commit is not yet applied by the
// indexes.
func (u *unindexed) pending(vsID, fileID string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.files[vsID][fileID]
	return ok
}

// count returns how many of the vector store's files are pending.
func (u *unindexed) count(vsID string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.files[vsID])
}

// wait returns once the vector store's pending chunks are at most limit,
// its indexer is failing, ctx is done or gone reports true (checked
// whenever the lag changes and at least every 100 ms).
func (u *unindexed) wait(ctx context.Context, vsID string, limit int, gone func() bool) {
	var tick *time.Ticker
	for {
		u.mu.Lock()
		n, ch, failing := u.chunks[vsID], u.changed, u.failing[vsID]
		u.mu.Unlock()
		if n <= limit || failing || gone() {
			return
		}
		if tick == nil {
			tick = time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// shown turns a completed file whose commit the indexes have not applied
// into the in_progress file callers see.
func (db *DB) shown(vsID string, f *File) {
	if f != nil && f.Status == StatusCompleted && db.unidx.pending(vsID, f.ID) {
		f.Status = StatusInProgress
	}
}
