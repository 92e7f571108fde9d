package ann

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// clustered returns n seeded vectors around a few centres: the shape of
// real embeddings, harder for a graph than uniform noise.
func clustered(seed uint64, n, dim int) [][]float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	const centres = 16
	cs := make([][]float32, centres)
	for c := range cs {
		cs[c] = make([]float32, dim)
		for j := range cs[c] {
			cs[c][j] = float32(r.NormFloat64())
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := cs[r.IntN(centres)]
		v := make([]float32, dim)
		for j := range v {
			v[j] = c[j] + 0.6*float32(r.NormFloat64())
		}
		out[i] = v
	}
	return out
}

// recallAt compares got with the exact answer by distance: a returned id
// counts when its distance is within the k-th exact distance (ties).
func recallAt(got, want []Result, k int) float64 {
	if len(want) == 0 {
		return 1
	}
	kth := want[min(k, len(want))-1].Distance
	hit := 0
	for i, r := range got {
		if i >= k {
			break
		}
		if r.Distance <= kth+1e-5 {
			hit++
		}
	}
	return float64(hit) / float64(min(k, len(want)))
}

func meanRecall(t testing.TB, idx Index, exact *Flat, queries [][]float32, k int, f Filter) float64 {
	t.Helper()
	sum := 0.0
	for _, q := range queries {
		got, err := idx.Search(q, k, f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := exact.Search(q, k, f)
		if err != nil {
			t.Fatal(err)
		}
		if f != nil {
			for _, r := range got {
				if !f(r.ID) {
					t.Fatalf("Search returned id %d the filter refuses", r.ID)
				}
			}
		}
		sum += recallAt(got, want, k)
	}
	return sum / float64(len(queries))
}

func build(t testing.TB, dim int, cfg Config, vecs [][]float32) (*HNSW, *Flat) {
	t.Helper()
	h := NewHNSW(dim, cfg)
	f := NewFlat(dim, cfg.Metric)
	for i, v := range vecs {
		if err := h.Add(uint64(i), v); err != nil {
			t.Fatal(err)
		}
		if err := f.Add(uint64(i), v); err != nil {
			t.Fatal(err)
		}
	}
	return h, f
}

func TestHNSWRecall(t *testing.T) {
	for _, m := range []Metric{Cosine, L2} {
		t.Run(m.String(), func(t *testing.T) {
			const dim = 32
			vecs := clustered(1, 3000, dim)
			h, f := build(t, dim, Config{Metric: m, Seed: 3}, vecs)
			r := meanRecall(t, h, f, clustered(2, 100, dim), 10, nil)
			if r < 0.95 {
				t.Errorf("recall@10 = %.3f, want >= 0.95", r)
			}
			if h.Len() != 3000 {
				t.Errorf("Len() = %d, want 3000", h.Len())
			}
		})
	}
}

func TestHNSWSmallAndEdge(t *testing.T) {
	h := NewHNSW(4, Config{})
	if res, err := h.Search([]float32{1, 0, 0, 0}, 5, nil); err != nil || len(res) != 0 {
		t.Fatalf("Search on empty = %v, %v; want none", res, err)
	}
	if err := h.Add(1, []float32{1, 2, 3}); !errors.Is(err, ErrDimension) {
		t.Fatalf("Add(short) = %v, want ErrDimension", err)
	}
	if _, err := h.Search(nil, 3, nil); !errors.Is(err, ErrDimension) {
		t.Fatalf("Search(nil) = %v, want ErrDimension", err)
	}
	for i := range 5 {
		if err := h.Add(uint64(i), []float32{float32(i), 1, 0, 0}); err != nil {
			t.Fatal(err)
		}
	}
	// Replacing moves id 0 to where id 4 is.
	if err := h.Add(0, []float32{4, 1, 0.01, 0}); err != nil {
		t.Fatal(err)
	}
	res, err := h.Search([]float32{4, 1, 0.01, 0}, 1, nil)
	if err != nil || len(res) != 1 || res[0].ID != 0 {
		t.Fatalf("Search after replace = %v, %v; want id 0 first", res, err)
	}
	if h.Len() != 5 {
		t.Fatalf("Len() = %d, want 5", h.Len())
	}
	if !h.Delete(0) || h.Delete(0) {
		t.Fatal("Delete(0) twice: want true then false")
	}
	res, _ = h.Search([]float32{4, 1, 0.01, 0}, 10, nil)
	for _, r := range res {
		if r.ID == 0 {
			t.Fatalf("Search returned deleted id 0: %v", res)
		}
	}
	if len(res) != 4 {
		t.Fatalf("Search after delete returned %d, want 4", len(res))
	}
	// Delete everything, then add: the new node must be found.
	for i := range 5 {
		h.Delete(uint64(i))
	}
	if err := h.Add(9, []float32{1, 1, 1, 1}); err != nil {
		t.Fatal(err)
	}
	if res, _ := h.Search([]float32{1, 1, 1, 1}, 3, nil); len(res) != 1 || res[0].ID != 9 {
		t.Fatalf("Search after delete-all and add = %v, want id 9", res)
	}
	if bad := NewHNSW(0, Config{}); bad.Add(1, nil) == nil {
		t.Fatal("Add on a 0-dim graph succeeded")
	}
	if bad := NewHNSW(4, Config{M: 1}); !errors.Is(bad.Add(1, []float32{1, 2, 3, 4}), ErrConfig) {
		t.Fatal("Add with M=1 did not return ErrConfig")
	}
}

func TestHNSWDeleteReinsert(t *testing.T) {
	const dim = 24
	n, rounds := 4000, 3
	if raceEnabled {
		n, rounds = 1200, 1
	}
	vecs := clustered(5, n, dim)
	cfg := Config{Metric: L2, Seed: 9}
	h, f := build(t, dim, cfg, vecs)
	queries := clustered(6, 100, dim)
	before := meanRecall(t, h, f, queries, 10, nil)
	r := rand.New(rand.NewPCG(11, 12))
	for round := range rounds {
		perm := r.Perm(n)[:n/2]
		for _, i := range perm {
			if !h.Delete(uint64(i)) {
				t.Fatalf("round %d: Delete(%d) = false", round, i)
			}
		}
		// Re-insert the same ids with fresh vectors.
		for _, i := range perm {
			v := clustered(uint64(100+round*n+i), 1, dim)[0]
			vecs[i] = v
			if err := h.Add(uint64(i), v); err != nil {
				t.Fatal(err)
			}
			f.Add(uint64(i), v)
		}
	}
	after := meanRecall(t, h, f, queries, 10, nil)
	t.Logf("recall@10 before %.4f, after %d rounds of 50%% delete+reinsert %.4f", before, rounds, after)
	if after < before-0.02 {
		t.Errorf("recall@10 after delete/re-insert = %.4f, want >= %.4f", after, before-0.02)
	}
	if h.Len() != n {
		t.Errorf("Len() = %d, want %d", h.Len(), n)
	}
	h.allocMu.Lock()
	slots := h.n
	h.allocMu.Unlock()
	if slots > n+n/2 {
		t.Errorf("slots used = %d after re-inserts, want <= %d (freed slots reused)", slots, n+n/2)
	}
}

func TestHNSWFiltered(t *testing.T) {
	const dim = 32
	n := 5000
	if raceEnabled {
		n = 2500
	}
	vecs := clustered(21, n, dim)
	h, f := build(t, dim, Config{Seed: 4}, vecs)
	queries := clustered(22, 100, dim)
	for _, sel := range []int{1, 10, 50} { // percent allowed
		t.Run(fmt.Sprintf("%d%%", sel), func(t *testing.T) {
			allow := func(id uint64) bool { return (id*2654435761)%100 < uint64(sel) }
			r := meanRecall(t, h, f, queries, 10, allow)
			if r < 0.95 {
				t.Errorf("filtered recall@10 = %.3f, want >= 0.95", r)
			}
		})
	}
	// The graph walk itself (no exact fallback) at 10%.
	allow := func(id uint64) bool { return id%10 == 3 }
	sum := 0.0
	for _, q := range queries {
		got, _ := h.SearchWith(q, 10, SearchOptions{Filter: allow, Walk: true})
		want, _ := f.Search(q, 10, allow)
		sum += recallAt(got, want, 10)
	}
	if r := sum / float64(len(queries)); r < 0.9 {
		t.Errorf("graph-walk filtered recall@10 at 10%% = %.3f, want >= 0.9", r)
	}
}

func TestHNSWConcurrent(t *testing.T) {
	for _, quantize := range []bool{false, true} {
		t.Run(map[bool]string{false: "float32", true: "int8"}[quantize], func(t *testing.T) {
			testHNSWConcurrent(t, quantize)
		})
	}
}

// testHNSWConcurrent inserts, searches and deletes from four goroutines;
// with quantize the quantizer is trained in the middle of it.
func testHNSWConcurrent(t *testing.T, quantize bool) {
	const dim, n = 16, 2000
	vecs := clustered(31, n, dim)
	h := NewHNSW(dim, Config{Metric: L2, M: 8, EfConstruction: 64, Quantize: quantize})
	f := NewFlat(dim, L2)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if err := h.Add(uint64(i), vecs[i]); err != nil {
					t.Error(err)
					return
				}
				if i%7 == 0 {
					if _, err := h.Search(vecs[i], 5, nil); err != nil {
						t.Error(err)
					}
				}
				if i%50 == 0 {
					h.Delete(uint64(i))
				}
			}
		}()
	}
	wg.Wait()
	for i, v := range vecs {
		if i%50 != 0 {
			f.Add(uint64(i), v)
		}
	}
	if h.Len() != f.Len() {
		t.Fatalf("Len() = %d, want %d", h.Len(), f.Len())
	}
	if quantize && h.quant == nil {
		t.Fatal("the quantizer did not train during the concurrent inserts")
	}
	if r := meanRecall(t, h, f, clustered(32, 50, dim), 10, nil); r < 0.9 {
		t.Errorf("recall@10 after concurrent build = %.3f, want >= 0.9", r)
	}
}

func TestFlatParallelMatchesSerial(t *testing.T) {
	const dim = 256
	n := parallelScanFloats/dim + 100
	vecs := clustered(41, n, dim)
	f := NewFlat(dim, L2)
	for i, v := range vecs {
		f.Add(uint64(i), v)
	}
	for _, q := range clustered(42, 5, dim) {
		got, _ := f.Search(q, 10, nil)
		// Serial reference.
		top := make(maxHeap, 0, 11)
		for i, v := range vecs {
			top.pushBounded(cand{distance(L2, q, v), uint32(i)}, 10)
		}
		want := top.drainSorted(nil)
		for i := range want {
			if got[i].Distance != want[i].d {
				t.Fatalf("parallel Search[%d] = %v, want distance %v", i, got[i], want[i].d)
			}
		}
	}
}

func TestHeaps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var mn minHeap
	var mx maxHeap
	for range 1000 {
		d := r.Float32()
		mn.push(cand{d: d})
		mx.push(cand{d: d})
	}
	prev := float32(-1)
	for len(mn) > 0 {
		c := mn.pop()
		if c.d < prev {
			t.Fatalf("minHeap popped %v after %v", c.d, prev)
		}
		prev = c.d
	}
	prev = 2
	for len(mx) > 0 {
		c := mx.pop()
		if c.d > prev {
			t.Fatalf("maxHeap popped %v after %v", c.d, prev)
		}
		prev = c.d
	}
}

// TestHNSWConcurrentNearDuplicatesReachable builds graphs of 1,500
// near-duplicate vectors (tiny noise around a few points, the shape of
// re-uploaded files) from 8 goroutines, repeatedly, and requires every
// node to be reachable on layer 0 from the entry point and found by a
// search for its own vector (a node no search reaches is lost for good).
func TestHNSWConcurrentNearDuplicatesReachable(t *testing.T) {
	const n, workers = 1500, 8
	builds := 6
	if raceEnabled || testing.Short() {
		builds = 2
	}
	for b := range builds {
		// Noise 3e-3 or 1e-2 around 1 or 5 points: cosine distances of
		// about noise², 1e-5 to 1e-4. (Much below that they approach
		// float32's resolution of 1 - dot, where near-duplicates are exact
		// duplicates to the graph; see the package doc.)
		dim := []int{16, 32, 64}[b%3]
		noise := []float64{3e-3, 1e-2}[b%2]
		r := rand.New(rand.NewPCG(uint64(b), 99))
		base := make([][]float32, 1+4*(b/2%2))
		for i := range base {
			base[i] = make([]float32, dim)
			for j := range base[i] {
				base[i][j] = float32(r.NormFloat64())
			}
		}
		vecs := make([][]float32, n)
		for i := range vecs {
			v := make([]float32, dim)
			for j := range v {
				v[j] = base[i%len(base)][j] + float32(noise*r.NormFloat64())
			}
			vecs[i] = v
		}
		h := NewHNSW(dim, Config{Metric: Cosine, Seed: uint64(b)})
		f := NewFlat(dim, Cosine)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					if err := h.Add(uint64(i), vecs[i]); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for i, v := range vecs {
			f.Add(uint64(i), v)
		}
		if u := unreachable(h); u > 0 {
			t.Errorf("build %d (dim %d, noise %g): %d of %d nodes unreachable on layer 0", b, dim, noise, u, n)
		}
		misses := 0
		for i, v := range vecs {
			got, err := h.SearchWith(v, 10, SearchOptions{Ef: 200})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := f.Search(v, 10, nil)
			has := func(rs []Result) bool {
				return slices.ContainsFunc(rs, func(r Result) bool { return r.ID == uint64(i) })
			}
			// A miss: the exact top 10 holds the node (it may not, when
			// near-duplicates tie at float32 precision) but the graph's
			// does not.
			if has(want) && !has(got) {
				misses++
			}
		}
		if misses > 0 {
			t.Errorf("build %d (dim %d, noise %g): %d of %d nodes not found by a search for their own vector", b, dim, noise, misses, n)
		}
	}
}

// unreachable counts the live nodes that a walk of layer 0 from the entry
// point never reaches.
func unreachable(h *HNSW) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.top < 0 {
		return 0
	}
	seen := make([]bool, h.n)
	stack := []uint32{h.entry}
	seen[h.entry] = true
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		b := h.block(i, 0)
		for _, j := range b[1 : 1+b[0]] {
			if !seen[j] {
				seen[j] = true
				stack = append(stack, j)
			}
		}
	}
	u := 0
	for i := range h.n {
		if h.state[i] == slotLive && !seen[i] {
			u++
		}
	}
	return u
}
