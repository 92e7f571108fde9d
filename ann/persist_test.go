package ann

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func saved(t testing.TB, h *HNSW) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := h.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// TestHNSWSaveReload round-trips float32 and (trained) int8 graphs of both
// metrics, with tombstones.
func TestHNSWSaveReload(t *testing.T) {
	for _, quantize := range []bool{false, true} {
		for _, m := range []Metric{Cosine, L2} {
			testHNSWSaveReload(t, m, quantize)
		}
	}
}

func testHNSWSaveReload(t *testing.T, m Metric, quantize bool) {
	t.Run(fmt.Sprintf("%s/quantize=%v", m, quantize), func(t *testing.T) {
		const dim = 16
		vecs := clustered(51, 1500, dim)
		h, _ := build(t, dim, Config{Metric: m, M: 8, Seed: 5, Quantize: quantize}, vecs)
		for i := 0; i < 300; i += 3 {
			h.Delete(uint64(i)) // tombstones and (after a repair) free slots
		}
		h.SetSeq(424242)
		b := saved(t, h)
		g, err := ReadHNSW(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("ReadHNSW: %v", err)
		}
		if g.Seq() != 424242 || g.Len() != h.Len() || g.Dim() != dim || g.Config().M != 8 {
			t.Fatalf("reloaded Seq/Len/Dim/M = %d/%d/%d/%d, want 424242/%d/%d/8", g.Seq(), g.Len(), g.Dim(), g.Config().M, h.Len(), dim)
		}
		if quantize && (!g.Config().Quantize || g.quant == nil) {
			t.Fatalf("reloaded Quantize/trained = %v/%v, want true/true", g.Config().Quantize, g.quant != nil)
		}
		for _, q := range clustered(52, 50, dim) {
			want, _ := h.Search(q, 10, nil)
			got, _ := g.Search(q, 10, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("reloaded Search = %v, want %v", got, want)
			}
		}
		if b2 := saved(t, g); !bytes.Equal(b, b2) {
			t.Fatal("saving the reloaded graph gives different bytes")
		}
		// The reloaded graph keeps accepting inserts and deletes.
		for i, v := range clustered(53, 200, dim) {
			if err := g.Add(uint64(10000+i), v); err != nil {
				t.Fatal(err)
			}
		}
		g.Delete(10000)
		if res, _ := g.Search(clustered(53, 2, dim)[1], 1, nil); len(res) != 1 || res[0].ID != 10001 {
			t.Fatalf("Search for an added vector = %v, want id 10001", res)
		}
	})
}

func TestReadHNSWCorrupt(t *testing.T) {
	h, _ := build(t, 8, Config{M: 4, Seed: 1}, clustered(61, 200, 8))
	b := saved(t, h)
	if _, err := ReadHNSW(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{0, 4, 50, hnswHeader, hnswHeader + 10, len(b) / 2, len(b) - 1} {
		if _, err := ReadHNSW(bytes.NewReader(b[:cut])); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ReadHNSW(truncated to %d) = %v, want ErrCorrupt", cut, err)
		}
	}
	for _, at := range []int{3, 12, 44, hnswHeader + 9, len(b) / 2, len(b) - 2} {
		c := slices.Clone(b)
		c[at] ^= 0x40
		if _, err := ReadHNSW(bytes.NewReader(c)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("ReadHNSW(byte %d flipped) = %v, want ErrCorrupt", at, err)
		}
	}
}

func TestFlatSaveReload(t *testing.T) {
	f := NewFlat(8, L2)
	for i, v := range clustered(71, 300, 8) {
		f.Add(uint64(i), v)
	}
	f.SetSeq(7)
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	g, err := ReadFlat(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	q := clustered(72, 1, 8)[0]
	want, _ := f.Search(q, 5, nil)
	got, _ := g.Search(q, 5, nil)
	if !slices.Equal(got, want) || g.Seq() != 7 {
		t.Fatalf("reloaded Flat Search = %v seq %d, want %v seq 7", got, g.Seq(), want)
	}
	b := buf.Bytes()
	b[len(b)-3] ^= 1
	if _, err := ReadFlat(bytes.NewReader(b)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadFlat(flipped) = %v, want ErrCorrupt", err)
	}
}

func FuzzReadHNSW(f *testing.F) {
	for _, n := range []int{0, 1, 30} {
		h := NewHNSW(4, Config{M: 2, EfConstruction: 8, Seed: uint64(n + 1)})
		for i, v := range clustered(uint64(n), n, 4) {
			h.Add(uint64(i), v)
		}
		if n > 0 {
			h.Delete(0)
		}
		f.Add(saved(f, h))
	}
	// A trained quantized graph: codes and quantizer sections.
	q := NewHNSW(4, Config{M: 2, EfConstruction: 8, Quantize: true})
	for i, v := range clustered(3, quantTrain+8, 4) {
		q.Add(uint64(i), v)
	}
	q.Delete(5)
	f.Add(saved(f, q))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ReadHNSW(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ReadHNSW error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// A graph that loads must be usable.
		q := make([]float32, h.Dim())
		q[0] = 1
		res, err := h.Search(q, 5, nil)
		if err != nil || len(res) > 5 {
			t.Fatalf("Search on loaded graph = %v, %v", res, err)
		}
		if err := h.Add(1<<40, q); err != nil {
			t.Fatal(err)
		}
		h.Delete(1 << 40)
		h.Compact()
		if _, err := h.WriteTo(&bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
	})
}
