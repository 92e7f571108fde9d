package store

import (
	"sync"
	"time"
)

// A file whose commit failed because the disk is full stays in_progress
// and waits for space (see spaceWait): a full disk is a condition that
// passes, not the file's fault, so it does not fail the file.
var (
	spaceBackoffMin = time.Second
	spaceBackoffMax = 10 * time.Second
)

// spaceWait holds the files waiting for disk space. While any wait, one of
// them is tried again after a backoff that doubles (spaceBackoffMin up to
// spaceBackoffMax) as long as the disk stays full; the first commit that
// succeeds, that one's or any other file's, queues them all again at once.
// The files stay marked as queued meanwhile, so nothing else queues them
// twice.
type spaceWait struct {
	mu      sync.Mutex
	jobs    []job
	backoff time.Duration
	timer   *time.Timer
}

// waitForSpace parks j until space returns (see spaceWait).
func (db *DB) waitForSpace(j job) {
	w := &db.space
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs = append(w.jobs, j)
	if w.timer != nil {
		return
	}
	w.backoff = min(max(2*w.backoff, spaceBackoffMin), spaceBackoffMax)
	w.timer = time.AfterFunc(w.backoff, db.probeSpace)
}

// probeSpace queues one waiting file again: if its commit succeeds,
// spaceReturned queues the rest; if not, it waits again with a longer
// backoff.
func (db *DB) probeSpace() {
	w := &db.space
	w.mu.Lock()
	w.timer = nil
	var probe []job
	if len(w.jobs) > 0 {
		probe = []job{w.jobs[0]}
		w.jobs = w.jobs[1:]
	}
	w.mu.Unlock()
	db.requeue(probe)
}

// spaceReturned is called after a successful commit: every file waiting
// for space is queued again, and the backoff starts over.
func (db *DB) spaceReturned() {
	w := &db.space
	w.mu.Lock()
	jobs := w.jobs
	w.jobs, w.backoff = nil, 0
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.mu.Unlock()
	db.requeue(jobs)
}

// requeue queues again files that stayed marked as queued while they
// waited.
func (db *DB) requeue(jobs []job) {
	if len(jobs) == 0 {
		return
	}
	db.mu.Lock()
	for _, j := range jobs {
		delete(db.queued, j)
	}
	db.mu.Unlock()
	for _, j := range jobs {
		db.enqueue(j)
	}
}
