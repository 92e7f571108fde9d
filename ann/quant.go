package ann

import "math"

// quantTrain is the number of live vectors at which a graph with
// Config.Quantize fixes its quantizer. Below it searches use the float32
// vectors; from then on the quantizer never changes, so codes written
// earlier stay valid.
const quantTrain = 1024

// quantizer maps a float32 vector x to int8 codes
//
//	c_j = clamp(round((x_j - off_j) / scale), -127, 127)
//
// with a per-dimension centre off_j and one scale shared by every
// dimension (the widest range seen in training over 254 steps). Sharing the
// scale keeps the distances pure integer kernels:
//
//	L2:  |x - y|² ≈ scale² · Σ (cx_j - cy_j)²
//	dot: x·y      ≈ Σ off_j² + scale·(Ox + Oy) + scale² · Σ cx_j·cy_j
//
// where Ox = Σ off_j·cx_j is stored per slot. Values outside the trained
// range are clamped; the float32 re-scoring of the candidates repairs the
// order they lose.
type quantizer struct {
	off    []float32
	scale  float32
	scale2 float32
	offSq  float32
}

func newQuantizer(off []float32, scale float32) *quantizer {
	q := &quantizer{off: off, scale: scale, scale2: scale * scale}
	for _, o := range off {
		q.offSq += o * o
	}
	return q
}

// trainQuantizer fixes the centre and scale from the per-dimension ranges
// of the vectors vec(0..n-1). REQUIRES: n > 0.
func trainQuantizer(dim, n int, vec func(i int) []float32) *quantizer {
	lo := make([]float32, dim)
	hi := make([]float32, dim)
	copy(lo, vec(0))
	copy(hi, vec(0))
	for i := 1; i < n; i++ {
		for j, x := range vec(i) {
			lo[j] = min(lo[j], x)
			hi[j] = max(hi[j], x)
		}
	}
	var span float32
	off := make([]float32, dim)
	for j := range off {
		off[j] = lo[j]/2 + hi[j]/2
		span = max(span, hi[j]-lo[j])
	}
	scale := span / 254
	if !(scale > 0) || math.IsInf(float64(scale), 0) {
		scale = 1 // every vector equal (or absurd ranges): any scale works
	}
	return newQuantizer(off, scale)
}

// encode writes v's codes into dst and returns Σ off_j·c_j.
// REQUIRES: len(dst) == len(v) == len(q.off).
func (q *quantizer) encode(dst []int8, v []float32) float32 {
	inv := 1 / q.scale
	off := q.off[:len(v)]
	dst = dst[:len(v)]
	for j, x := range v {
		f := (x - off[j]) * inv
		var c int8
		switch {
		case f >= 127:
			c = 127
		case f <= -127:
			c = -127
		case f != f: // NaN
			c = 0
		default:
			c = int8(math.Round(float64(f)))
		}
		dst[j] = c
	}
	return q.corrOf(dst)
}

// corrOf returns Σ off_j·c_j, the per-slot term of the dot product; one
// function computes it on insert and on load, so both give the same bits.
func (q *quantizer) corrOf(c []int8) float32 {
	off := q.off[:len(c)]
	var s float32
	for j, x := range c {
		s += off[j] * float32(x)
	}
	return s
}

// dotI8 returns Σ a_j·b_j. REQUIRES: len(a) == len(b).
// Four int32 accumulators cannot overflow: each sums at most
// maxDim/4+3 products of magnitude <= 127·128.
func dotI8(a, b []int8) int64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x, y := a[i:i+8:i+8], b[i:i+8:i+8] // one bounds check each per 8
		s0 += int32(x[0])*int32(y[0]) + int32(x[4])*int32(y[4])
		s1 += int32(x[1])*int32(y[1]) + int32(x[5])*int32(y[5])
		s2 += int32(x[2])*int32(y[2]) + int32(x[6])*int32(y[6])
		s3 += int32(x[3])*int32(y[3]) + int32(x[7])*int32(y[7])
	}
	for ; i < len(a); i++ {
		s0 += int32(a[i]) * int32(b[i])
	}
	return int64(s0) + int64(s1) + int64(s2) + int64(s3)
}

// l2I8 returns Σ (a_j - b_j)². REQUIRES: len(a) == len(b).
// Each of the four int32 accumulators sums at most maxDim/4+3 squares of
// at most 255², which stays below 2^31.
func l2I8(a, b []int8) int64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x, y := a[i:i+8:i+8], b[i:i+8:i+8] // one bounds check each per 8
		d0 := int32(x[0]) - int32(y[0])
		d1 := int32(x[1]) - int32(y[1])
		d2 := int32(x[2]) - int32(y[2])
		d3 := int32(x[3]) - int32(y[3])
		d4 := int32(x[4]) - int32(y[4])
		d5 := int32(x[5]) - int32(y[5])
		d6 := int32(x[6]) - int32(y[6])
		d7 := int32(x[7]) - int32(y[7])
		s0 += d0*d0 + d4*d4
		s1 += d1*d1 + d5*d5
		s2 += d2*d2 + d6*d6
		s3 += d3*d3 + d7*d7
	}
	for ; i < len(a); i++ {
		d := int32(a[i]) - int32(b[i])
		s0 += d * d
	}
	return int64(s0) + int64(s1) + int64(s2) + int64(s3)
}

func (h *HNSW) code(i uint32) []int8 {
	o := int(i) * h.dim
	return h.codes[o : o+h.dim : o+h.dim]
}

// qdist is the quantized distance between the query codes qc (with
// correction qcorr) and slot j. REQUIRES: h.mu held (read), h.quant != nil.
func (h *HNSW) qdist(qc []int8, qcorr float32, j uint32) float32 {
	q := h.quant
	if h.cfg.Metric == Cosine {
		return 1 - (q.offSq + q.scale*(qcorr+h.corr[j]) + q.scale2*float32(dotI8(qc, h.code(j))))
	}
	return q.scale2 * float32(l2I8(qc, h.code(j)))
}

// encodeSlot writes slot i's codes from its vector.
// REQUIRES: h.mu held (read) by i's inserter, or (write); h.quant != nil.
func (h *HNSW) encodeSlot(i uint32) {
	h.corr[i] = h.quant.encode(h.code(i), h.vec(i))
}

// trainLocked fixes the quantizer from every used slot's vector (live and
// tombstoned: tombstones still route) and encodes them.
// REQUIRES: h.mu held (write), h.quant == nil.
func (h *HNSW) trainLocked() {
	var used []uint32
	for i := 0; i < h.n; i++ {
		if s := h.state[i]; s == slotLive || s == slotDeleted {
			used = append(used, uint32(i))
		}
	}
	if len(used) == 0 {
		return
	}
	h.quant = trainQuantizer(h.dim, len(used), func(k int) []float32 { return h.vec(used[k]) })
	for _, i := range used {
		h.encodeSlot(i)
	}
}

// greedyQ is greedy over the codes.
func (h *HNSW) greedyQ(sc *searchCtx, qc []int8, qcorr float32, cur cand, l int) cand {
	for changed := true; changed; {
		changed = false
		for _, j := range h.links(sc, cur.i, l) {
			if d := h.qdist(qc, qcorr, j); d < cur.d {
				cur, changed = cand{d, j}, true
			}
		}
	}
	return cur
}

// searchLayerQ is searchLayer over the codes.
func (h *HNSW) searchLayerQ(sc *searchCtx, qc []int8, qcorr float32, ep cand, ef, l int, filter Filter) {
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
			d := h.qdist(qc, qcorr, j)
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

// searchQuantizedLocked walks the graph over the codes, then re-scores the
// ef candidates with the float32 vectors and returns the k nearest.
// REQUIRES: h.mu held (read), h.quant != nil, the graph not empty.
func (h *HNSW) searchQuantizedLocked(sc *searchCtx, q []float32, ep uint32, top, k, ef int, filter Filter) []Result {
	if cap(sc.qc) < h.dim {
		sc.qc = make([]int8, h.dim)
	}
	qc := sc.qc[:h.dim]
	qcorr := h.quant.encode(qc, q)
	cur := cand{h.qdist(qc, qcorr, ep), ep}
	for l := top; l > 0; l-- {
		cur = h.greedyQ(sc, qc, qcorr, cur, l)
	}
	h.searchLayerQ(sc, qc, qcorr, cur, ef, 0, filter)
	sc.sorted = sc.sorted[:0]
	for _, c := range sc.top {
		sc.sorted = append(sc.sorted, cand{distance(h.cfg.Metric, q, h.vec(c.i)), c.i})
	}
	sortCands(sc.sorted)
	out := make([]Result, min(k, len(sc.sorted)))
	for i := range out {
		c := sc.sorted[i]
		out[i] = Result{h.ids[c.i], c.d}
	}
	return out
}
