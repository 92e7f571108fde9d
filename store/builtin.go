package store

import (
	"fmt"
	"sync"

	"github.com/quarrylabs/quarry/embed"
)

// A vector store records the embedder that built it. When the DB embeds
// with the offline default (embed.NewDefault) and a store was built by the
// earlier default, the hashing embedder (embed.NewLocal, "hash-v3"), the
// store keeps its own embedder: this build can make the same vectors
// without files or network, so its searches and new files are embedded
// with it and nothing is re-embedded until DB.Reembed is asked to (which
// moves it to the DB's embedder). Any other difference between the DB's
// embedder and a store's is ErrEmbedderMismatch, as an explicitly chosen
// embedder is the caller's decision.

// ownEmbedder embeds for the vector stores built by one builtin embedder
// other than the DB's: their ingested chunks (batched across those
// stores' files) and their queries, within the DB's EmbedConcurrency.
type ownEmbedder struct {
	batcher *embed.Batcher
	query   Embedder
}

// builtinEmbedders holds the DB's ownEmbedders by identity. The zero
// value is ready to use.
type builtinEmbedders struct {
	mu sync.Mutex
	m  map[embed.Identity]*ownEmbedder // guarded by mu
}

// storeEmbedder says how a vector store whose record names rec is
// embedded: by the DB's embedder (nil, nil), by its own builtin embedder
// (the earlier default, see above), or not until a Reembed (a mismatch
// error wrapping ErrEmbedderMismatch).
func (db *DB) storeEmbedder(vsID string, rec embed.Identity) (*ownEmbedder, error) {
	cur := db.opts.Embedder.Identity()
	if cur == rec {
		return nil, nil
	}
	if cur.Provider == "local" && rec.Provider == "local" && cur == embed.DefaultIdentity() {
		if e, ok := embed.Builtin(rec); ok {
			return db.builtins.get(e, db.embedSem, db.opts.EmbedConcurrency), nil
		}
	}
	return nil, fmt.Errorf("%w: vector store %s was built with %s, this DB embeds with %s; use the same embedder or re-embed the store (DB.Reembed)",
		ErrEmbedderMismatch, vsID, rec, cur)
}

func (b *builtinEmbedders) get(e Embedder, sem chan struct{}, concurrency int) *ownEmbedder {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := e.Identity()
	if o, ok := b.m[id]; ok {
		return o
	}
	if b.m == nil {
		b.m = map[embed.Identity]*ownEmbedder{}
	}
	limited := &limitedEmbedder{e: e, sem: sem}
	o := &ownEmbedder{
		batcher: embed.NewBatcher(limited, embed.BatcherOptions{Concurrency: concurrency}),
		query:   limited,
	}
	b.m[id] = o
	return o
}
