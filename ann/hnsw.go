package ann

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// Slot states. A slot is a node index; freed slots are reused by Add.
const (
	slotFree      = 0 // never used, or freed by a repair
	slotInserting = 1 // allocated, vector not yet written
	slotLive      = 2
	slotDeleted   = 3 // tombstone: still routes searches, never returned
)

const lockPage = 4096 // slot locks are allocated in pages that never move

const noNode = math.MaxUint32

// HNSW is a hierarchical navigable small world graph (Malkov & Yashunin)
// over float32 vectors. It is safe for concurrent use: searches and inserts
// run in parallel; Delete, replacing Add and growth take a short exclusive
// lock.
type HNSW struct {
	dim    int
	cfg    Config
	m, m0  int // neighbours per node on upper layers / on layer 0
	ml     float64
	cfgErr error

	// mu guards the backing arrays below: holders of mu.RLock may read them
	// and write the slots they own; growth, tombstoning and repair hold
	// mu.Lock.
	mu sync.RWMutex
	// INVARIANT: len(ids) == len(levels) == len(state) == len(upper) ==
	// len(vecs)/dim == len(links0)/(1+m0) is the capacity in slots.
	ids    []uint64
	levels []uint8
	state  []uint32 // slot states, read and written atomically
	vecs   []float32
	links0 []uint32   // slot i: [count, m0 neighbours]
	upper  [][]uint32 // slot i, layer l >= 1: [count, m neighbours] at (l-1)*(1+m)
	tomb   int        // tombstones; guarded by mu (Lock)

	// Quantized traversal, only with Config.Quantize. quant is nil until
	// quantTrain vectors are live; it is set (and every used slot encoded)
	// under mu.Lock and never changes afterwards, so holders of mu.RLock
	// may read it. A slot's codes are written by its inserter, like vecs.
	// INVARIANT: with Config.Quantize, len(codes) == len(state)*dim and
	// len(corr) == len(state); without, both are nil.
	quant *quantizer
	codes []int8    // slot i: codes[i*dim : (i+1)*dim]
	corr  []float32 // slot i: Σ off_j·codes_j (see quantizer)

	allocMu sync.Mutex
	n       int               // slots ever handed out; guarded by allocMu
	idmap   map[uint64]uint32 // guarded by allocMu (or mu.Lock)
	free    []uint32          // guarded by allocMu (or mu.Lock)

	epMu  sync.Mutex
	entry uint32 // guarded by epMu
	top   int    // level of entry, -1 when empty; guarded by epMu

	rngMu sync.Mutex
	rng   *rand.Rand // guarded by rngMu

	// locks[i/lockPage][i%lockPage] is slot i's lock: writers of i's
	// lists hold it, and so does i's inserter for the whole insert, so
	// that an insert walking the graph never reads i's lists before they
	// are complete (see Add). Grown with the capacity under mu.Lock.
	locks []*[lockPage]sync.Mutex
	pool  sync.Pool // *searchCtx
	seq   atomic.Uint64
	live  atomic.Int64
}

// searchCtx is the per-search scratch space, reused through a sync.Pool so
// that a search allocates nothing per hop.
type searchCtx struct {
	vis    visited
	cands  minHeap
	top    maxHeap
	nb     []uint32
	sorted []cand
	sel    []cand
	shrink []cand
	shSel  []cand
	q      []float32
	qc     []int8

	// inserting is set while the context serves Add for slot self: links
	// then locks each slot it reads (except self, whose lock Add holds).
	inserting bool
	self      uint32
}

// NewHNSW returns an empty graph over dim-dimensional vectors. Zero fields
// of cfg take their defaults (see Config); an invalid cfg makes every Add
// and Search return the validation error.
func NewHNSW(dim int, cfg Config) *HNSW {
	cfg = cfg.EnsureDefaults()
	h := &HNSW{dim: dim, cfg: cfg, idmap: map[uint64]uint32{}, top: -1, entry: noNode}
	h.cfgErr = cfg.Validate()
	if dim <= 0 || dim > maxDim {
		h.cfgErr = errors.Join(h.cfgErr, fmt.Errorf("%w: dimension %d outside 1..%d", ErrConfig, dim, maxDim))
	}
	h.m = max(cfg.M, 2)
	h.m0 = 2 * h.m
	h.ml = 1 / math.Log(float64(h.m))
	h.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	h.pool.New = func() any { return new(searchCtx) }
	return h
}

// Dim returns the vector dimension.
func (h *HNSW) Dim() int { return h.dim }

// Config returns the configuration with defaults applied.
func (h *HNSW) Config() Config { return h.cfg }

// Len returns the number of ids present (tombstones excluded).
func (h *HNSW) Len() int { return int(h.live.Load()) }

// Seq returns the opaque sequence number last set by SetSeq or restored
// by ReadHNSW. The store records in it the last change the graph applied.
func (h *HNSW) Seq() uint64 { return h.seq.Load() }

// SetSeq sets the sequence number that WriteTo saves.
func (h *HNSW) SetSeq(s uint64) { h.seq.Store(s) }

func (h *HNSW) vec(i uint32) []float32 {
	o := int(i) * h.dim
	return h.vecs[o : o+h.dim : o+h.dim]
}

func (h *HNSW) maxLinks(l int) int {
	if l == 0 {
		return h.m0
	}
	return h.m
}

// block returns slot i's list at layer l: [count, neighbours...].
// REQUIRES: l <= levels[i].
func (h *HNSW) block(i uint32, l int) []uint32 {
	if l == 0 {
		o := int(i) * (1 + h.m0)
		return h.links0[o : o+1+h.m0 : o+1+h.m0]
	}
	o := (l - 1) * (1 + h.m)
	return h.upper[i][o : o+1+h.m : o+1+h.m]
}

// slotLock returns slot i's lock. REQUIRES: h.mu held (read).
func (h *HNSW) slotLock(i uint32) *sync.Mutex { return &h.locks[i/lockPage][i%lockPage] }

// links copies slot i's neighbours at layer l into sc.nb. A search reads
// without locking: writers (holding i's lock) store every word atomically,
// so a reader racing a rewrite may see a mix of the old and new list, but
// every word it sees names a slot that stays allocated while h.mu is
// read-locked. An insert locks i while it reads, which waits for i's own
// insert to finish if it is still running.
func (h *HNSW) links(sc *searchCtx, i uint32, l int) []uint32 {
	if sc.inserting && i != sc.self {
		mu := h.slotLock(i)
		mu.Lock()
		defer mu.Unlock()
	}
	b := h.block(i, l)
	n := min(int(atomic.LoadUint32(&b[0])), len(b)-1)
	nb := sc.nb[:0]
	for k := 1; k <= n; k++ {
		nb = append(nb, atomic.LoadUint32(&b[k]))
	}
	sc.nb = nb
	return nb
}

// storeList writes list into b atomically word by word.
// REQUIRES: the lock of b's slot held, or h.mu held (write).
func storeList(b []uint32, list []cand) {
	for k, c := range list {
		atomic.StoreUint32(&b[1+k], c.i)
	}
	atomic.StoreUint32(&b[0], uint32(len(list)))
}

func (h *HNSW) stateOf(i uint32) uint32 { return atomic.LoadUint32(&h.state[i]) }

func (h *HNSW) randomLevel() int {
	h.rngMu.Lock()
	u := h.rng.Float64()
	h.rngMu.Unlock()
	l := int(-math.Log(1-u) * h.ml)
	return min(l, maxLevel)
}

func (h *HNSW) getCtx() *searchCtx   { return h.pool.Get().(*searchCtx) }
func (h *HNSW) putCtx(sc *searchCtx) { h.pool.Put(sc) }

// prepare copies v into dst, normalized for Cosine.
func (h *HNSW) prepare(dst, v []float32) []float32 {
	dst = append(dst[:0], v...)
	if h.cfg.Metric == Cosine {
		normalizeInPlace(dst)
	}
	return dst
}

type allocResult int

const (
	allocOK allocResult = iota
	allocExists
	allocGrow
	allocFull
)

// alloc hands out a slot for id. REQUIRES: h.mu held (read).
func (h *HNSW) alloc(id uint64) (uint32, allocResult) {
	h.allocMu.Lock()
	defer h.allocMu.Unlock()
	if _, ok := h.idmap[id]; ok {
		return 0, allocExists
	}
	var i uint32
	if n := len(h.free); n > 0 {
		i = h.free[n-1]
		h.free = h.free[:n-1]
	} else {
		if h.n >= len(h.state) {
			return 0, allocGrow
		}
		if h.n >= noNode {
			return 0, allocFull
		}
		i = uint32(h.n)
		h.n++
	}
	h.idmap[id] = i
	atomic.StoreUint32(&h.state[i], slotInserting)
	h.live.Add(1)
	return i, allocOK
}

// growLocked grows the capacity by a quarter (at least 1,024 slots): each
// slot is copied about four times over the graph's growth, which costs
// little beside the inserts, and a large graph never holds twice its
// vectors' memory for a few more nodes (a 1M × 384 graph loaded from disk
// and given one insert grew by 1.5 GB when growth doubled). REQUIRES: h.mu
// held (write).
func (h *HNSW) growLocked() {
	c := len(h.state)
	h.resizeLocked(c + max(1024, c/4))
}

func (h *HNSW) resizeLocked(nc int) {
	if nc <= len(h.state) {
		return
	}
	h.ids = append(h.ids, make([]uint64, nc-len(h.ids))...)
	h.levels = append(h.levels, make([]uint8, nc-len(h.levels))...)
	h.state = append(h.state, make([]uint32, nc-len(h.state))...)
	h.upper = append(h.upper, make([][]uint32, nc-len(h.upper))...)
	h.vecs = append(h.vecs, make([]float32, nc*h.dim-len(h.vecs))...)
	h.links0 = append(h.links0, make([]uint32, nc*(1+h.m0)-len(h.links0))...)
	h.growLocks(nc)
	if h.cfg.Quantize {
		h.codes = append(h.codes, make([]int8, nc*h.dim-len(h.codes))...)
		h.corr = append(h.corr, make([]float32, nc-len(h.corr))...)
	}
}

// growLocks allocates slot locks for n slots. REQUIRES: h.mu held (write).
func (h *HNSW) growLocks(n int) {
	for len(h.locks)*lockPage < n {
		h.locks = append(h.locks, new([lockPage]sync.Mutex))
	}
}

// Reserve grows the capacity to hold n slots, avoiding repeated growth
// during a bulk load.
func (h *HNSW) Reserve(n int) {
	if n <= 0 || n > noNode || h.cfgErr != nil {
		return
	}
	h.mu.Lock()
	h.resizeLocked(n)
	h.mu.Unlock()
}

// Add implements Index. Adding an id that is present replaces its vector
// (the old node becomes a tombstone). Add is safe to call from several
// goroutines at once; inserts run in parallel. As in hnswlib, an insert
// holds its node's lock from before the node can be reached until all its
// lists are written, and inserts lock each node whose lists they read: an
// insert that reaches a node still being inserted waits for it instead of
// routing through its empty lower layers, which left near-duplicate nodes
// unreachable.
func (h *HNSW) Add(id uint64, vec []float32) error {
	if h.cfgErr != nil {
		return h.cfgErr
	}
	if err := checkDim(h.dim, vec); err != nil {
		return err
	}
	level := h.randomLevel()
	sc := h.getCtx()
	defer h.putCtx(sc)
	for {
		h.mu.RLock()
		i, res := h.alloc(id)
		switch res {
		case allocExists:
			h.mu.RUnlock()
			h.mu.Lock()
			if h.deleteLocked(id) {
				h.maybeRepairLocked()
			}
			h.mu.Unlock()
			continue
		case allocGrow:
			h.mu.RUnlock()
			h.mu.Lock()
			if h.n >= len(h.state) && len(h.free) == 0 {
				h.growLocked()
			}
			h.mu.Unlock()
			continue
		case allocFull:
			h.mu.RUnlock()
			return fmt.Errorf("ann: graph full (%d nodes)", noNode)
		}
		// The slot is ours until it is linked; its lock keeps concurrent
		// inserts out of its lists until all of them are written.
		own := h.slotLock(i)
		own.Lock()
		h.prepare(h.vec(i)[:0], vec)
		if h.quant != nil {
			h.encodeSlot(i)
		}
		h.ids[i] = id
		h.levels[i] = uint8(level)
		atomic.StoreUint32(&h.links0[int(i)*(1+h.m0)], 0)
		if level > 0 {
			h.upper[i] = make([]uint32, level*(1+h.m))
		} else {
			h.upper[i] = nil
		}
		atomic.StoreUint32(&h.state[i], slotLive)
		sc.inserting, sc.self = true, i
		h.link(sc, i, level)
		sc.inserting = false
		own.Unlock()
		train := h.cfg.Quantize && h.quant == nil && h.live.Load() >= quantTrain
		h.mu.RUnlock()
		if train {
			h.mu.Lock()
			if h.quant == nil {
				h.trainLocked()
			}
			h.mu.Unlock()
		}
		return nil
	}
}

// link connects slot i into the graph. REQUIRES: h.mu held (read), i's
// lock held, sc.inserting.
func (h *HNSW) link(sc *searchCtx, i uint32, level int) {
	q := h.vec(i)
	h.epMu.Lock()
	ep, top := h.entry, h.top
	if top < 0 {
		h.entry, h.top = i, level
		h.epMu.Unlock()
		return
	}
	h.epMu.Unlock()

	cur := cand{distance(h.cfg.Metric, q, h.vec(ep)), ep}
	for l := top; l > level; l-- {
		cur = h.greedy(sc, q, cur, l)
	}
	for l := min(level, top); l >= 0; l-- {
		h.searchLayer(sc, q, cur, h.cfg.EfConstruction, l, nil)
		sc.sorted = sc.top.drainSorted(sc.sorted[:0])
		if len(sc.sorted) == 0 {
			continue
		}
		sc.sel = h.heuristic(sc.sorted, h.m, sc.sel[:0])
		// i's lists are written by nobody else while its lock is held.
		storeList(h.block(i, l), sc.sel)
		for _, c := range sc.sel {
			h.addLink(sc, c.i, i, c.d, l)
		}
		cur = sc.sorted[0]
	}
	if level > top {
		h.epMu.Lock()
		if level > h.top {
			h.entry, h.top = i, level
		}
		h.epMu.Unlock()
	}
}

// addLink adds i to s's list at layer l, pruning it with the heuristic when
// full. d is the distance between s and i.
func (h *HNSW) addLink(sc *searchCtx, s, i uint32, d float32, l int) {
	limit := h.maxLinks(l)
	mu := h.slotLock(s)
	mu.Lock()
	defer mu.Unlock()
	b := h.block(s, l)
	n := int(b[0])
	if n < limit {
		atomic.StoreUint32(&b[1+n], i)
		atomic.StoreUint32(&b[0], uint32(n+1))
		return
	}
	vs := h.vec(s)
	sc.shrink = append(sc.shrink[:0], cand{d, i})
	for _, j := range b[1 : 1+n] {
		sc.shrink = append(sc.shrink, cand{distance(h.cfg.Metric, vs, h.vec(j)), j})
	}
	sortCands(sc.shrink)
	sc.shSel = h.heuristic(sc.shrink, limit, sc.shSel[:0])
	storeList(b, sc.shSel)
}

func sortCands(c []cand) {
	slices.SortFunc(c, func(a, b cand) int {
		switch {
		case a.d < b.d:
			return -1
		case a.d > b.d:
			return 1
		}
		return 0
	})
}

// heuristic picks up to m of cands (sorted nearest first) that are nearer
// to the base than to any already picked neighbour, as hnswlib's
// getNeighborsByHeuristic2: it keeps links spread in all directions. Up to
// m, the rest of the list is the nearest candidates it passed over.
func (h *HNSW) heuristic(cands []cand, m int, out []cand) []cand {
	if len(cands) <= m {
		return append(out, cands...)
	}
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		vc := h.vec(c.i)
		good := true
		for _, r := range out {
			if distance(h.cfg.Metric, vc, h.vec(r.i)) < c.d {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		}
	}
	// keepPrunedConnections (the paper's Algorithm 4): fill the list up to
	// m with the nearest candidates the heuristic passed over.
	picked := len(out)
	for _, c := range cands {
		if len(out) >= m {
			break
		}
		if !slices.ContainsFunc(out[:picked], func(r cand) bool { return r.i == c.i }) {
			out = append(out, c)
		}
	}
	return out
}

// greedy walks layer l from cur to a local minimum.
func (h *HNSW) greedy(sc *searchCtx, q []float32, cur cand, l int) cand {
	for changed := true; changed; {
		changed = false
		for _, j := range h.links(sc, cur.i, l) {
			if d := distance(h.cfg.Metric, q, h.vec(j)); d < cur.d {
				cur, changed = cand{d, j}, true
			}
		}
	}
	return cur
}

// searchLayer is the beam search of layer l from ep: it leaves in sc.top
// up to ef nearest nodes that are live and allowed by filter. Tombstones
// and filtered-out nodes still route.
func (h *HNSW) searchLayer(sc *searchCtx, q []float32, ep cand, ef, l int, filter Filter) {
	sc.vis.reset(len(h.state))
	sc.cands = sc.cands[:0]
	sc.top = sc.top[:0]
	sc.vis.visit(ep.i)
	sc.cands.push(ep)
	lower := float32(math.Inf(1))
	if h.returnable(ep.i, filter) {
		sc.top.push(ep)
		lower = ep.d
	}
	for len(sc.cands) > 0 {
		c := sc.cands[0]
		if c.d > lower && len(sc.top) >= ef {
			break
		}
		sc.cands.pop()
		for _, j := range h.links(sc, c.i, l) {
			if sc.vis.visit(j) {
				continue
			}
			d := distance(h.cfg.Metric, q, h.vec(j))
			if len(sc.top) < ef || d < lower {
				sc.cands.push(cand{d, j})
				if h.returnable(j, filter) {
					sc.top.pushBounded(cand{d, j}, ef)
					lower = sc.top[0].d
				}
			}
		}
	}
}

func (h *HNSW) returnable(i uint32, filter Filter) bool {
	return h.stateOf(i) == slotLive && (filter == nil || filter(h.ids[i]))
}

// Delete implements Index. The node becomes a tombstone that still routes
// searches; when tombstones pass Config.RepairFraction the graph is
// repaired under an exclusive lock (see Compact).
func (h *HNSW) Delete(id uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ok := h.deleteLocked(id)
	if ok {
		h.maybeRepairLocked()
	}
	return ok
}

// deleteLocked tombstones id. REQUIRES: h.mu held (write).
func (h *HNSW) deleteLocked(id uint64) bool {
	i, ok := h.idmap[id]
	if !ok {
		return false
	}
	delete(h.idmap, id)
	atomic.StoreUint32(&h.state[i], slotDeleted)
	h.tomb++
	h.live.Add(-1)
	return true
}

func (h *HNSW) maybeRepairLocked() {
	if h.live.Load() == 0 && h.tomb > 0 {
		// Nothing left to route to: free everything, so that the next Add
		// starts a fresh graph instead of hanging off a tombstone.
		h.repairLocked()
		return
	}
	f := h.cfg.RepairFraction
	if f <= 0 || h.tomb < 8 {
		return
	}
	if float64(h.tomb) > f*float64(h.n-len(h.free)) {
		h.repairLocked()
	}
}

// Compact repairs the graph now: every live node that links to a tombstone
// is reconnected to its live neighbours and its tombstoned neighbours' live
// neighbours (chosen by the same heuristic as inserts), and the tombstones'
// slots are freed for reuse. It holds an exclusive lock while it runs.
func (h *HNSW) Compact() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tomb > 0 {
		h.repairLocked()
	}
}

// repairLocked: REQUIRES: h.mu held (write).
func (h *HNSW) repairLocked() {
	sc := h.getCtx()
	defer h.putCtx(sc)
	for i := 0; i < h.n; i++ {
		u := uint32(i)
		if h.state[u] != slotLive {
			continue
		}
		for l := 0; l <= int(h.levels[u]); l++ {
			b := h.block(u, l)
			n := int(b[0])
			dirty := false
			for _, j := range b[1 : 1+n] {
				if h.state[j] != slotLive {
					dirty = true
					break
				}
			}
			if !dirty {
				continue
			}
			sc.vis.reset(len(h.state))
			sc.vis.visit(u)
			vu := h.vec(u)
			sc.sorted = sc.sorted[:0]
			add := func(j uint32) {
				if h.state[j] == slotLive && !sc.vis.visit(j) {
					sc.sorted = append(sc.sorted, cand{distance(h.cfg.Metric, vu, h.vec(j)), j})
				}
			}
			for _, j := range b[1 : 1+n] {
				if h.state[j] == slotLive {
					add(j)
					continue
				}
				bj := h.block(j, l)
				for _, jj := range bj[1 : 1+bj[0]] {
					add(jj)
				}
			}
			sortCands(sc.sorted)
			sc.sel = h.heuristic(sc.sorted, h.maxLinks(l), sc.sel[:0])
			storeList(b, sc.sel)
		}
	}
	for i := 0; i < h.n; i++ {
		u := uint32(i)
		if h.state[u] != slotDeleted {
			continue
		}
		h.state[u] = slotFree
		h.levels[u] = 0
		h.upper[u] = nil
		h.ids[u] = 0
		h.links0[i*(1+h.m0)] = 0
		h.free = append(h.free, u)
	}
	h.tomb = 0
	h.epMu.Lock()
	if h.entry != noNode && h.state[h.entry] != slotLive {
		h.entry, h.top = noNode, -1
		for i := 0; i < h.n; i++ {
			if h.state[i] == slotLive && int(h.levels[i]) > h.top {
				h.entry, h.top = uint32(i), int(h.levels[i])
			}
		}
	}
	h.epMu.Unlock()
}

// SearchOptions tune one search.
type SearchOptions struct {
	// Filter restricts the results; nil allows every id.
	Filter Filter
	// Ef is the candidate list size; 0 means Config.EfSearch. It is
	// raised to k when smaller.
	Ef int
	// Selectivity is the caller's estimate of the share of ids Filter
	// allows, in (0, 1]; 0 lets the graph estimate it by sampling.
	Selectivity float64
	// Exact scans every allowed vector instead of walking the graph.
	Exact bool
	// Walk walks the graph even when a filter makes the exact scan cheaper
	// (for measuring the walk itself); Exact wins over it.
	Walk bool
}

// Search implements Index with Config.EfSearch.
func (h *HNSW) Search(query []float32, k int, filter Filter) ([]Result, error) {
	return h.SearchWith(query, k, SearchOptions{Filter: filter})
}

// SearchWith returns up to k nearest live ids allowed by o.Filter, nearest
// first. The graph walk routes through every node but returns only allowed
// ones; a filter estimated to allow fewer than Config.ExactBelow ids, less
// than Config.ExactSelectivity of them, or few enough that scanning them
// costs fewer distances than the walk would (see exactCheaper) makes the
// search an exact scan of the allowed ids instead.
func (h *HNSW) SearchWith(query []float32, k int, o SearchOptions) ([]Result, error) {
	if h.cfgErr != nil {
		return nil, h.cfgErr
	}
	if err := checkDim(h.dim, query); err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, nil
	}
	sc := h.getCtx()
	defer h.putCtx(sc)
	sc.q = h.prepare(sc.q, query)
	q := sc.q
	h.mu.RLock()
	defer h.mu.RUnlock()

	ef := o.Ef
	if ef <= 0 {
		ef = h.cfg.EfSearch
	}
	ef = max(ef, k)
	exact := o.Exact
	if !exact && !o.Walk && o.Filter != nil {
		sel := o.Selectivity
		if sel <= 0 || sel > 1 {
			sel = h.estimateSelectivity(o.Filter)
		}
		exact = h.exactCheaper(sel, ef)
	}
	if exact {
		return h.exactLocked(q, k, o.Filter), nil
	}
	h.epMu.Lock()
	ep, top := h.entry, h.top
	h.epMu.Unlock()
	if top < 0 {
		return nil, nil
	}
	if h.quant != nil {
		return h.searchQuantizedLocked(sc, q, ep, top, k, ef, o.Filter), nil
	}
	cur := cand{distance(h.cfg.Metric, q, h.vec(ep)), ep}
	for l := top; l > 0; l-- {
		cur = h.greedy(sc, q, cur, l)
	}
	h.searchLayer(sc, q, cur, ef, 0, o.Filter)
	for len(sc.top) > k {
		sc.top.pop()
	}
	out := make([]Result, len(sc.top))
	for i := len(out) - 1; i >= 0; i-- {
		c := sc.top.pop()
		out[i] = Result{h.ids[c.i], c.d}
	}
	return out, nil
}

// exactCheaper reports whether a filtered search allowing sel of the ids
// should scan them exactly rather than walk the graph: below
// Config.ExactBelow ids or Config.ExactSelectivity, or when the scan costs
// fewer distances. A walk that must collect ef allowed nodes visits about
// ef/sel of them and computes about M0 distances per visit (measured: 77
// per unit of ef at M 16, so ~2.4·M0), against sel·n for the scan, which
// also runs on every core. REQUIRES: h.mu held (read).
func (h *HNSW) exactCheaper(sel float64, ef int) bool {
	allowed := sel * float64(h.live.Load())
	walk := float64(ef) / max(sel, 1e-9) * float64(h.m0) * 2
	return sel < h.cfg.ExactSelectivity || allowed < float64(h.cfg.ExactBelow) || allowed < walk
}

// estimateSelectivity samples up to 256 slots evenly. REQUIRES: h.mu held (read).
func (h *HNSW) estimateSelectivity(f Filter) float64 {
	h.allocMu.Lock()
	n := h.n
	h.allocMu.Unlock()
	const samples = 256
	step := max(1, n/samples)
	live, allowed := 0, 0
	for i := 0; i < n; i += step {
		u := uint32(i)
		if h.stateOf(u) != slotLive {
			continue
		}
		live++
		if f(h.ids[u]) {
			allowed++
		}
	}
	if live == 0 {
		return 1
	}
	return float64(allowed) / float64(live)
}

// exactLocked scans every live allowed slot. REQUIRES: h.mu held (read).
func (h *HNSW) exactLocked(q []float32, k int, f Filter) []Result {
	h.allocMu.Lock()
	n := h.n
	h.allocMu.Unlock()
	best := scanTopK(n, k, n*h.dim, func(lo, hi int, top *maxHeap) {
		for i := lo; i < hi; i++ {
			u := uint32(i)
			if h.stateOf(u) != slotLive || (f != nil && !f(h.ids[u])) {
				continue
			}
			top.pushBounded(cand{distance(h.cfg.Metric, q, h.vec(u)), u}, k)
		}
	})
	out := make([]Result, len(best))
	for i, c := range best {
		out[i] = Result{h.ids[c.i], c.d}
	}
	return out
}
