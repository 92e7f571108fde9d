package ann

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestInt8Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 128, 769} {
		a, b := make([]int8, n), make([]int8, n)
		for j := range a {
			a[j], b[j] = int8(r.IntN(255)-127), int8(r.IntN(255)-127)
		}
		var dot, l2 int64
		for j := range a {
			dot += int64(a[j]) * int64(b[j])
			d := int64(a[j]) - int64(b[j])
			l2 += d * d
		}
		if got := dotI8(a, b); got != dot {
			t.Errorf("dotI8(n=%d) = %d, want %d", n, got, dot)
		}
		if got := l2I8(a, b); got != l2 {
			t.Errorf("l2I8(n=%d) = %d, want %d", n, got, l2)
		}
	}
	// The extremes at the largest dimension do not overflow.
	a, b := make([]int8, maxDim), make([]int8, maxDim)
	for j := range a {
		a[j], b[j] = 127, -128
	}
	if got, want := l2I8(a, b), int64(maxDim)*255*255; got != want {
		t.Errorf("l2I8(extremes) = %d, want %d", got, want)
	}
	if got, want := dotI8(a, b), -int64(maxDim)*127*128; got != want {
		t.Errorf("dotI8(extremes) = %d, want %d", got, want)
	}
}

func TestQuantizerApproximates(t *testing.T) {
	const dim = 48
	vecs := clustered(31, 500, dim)
	for _, v := range vecs {
		normalizeInPlace(v)
	}
	q := trainQuantizer(dim, len(vecs), func(i int) []float32 { return vecs[i] })
	ca, cb := make([]int8, dim), make([]int8, dim)
	for i := 0; i+1 < len(vecs); i += 2 {
		a, b := vecs[i], vecs[i+1]
		oa, ob := q.encode(ca, a), q.encode(cb, b)
		dot := q.offSq + q.scale*(oa+ob) + q.scale2*float32(dotI8(ca, cb))
		l2 := q.scale2 * float32(l2I8(ca, cb))
		if want := 1 - distance(Cosine, a, b); abs32(dot-want) > 0.02 {
			t.Fatalf("quantized dot = %g, want %g", dot, want)
		}
		if want := distance(L2, a, b); abs32(l2-want) > 0.02 {
			t.Fatalf("quantized l2 = %g, want %g", l2, want)
		}
	}
	// Out-of-range and NaN values clamp instead of wrapping.
	v := make([]float32, dim)
	v[0], v[1], v[2] = 1e30, -1e30, float32(nanF())
	q.encode(ca, v)
	if ca[0] != 127 || ca[1] != -127 || ca[2] != 0 {
		t.Fatalf("encode(1e30, -1e30, NaN) = %v, want 127, -127, 0", ca[:3])
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func nanF() float64 {
	z := 0.0
	return z / z
}

func TestHNSWQuantizedRecall(t *testing.T) {
	for _, m := range []Metric{Cosine, L2} {
		t.Run(m.String(), func(t *testing.T) {
			const dim = 32
			n := 3000
			if raceEnabled {
				n = 1500
			}
			vecs := clustered(1, n, dim)
			h, f := build(t, dim, Config{Metric: m, Seed: 3, Quantize: true}, vecs)
			if h.quant == nil {
				t.Fatalf("quantizer not trained after %d inserts", n)
			}
			queries := clustered(2, 100, dim)
			if r := meanRecall(t, h, f, queries, 10, nil); r < 0.95 {
				t.Errorf("quantized recall@10 = %.3f, want >= 0.95", r)
			}
			// Distances are the re-scored float32 ones.
			for _, q := range queries[:10] {
				res, _ := h.Search(q, 10, nil)
				qq := h.prepare(nil, q)
				for _, r := range res {
					if want := distance(m, qq, h.vec(h.idmap[r.ID])); r.Distance != want {
						t.Fatalf("Search distance of %d = %g, want the float32 %g", r.ID, r.Distance, want)
					}
				}
			}
			// Filtered walks keep to the filter (Walk: half the ids is few
			// enough here for the exact scan to take over otherwise).
			even := func(id uint64) bool { return id%2 == 0 }
			sum := 0.0
			for _, q := range queries {
				got, _ := h.SearchWith(q, 10, SearchOptions{Filter: even, Walk: true})
				for _, r := range got {
					if !even(r.ID) {
						t.Fatalf("filtered walk returned id %d the filter refuses", r.ID)
					}
				}
				want, _ := f.Search(q, 10, even)
				sum += recallAt(got, want, 10)
			}
			if r := sum / float64(len(queries)); r < 0.9 {
				t.Errorf("quantized filtered recall@10 = %.3f, want >= 0.9", r)
			}
		})
	}
}

func TestHNSWQuantizedDeleteReinsert(t *testing.T) {
	const dim = 24
	vecs := clustered(41, 2000, dim)
	h, f := build(t, dim, Config{Metric: L2, Seed: 2, Quantize: true}, vecs)
	rounds := 3
	if raceEnabled {
		rounds = 1
	}
	for round := range rounds {
		for i := round; i < len(vecs); i += 3 {
			h.Delete(uint64(i))
			f.Delete(uint64(i))
		}
		for i := round; i < len(vecs); i += 3 {
			if err := h.Add(uint64(i), vecs[i]); err != nil {
				t.Fatal(err)
			}
			f.Add(uint64(i), vecs[i])
		}
	}
	if h.Len() != len(vecs) {
		t.Fatalf("Len() = %d, want %d", h.Len(), len(vecs))
	}
	if r := meanRecall(t, h, f, clustered(42, 100, dim), 10, nil); r < 0.95 {
		t.Errorf("recall@10 after delete/re-insert cycles = %.3f, want >= 0.95", r)
	}
}

// TestHNSWQuantizedUntrainedReload: an untrained quantized graph
// round-trips and trains later (trained ones are in TestHNSWSaveReload).
func TestHNSWQuantizedUntrainedReload(t *testing.T) {
	// An untrained quantized graph round-trips too and trains later.
	h, _ := build(t, 8, Config{Quantize: true, M: 4}, clustered(54, 100, 8))
	g, err := ReadHNSW(bytes.NewReader(saved(t, h)))
	if err != nil || !g.Config().Quantize || g.quant != nil {
		t.Fatalf("ReadHNSW(untrained) = Quantize %v trained %v, %v; want true, false, nil", g != nil && g.Config().Quantize, g != nil && g.quant != nil, err)
	}
	for i, v := range clustered(55, quantTrain, 8) {
		if err := g.Add(uint64(1000+i), v); err != nil {
			t.Fatal(err)
		}
	}
	if g.quant == nil {
		t.Fatal("reloaded graph did not train after quantTrain inserts")
	}
}

// TestReadHNSWVersion1 reads a version 1 file: a version 2 file of an
// unquantized graph without the flags word.
func TestReadHNSWVersion1(t *testing.T) {
	h, _ := build(t, 8, Config{M: 4, Seed: 1}, clustered(61, 200, 8))
	b := saved(t, h)
	v1 := slices.Concat(b[:hnswHeaderV1], b[hnswHeader:]) // flags dropped, crc rewritten below
	binary.LittleEndian.PutUint32(v1[8:], 1)
	binary.LittleEndian.PutUint32(v1[hnswHeaderV1-4:], crc32.Checksum(v1[:hnswHeaderV1-4], castagnoli))
	g, err := ReadHNSW(bytes.NewReader(v1))
	if err != nil {
		t.Fatalf("ReadHNSW(version 1) = %v", err)
	}
	q := clustered(62, 1, 8)[0]
	want, _ := h.Search(q, 5, nil)
	got, _ := g.Search(q, 5, nil)
	if !slices.Equal(got, want) || g.Config().Quantize {
		t.Fatalf("version 1 Search = %v (Quantize %v), want %v", got, g.Config().Quantize, want)
	}
	binary.LittleEndian.PutUint32(v1[8:], 3)
	if _, err := ReadHNSW(bytes.NewReader(v1)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadHNSW(version 3) = %v, want ErrCorrupt", err)
	}
}
