package ann

import (
	"runtime"
	"sync"

	"github.com/viterin/vek/vek32"
)

// Flat is an exact index: every search scans every vector. Scans over more
// than parallelScanFloats floats are split across GOMAXPROCS goroutines,
// joined before Search returns. Flat is safe for concurrent use.
type Flat struct {
	dim    int
	metric Metric

	mu   sync.RWMutex
	ids  []uint64       // guarded by mu
	vecs []float32      // guarded by mu; vector i is vecs[i*dim:(i+1)*dim]
	pos  map[uint64]int // guarded by mu; id -> slot
	seq  uint64         // guarded by mu
}

// NewFlat returns an empty exact index.
func NewFlat(dim int, metric Metric) *Flat {
	return &Flat{dim: dim, metric: metric, pos: map[uint64]int{}}
}

// Dim returns the vector dimension.
func (f *Flat) Dim() int { return f.dim }

// Len returns the number of ids present.
func (f *Flat) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.ids)
}

// Seq returns the opaque sequence number last set by SetSeq or ReadFlat.
func (f *Flat) Seq() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.seq
}

// SetSeq sets the sequence number that WriteTo saves.
func (f *Flat) SetSeq(s uint64) {
	f.mu.Lock()
	f.seq = s
	f.mu.Unlock()
}

// Add implements Index.
func (f *Flat) Add(id uint64, vec []float32) error {
	if err := checkDim(f.dim, vec); err != nil {
		return err
	}
	v := vec
	if f.metric == Cosine {
		v = normalized(vec)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if i, ok := f.pos[id]; ok {
		copy(f.vecs[i*f.dim:], v)
		return nil
	}
	f.pos[id] = len(f.ids)
	f.ids = append(f.ids, id)
	f.vecs = append(f.vecs, v...)
	return nil
}

// Delete implements Index; the last vector moves into the freed slot.
func (f *Flat) Delete(id uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.pos[id]
	if !ok {
		return false
	}
	last := len(f.ids) - 1
	if i != last {
		f.ids[i] = f.ids[last]
		copy(f.vecs[i*f.dim:(i+1)*f.dim], f.vecs[last*f.dim:])
		f.pos[f.ids[i]] = i
	}
	f.ids = f.ids[:last]
	f.vecs = f.vecs[:last*f.dim]
	delete(f.pos, id)
	return true
}

// Search implements Index.
func (f *Flat) Search(query []float32, k int, filter Filter) ([]Result, error) {
	if err := checkDim(f.dim, query); err != nil {
		return nil, err
	}
	if k <= 0 {
		return nil, nil
	}
	q := query
	if f.metric == Cosine {
		q = normalized(query)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	n := len(f.ids)
	best := scanTopK(n, k, n*f.dim, func(lo, hi int, top *maxHeap) {
		for i := lo; i < hi; i++ {
			if filter != nil && !filter(f.ids[i]) {
				continue
			}
			d := distance(f.metric, q, f.vecs[i*f.dim:(i+1)*f.dim])
			top.pushBounded(cand{d, uint32(i)}, k)
		}
	})
	out := make([]Result, len(best))
	for i, c := range best {
		out[i] = Result{f.ids[c.i], c.d}
	}
	return out, nil
}

// parallelScanFloats is the scan size (vectors × dimensions) above which an
// exact scan is split across cores; below it one goroutine is faster.
const parallelScanFloats = 1 << 20

// scanTopK runs scan over [0, n), split into one part per core when work
// (floats touched) is large, and returns the k nearest, nearest first.
func scanTopK(n, k, work int, scan func(lo, hi int, top *maxHeap)) []cand {
	parts := 1
	if work >= parallelScanFloats {
		parts = min(runtime.GOMAXPROCS(0), n)
	}
	if parts <= 1 {
		top := make(maxHeap, 0, k+1)
		scan(0, n, &top)
		return top.drainSorted(make([]cand, 0, len(top)))
	}
	tops := make([]maxHeap, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := n*p/parts, n*(p+1)/parts
		tops[p] = make(maxHeap, 0, k+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			scan(lo, hi, &tops[p])
		}()
	}
	wg.Wait()
	top := tops[0]
	for _, t := range tops[1:] {
		for _, c := range t {
			top.pushBounded(c, k)
		}
	}
	return top.drainSorted(make([]cand, 0, len(top)))
}

// distance requires len(a) == len(b) > 0.
func distance(m Metric, a, b []float32) float32 {
	if m == Cosine {
		return 1 - vek32.Dot(a, b)
	}
	d := vek32.Distance(a, b)
	return d * d
}

func normalized(v []float32) []float32 {
	out := append([]float32(nil), v...)
	normalizeInPlace(out)
	return out
}

// normalizeInPlace scales v to unit length; a zero vector stays zero.
func normalizeInPlace(v []float32) {
	n := vek32.Norm(v)
	if n == 0 {
		return
	}
	vek32.MulNumber_Inplace(v, 1/n)
}
