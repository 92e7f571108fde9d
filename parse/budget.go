package parse

import (
	"context"
	"sync"
)

// Budget is memory shared by the Parse calls whose Options name it, such
// as the ingestion workers of one store: each Parse reserves its estimated
// peak (about the file's size for text, plus what an archive or PDF may
// decompress and extract, within Options' limits) before it reads the file
// whole, waits while the reservations in flight would pass the budget, and
// returns its reservation when it returns. A file whose estimate exceeds
// the whole budget reserves the whole budget, so every file can run. It is
// safe for concurrent use.
type Budget struct {
	total int64

	mu   sync.Mutex
	used int64
	wake chan struct{} // closed and replaced at every release
}

// NewBudget returns a Budget of total bytes (at least 1 MiB).
func NewBudget(total int64) *Budget {
	return &Budget{total: max(total, 1<<20), wake: make(chan struct{})}
}

// Total returns the budget's size in bytes.
func (b *Budget) Total() int64 { return b.total }

// InUse returns the bytes reserved now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// acquire reserves n bytes (at most the total), waiting while they do not
// fit; it returns what it reserved, for release.
func (b *Budget) acquire(ctx context.Context, n int64) (int64, error) {
	n = min(max(n, 0), b.total)
	for {
		b.mu.Lock()
		if b.used+n <= b.total {
			b.used += n
			b.mu.Unlock()
			return n, nil
		}
		w := b.wake
		b.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (b *Budget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}
