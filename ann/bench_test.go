package ann

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

// readFvecs reads a TEXMEX .fvecs file into vectors.
func readFvecs(tb testing.TB, path string) [][]float32 {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]float32
	for off := 0; off+4 <= len(b); {
		d := int(binary.LittleEndian.Uint32(b[off:]))
		off += 4
		if d <= 0 || off+4*d > len(b) {
			tb.Fatalf("%s: bad record at %d", path, off)
		}
		v := make([]float32, d)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[off+4*j:]))
		}
		out = append(out, v)
		off += 4 * d
	}
	return out
}

func sift5k(tb testing.TB) (base, queries [][]float32) {
	dir := shareddata.Path(tb, "datasets/ann/sift5k")
	return readFvecs(tb, filepath.Join(dir, "base.fvecs")), readFvecs(tb, filepath.Join(dir, "query.fvecs"))
}

func parallelBuild(tb testing.TB, dim int, cfg Config, vecs [][]float32, workers int) *HNSW {
	h := NewHNSW(dim, cfg)
	h.Reserve(len(vecs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(vecs); i += workers {
				if err := h.Add(uint64(i), vecs[i]); err != nil {
					tb.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return h
}

// BenchmarkHNSWBuild builds sift5k (4,500 × 128, L2, M 16, efC 200) on two
// goroutines; it reports vectors inserted per second.
func BenchmarkHNSWBuild(b *testing.B) {
	base, _ := sift5k(b)
	for b.Loop() {
		parallelBuild(b, 128, Config{Metric: L2}, base, 2)
	}
	b.ReportMetric(float64(len(base)*b.N)/b.Elapsed().Seconds(), "vectors/s")
}

// BenchmarkHNSWSearch measures single-thread sift5k queries at several ef
// and reports recall@10 against exact search.
func BenchmarkHNSWSearch(b *testing.B) {
	base, queries := sift5k(b)
	h := parallelBuild(b, 128, Config{Metric: L2}, base, 2)
	f := NewFlat(128, L2)
	for i, v := range base {
		f.Add(uint64(i), v)
	}
	for _, ef := range []int{16, 32, 64} {
		b.Run("ef="+itoa(ef), func(b *testing.B) {
			rec := 0.0
			for _, q := range queries {
				got, _ := h.SearchWith(q, 10, SearchOptions{Ef: ef})
				want, _ := f.Search(q, 10, nil)
				rec += recallAt(got, want, 10)
			}
			b.ResetTimer()
			i := 0
			for b.Loop() {
				h.SearchWith(queries[i%len(queries)], 10, SearchOptions{Ef: ef})
				i++
			}
			b.ReportMetric(rec/float64(len(queries)), "recall@10")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// BenchmarkHNSWFiltered measures sift5k queries whose filter allows 1% of
// the ids (the exact-scan plan) and 10% (the graph walk), with recall@10
// against exact filtered search.
func BenchmarkHNSWFiltered(b *testing.B) {
	base, queries := sift5k(b)
	h := parallelBuild(b, 128, Config{Metric: L2}, base, 2)
	f := NewFlat(128, L2)
	for i, v := range base {
		f.Add(uint64(i), v)
	}
	for _, pct := range []uint64{1, 10} {
		allow := func(id uint64) bool { return (id*0x9e3779b97f4a7c15)>>32%100 < pct }
		// At 10% the scan would also be cheaper here: Walk measures the walk.
		opts := SearchOptions{Filter: allow, Walk: pct == 10}
		b.Run(itoa(int(pct))+"%", func(b *testing.B) {
			rec := 0.0
			for _, q := range queries {
				got, _ := h.SearchWith(q, 10, opts)
				want, _ := f.Search(q, 10, allow)
				rec += recallAt(got, want, 10)
			}
			i := 0
			for b.Loop() {
				h.SearchWith(queries[i%len(queries)], 10, opts)
				i++
			}
			b.ReportMetric(rec/float64(len(queries)), "recall@10")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// BenchmarkFlatSearch scans 20,000 × 768 floats (61 MB) per query, split
// across cores; SetBytes makes the MB/s column the scan bandwidth.
func BenchmarkFlatSearch(b *testing.B) {
	const n, dim = 20000, 768
	vecs := clustered(81, n, dim)
	f := NewFlat(dim, Cosine)
	for i, v := range vecs {
		f.Add(uint64(i), v)
	}
	q := clustered(82, 1, dim)[0]
	b.SetBytes(n * dim * 4)
	for b.Loop() {
		f.Search(q, 10, nil)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// memBytes is the memory the graph's arrays hold per used slot, by the
// formula of the package doc (the id map at ~40 bytes an entry).
func (h *HNSW) memBytes() float64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	b := 4*len(h.vecs) + len(h.codes) + 4*len(h.corr) + 4*len(h.links0) +
		(8+1+4+24)*len(h.ids) + 40*len(h.idmap)
	for _, u := range h.upper {
		b += 4 * len(u)
	}
	return float64(b) / float64(max(1, h.n))
}

// BenchmarkHNSWQuantize compares Quantize off and on over the same graph
// data: sift5k (4,500 × 128, L2) and 10,000 clustered 384-dimensional
// cosine vectors. It reports single-thread queries/s at ef 64, recall@10
// against exact search, the total bytes per vector, and the bytes per
// vector the graph walk reads (walk-bytes/vec).
func BenchmarkHNSWQuantize(b *testing.B) {
	type dataset struct {
		name          string
		metric        Metric
		base, queries [][]float32
	}
	sets := func(b *testing.B) []dataset {
		base, queries := sift5k(b)
		return []dataset{
			{"sift5k", L2, base, queries},
			{"clustered384", Cosine, clustered(91, 10000, 384), clustered(92, 200, 384)},
		}
	}
	for _, ds := range sets(b) {
		dim := len(ds.base[0])
		f := NewFlat(dim, ds.metric)
		for i, v := range ds.base {
			f.Add(uint64(i), v)
		}
		want := make([][]Result, len(ds.queries))
		for i, q := range ds.queries {
			want[i], _ = f.Search(q, 10, nil)
		}
		for _, quantize := range []bool{false, true} {
			name := ds.name + "/float32"
			walk := 4 * dim
			if quantize {
				name = ds.name + "/int8"
				walk = dim + 4
			}
			b.Run(name, func(b *testing.B) {
				h := parallelBuild(b, dim, Config{Metric: ds.metric, Seed: 1, Quantize: quantize}, ds.base, 2)
				rec := 0.0
				for i, q := range ds.queries {
					got, _ := h.Search(q, 10, nil)
					rec += recallAt(got, want[i], 10)
				}
				b.ResetTimer()
				i := 0
				for b.Loop() {
					h.Search(ds.queries[i%len(ds.queries)], 10, nil)
					i++
				}
				b.ReportMetric(rec/float64(len(ds.queries)), "recall@10")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
				b.ReportMetric(h.memBytes(), "bytes/vec")
				b.ReportMetric(float64(walk), "walk-bytes/vec")
			})
		}
	}
}

// BenchmarkHNSWLoad measures ReadHNSW on a saved graph of 100,000 random
// 384-d vectors (M 16, a small efConstruction: the graph's quality does not
// matter here) read from a file: "file" passes the *os.File, so arrays are
// allocated once from its size; "stream" hides the size behind a buffered
// reader, so arrays grow as bytes arrive. It reports the load rate and the
// time a graph of a million such vectors would take at that rate.
func BenchmarkHNSWLoad(b *testing.B) {
	const n, dim = 100_000, 384
	rng := rand.New(rand.NewPCG(7, 8))
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = make([]float32, dim)
		for j := range vecs[i] {
			vecs[i][j] = rng.Float32() - 0.5
		}
	}
	h := parallelBuild(b, dim, Config{Metric: Cosine, EfConstruction: 16}, vecs, 2)
	path := filepath.Join(b.TempDir(), "g.hnsw")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	size, err := h.WriteTo(f)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"file", "stream"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				var r io.Reader = f
				if mode == "stream" {
					r = bufio.NewReaderSize(f, 1<<20)
				}
				g, err := ReadHNSW(r)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				if g.Len() != n {
					b.Fatalf("loaded %d vectors, want %d", g.Len(), n)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*1_000_000/n, "s/1M-vectors")
		})
	}
}
