package embed

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// BatchLimiter is implemented by embedders whose requests have limits: at
// most inputs texts and tokens tokens per Embed call's request. A Batcher
// fills its batches up to them.
type BatchLimiter interface {
	BatchLimits() (inputs, tokens int)
}

// BatchLimits implements BatchLimiter: one request's limits.
func (c *OpenAI) BatchLimits() (inputs, tokens int) {
	return c.opts.MaxBatch, c.opts.MaxBatchTokens
}

// LimitsOf returns the batch limits of e, looking through wrappers that
// have an Unwrap() Embedder method; ok is false when no embedder in the
// chain declares any.
func LimitsOf(e Embedder) (inputs, tokens int, ok bool) {
	for e != nil {
		if l, isL := e.(BatchLimiter); isL {
			inputs, tokens = l.BatchLimits()
			return inputs, tokens, true
		}
		u, isU := e.(interface{ Unwrap() Embedder })
		if !isU {
			break
		}
		e = u.Unwrap()
	}
	return 0, 0, false
}

// BatcherOptions configures a Batcher. Zero fields take the defaults.
type BatcherOptions struct {
	// MaxInputs is the most texts in one batch. Default: the embedder's
	// BatchLimits, else 256 (an embedder without request limits still gets
	// batches small enough to run Concurrency of them in parallel).
	MaxInputs int
	// MaxTokens is the most tokens in one batch. Default: the embedder's
	// BatchLimits, else 300,000.
	MaxTokens int
	// Linger is how long a batch that is not full waits for more texts
	// before it is sent. Default 10 ms.
	Linger time.Duration
	// Concurrency is the most batches in flight; texts arriving while every
	// slot is busy fill the next batches. Default 4.
	Concurrency int
}

// Batcher merges the Embed calls of concurrent callers into batches of up
// to MaxInputs texts and MaxTokens tokens, each sent as one Embed call of
// the wrapped embedder, so that many small callers (one small file each)
// cost about one request per MaxInputs texts instead of one per caller. A
// batch that is not full is sent Linger after its first text arrived, or
// as soon as a slot frees up after that, so a lone caller waits at most
// about Linger. A call larger than a batch is split across batches, which
// run in parallel. When a batch of several calls fails, each of its calls
// is retried alone, so one bad input fails only its own call.
//
// A *Batcher is safe for concurrent use and needs no Close: it holds no
// goroutine while idle.
type Batcher struct {
	e Embedder
	o BatcherOptions

	mu       sync.Mutex
	open     []span     // guarded by mu: the batch being filled
	openIn   int        // guarded by mu: texts in open
	openTok  int        // guarded by mu: tokens in open
	expired  bool       // guarded by mu: open has lingered long enough
	gen      uint64     // guarded by mu: counts sealed batches (stale timers)
	full     [][]span   // guarded by mu: filled batches waiting for a slot
	inflight int        // guarded by mu
	stats    BatchStats // guarded by mu
}

// BatchStats counts a Batcher's work.
type BatchStats struct {
	Inputs  int64 // texts embedded
	Batches int64 // Embed calls of the wrapped embedder, retries excluded
	// Lingered counts the batches sent before they were full: those whose
	// linger expired (a burst's tail, a trickle of single calls). Batches
	// <= ceil(Inputs / MaxInputs) + Lingered when no call was split by the
	// token limit.
	Lingered int64
	Retries  int64 // calls retried alone after their batch failed
	Pending  int64 // texts waiting to be sent now
}

// span is a contiguous part of one call's texts.
type span struct {
	c      *call
	lo, hi int
}

// call is one Embed call waiting for its vectors.
type call struct {
	ctx   context.Context
	texts []string
	out   [][]float32
	left  int   // guarded by Batcher.mu: spans not yet answered
	err   error // guarded by Batcher.mu
	done  chan struct{}
}

// NewBatcher wraps e; see BatcherOptions for the defaults.
func NewBatcher(e Embedder, o BatcherOptions) *Batcher {
	in, tok, ok := LimitsOf(e)
	if o.MaxInputs <= 0 {
		o.MaxInputs = 256
		if ok && in > 0 {
			o.MaxInputs = in
		}
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = DefaultMaxBatchTokens
		if ok && tok > 0 {
			o.MaxTokens = tok
		}
	}
	if o.Linger <= 0 {
		o.Linger = 10 * time.Millisecond
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	return &Batcher{e: e, o: o}
}

// Identity implements Embedder.
func (b *Batcher) Identity() Identity { return b.e.Identity() }

// Unwrap returns the wrapped embedder.
func (b *Batcher) Unwrap() Embedder { return b.e }

// Stats returns the counts so far.
func (b *Batcher) Stats() BatchStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats
	s.Pending = int64(b.openIn)
	for _, sp := range b.full {
		for _, x := range sp {
			s.Pending += int64(x.hi - x.lo)
		}
	}
	return s
}

// Embed implements Embedder; each text counts as len(text)/3+1 tokens.
func (b *Batcher) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return b.EmbedCounted(ctx, texts, nil)
}

// EmbedCounted is Embed with each text's token count (tokens[i] for
// texts[i]) for the MaxTokens limit; nil tokens means the estimate of
// Embed.
func (b *Batcher) EmbedCounted(ctx context.Context, texts []string, tokens []int) ([][]float32, error) {
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	if tokens == nil {
		tokens = make([]int, len(texts))
		for i, t := range texts {
			tokens[i] = len(t)/3 + 1
		}
	}
	c := &call{ctx: ctx, texts: texts, out: make([][]float32, len(texts)), done: make(chan struct{})}
	b.mu.Lock()
	lo := 0
	for i := range texts {
		n := b.openIn + i - lo // texts in the open batch, this call's included
		if n > 0 && (n >= b.o.MaxInputs || b.openTok+tokens[i] > b.o.MaxTokens) {
			b.addSpanLocked(c, lo, i)
			b.sealLocked()
			lo, n = i, 0
		}
		if n == 0 {
			b.startTimerLocked()
		}
		b.openTok += tokens[i]
	}
	b.addSpanLocked(c, lo, len(texts))
	b.dispatchLocked()
	b.mu.Unlock()
	select {
	case <-c.done:
		if c.err != nil {
			return nil, c.err
		}
		return c.out, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// addSpanLocked adds c.texts[lo:hi] to the open batch.
func (b *Batcher) addSpanLocked(c *call, lo, hi int) {
	if hi <= lo {
		return
	}
	b.open = append(b.open, span{c, lo, hi})
	b.openIn += hi - lo
	c.left++
}

// sealLocked moves the open batch to the full ones.
func (b *Batcher) sealLocked() {
	if b.openIn > 0 {
		b.full = append(b.full, b.open)
	}
	b.resetOpenLocked()
}

// resetOpenLocked starts a new, empty open batch (its linger timer, if
// any, no longer applies).
func (b *Batcher) resetOpenLocked() {
	b.open, b.openIn, b.openTok, b.expired = nil, 0, 0, false
	b.gen++
}

// startTimerLocked starts the linger of a new open batch.
func (b *Batcher) startTimerLocked() {
	gen := b.gen
	time.AfterFunc(b.o.Linger, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.gen == gen && b.openIn > 0 {
			b.expired = true
			b.dispatchLocked()
		}
	})
}

// dispatchLocked sends full batches, then an expired open one, while
// slots are free.
func (b *Batcher) dispatchLocked() {
	for b.inflight < b.o.Concurrency {
		var batch []span
		switch {
		case len(b.full) > 0:
			batch = b.full[0]
			b.full[0] = nil
			b.full = b.full[1:]
		case b.openIn > 0 && b.expired:
			batch = b.open
			b.resetOpenLocked()
			b.stats.Lingered++
		default:
			return
		}
		b.inflight++
		b.stats.Batches++
		for _, s := range batch {
			b.stats.Inputs += int64(s.hi - s.lo)
		}
		go b.run(batch)
	}
}

// run embeds one batch and answers its calls.
func (b *Batcher) run(batch []span) {
	var ctx context.Context
	var texts []string
	live := batch[:0:0]
	errs := make([]error, len(batch))
	for i, s := range batch {
		if err := s.c.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if ctx == nil {
			ctx = s.c.ctx
		}
		live = append(live, s)
		texts = append(texts, s.c.texts[s.lo:s.hi]...)
	}
	if len(live) > 0 {
		vecs, err := b.embed(ctx, texts)
		if err != nil && len(live) > 1 {
			// One bad input must not fail its batch mates: each span alone.
			b.mu.Lock()
			b.stats.Retries += int64(len(live))
			b.mu.Unlock()
			for _, s := range live {
				vs, err := b.embed(s.c.ctx, s.c.texts[s.lo:s.hi])
				if err == nil {
					copy(s.c.out[s.lo:s.hi], vs)
				} else {
					s.c.setErr(&b.mu, err)
				}
			}
		} else {
			off := 0
			for _, s := range live {
				if err != nil {
					s.c.setErr(&b.mu, err)
				} else {
					copy(s.c.out[s.lo:s.hi], vecs[off:off+s.hi-s.lo])
				}
				off += s.hi - s.lo
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range batch {
		if errs[i] != nil && s.c.err == nil {
			s.c.err = errs[i]
		}
		s.c.left--
		if s.c.left == 0 {
			close(s.c.done)
		}
	}
	b.inflight--
	b.dispatchLocked()
}

// embed calls the wrapped embedder; a panic in it fails the batch, not
// the process (the batch runs on a goroutine of its own).
func (b *Batcher) embed(ctx context.Context, texts []string) (vecs [][]float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			vecs, err = nil, fmt.Errorf("embed: internal error: %v\n%s", r, debug.Stack())
		}
	}()
	vecs, err = b.e.Embed(ctx, texts)
	if err == nil {
		err = CheckVectors(vecs, len(texts), -1)
	}
	return vecs, err
}

func (c *call) setErr(mu *sync.Mutex, err error) {
	mu.Lock()
	defer mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}
