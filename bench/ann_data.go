package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/quarrylabs/quarry/ann"
)

// annDataset is a base set, queries and the exact k-th neighbour distance
// per query (float64), against which recall is counted.
type annDataset struct {
	name    string
	metric  ann.Metric
	dim     int
	base    []float32 // n × dim
	queries [][]float32
	kth     []float64 // per query: the exact K-th nearest distance
	dir     string    // folder with base.fvecs/query.fvecs for the peer, when on disk
	// synthetic marks generated data (seeded Gaussian clusters).
	synthetic bool
}

func (d *annDataset) n() int { return len(d.base) / d.dim }

func (d *annDataset) vec(i int) []float32 { return d.base[i*d.dim : (i+1)*d.dim] }

// dist64 is the metric in float64: squared L2, or 1 - cosine similarity.
func dist64(m ann.Metric, a, b []float32) float64 {
	if m == ann.L2 {
		s := 0.0
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		}
		return s
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 1
	}
	return 1 - dot/math.Sqrt(na*nb)
}

// recall counts a returned id as correct when its exact distance is within
// the K-th exact distance (ties count), as the sift5k README prescribes.
func (d *annDataset) recall(q int, ids []uint64, k int) float64 {
	kth := d.kth[q]
	tol := 1e-6*math.Abs(kth) + 1e-6
	hit := 0
	for i, id := range ids {
		if i >= k {
			break
		}
		if id < uint64(d.n()) && dist64(d.metric, d.queries[q], d.vec(int(id))) <= kth+tol {
			hit++
		}
	}
	return float64(hit) / float64(k)
}

// readVecs reads a TEXMEX .fvecs or .ivecs file (4-byte components); the
// caller reinterprets the bits for .ivecs.
func readVecs(path string) (dim int, data []uint32, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < 4 {
		return 0, nil, fmt.Errorf("%s: too short", path)
	}
	dim = int(binary.LittleEndian.Uint32(b))
	rec := 4 + 4*dim
	if dim <= 0 || len(b)%rec != 0 {
		return 0, nil, fmt.Errorf("%s: %d bytes is not a whole number of %d-d records", path, len(b), dim)
	}
	for off := 0; off < len(b); off += rec {
		if int(binary.LittleEndian.Uint32(b[off:])) != dim {
			return 0, nil, fmt.Errorf("%s: record at %d has another dimension", path, off)
		}
		for j := range dim {
			data = append(data, binary.LittleEndian.Uint32(b[off+4+4*j:]))
		}
	}
	return dim, data, nil
}

func readFvecs(path string) (int, []float32, error) {
	dim, raw, err := readVecs(path)
	if err != nil {
		return 0, nil, err
	}
	out := make([]float32, len(raw))
	for i, u := range raw {
		out[i] = math.Float32frombits(u)
	}
	return dim, out, nil
}

func writeFvecs(path string, dim int, data []float32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 4+4*dim)
	for off := 0; off < len(data); off += dim {
		buf = binary.LittleEndian.AppendUint32(buf[:0], uint32(dim))
		for _, v := range data[off : off+dim] {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// loadSIFT5k reads the shared sift5k set (L2), with the exact K-th squared
// distances from groundtruth-l2sq-distances.fvecs.
func loadSIFT5k(dir string, k int) (*annDataset, error) {
	dim, base, err := readFvecs(filepath.Join(dir, "base.fvecs"))
	if err != nil {
		return nil, err
	}
	qd, qs, err := readFvecs(filepath.Join(dir, "query.fvecs"))
	if err != nil {
		return nil, err
	}
	gd, gt, err := readFvecs(filepath.Join(dir, "groundtruth-l2sq-distances.fvecs"))
	if err != nil {
		return nil, err
	}
	if qd != dim || gd < k || len(gt)/gd != len(qs)/qd {
		return nil, errors.New("sift5k: files disagree on dimensions or counts")
	}
	d := &annDataset{name: "sift5k", metric: ann.L2, dim: dim, base: base, dir: dir}
	for i := 0; i < len(qs); i += dim {
		d.queries = append(d.queries, qs[i:i+dim])
		d.kth = append(d.kth, float64(gt[(i/dim)*gd+k-1]))
	}
	return d, nil
}

// synthetic generates n seeded clustered vectors (the shape of text
// embeddings: many topics, each a cloud around its centre) plus queries from
// the same distribution, and computes the exact K-th cosine distance per
// query: a float32 exact scan picks K+20 candidates, rescored in float64.
func synthetic(name string, seed uint64, n, nq, dim, k int) (*annDataset, error) {
	r := rand.New(rand.NewPCG(seed, uint64(dim)))
	const centres = 256
	cs := make([]float32, centres*dim)
	for i := range cs {
		cs[i] = float32(r.NormFloat64())
	}
	gen := func(dst []float32) {
		c := r.IntN(centres)
		for j := range dst {
			dst[j] = cs[c*dim+j] + 0.8*float32(r.NormFloat64())
		}
	}
	d := &annDataset{name: name, metric: ann.Cosine, dim: dim, base: make([]float32, n*dim), synthetic: true}
	for i := range n {
		gen(d.vec(i))
	}
	for range nq {
		q := make([]float32, dim)
		gen(q)
		d.queries = append(d.queries, q)
	}
	return d, d.exactKth(k)
}

// writeDir writes base.fvecs and query.fvecs for the peer.
func (d *annDataset) writeDir(dir string) error {
	if err := writeFvecs(filepath.Join(dir, "base.fvecs"), d.dim, d.base); err != nil {
		return err
	}
	qs := make([]float32, 0, len(d.queries)*d.dim)
	for _, q := range d.queries {
		qs = append(qs, q...)
	}
	return writeFvecs(filepath.Join(dir, "query.fvecs"), d.dim, qs)
}

// loadANNDir reads a dataset folder: base.fvecs and query.fvecs (TEXMEX
// format), with the exact K-th distance per query taken, in order of
// preference, from groundtruth-l2sq-distances.fvecs (L2), from the ids in
// groundtruth.ivecs (L2) or groundtruth-cosine.ivecs (cosine), rescored in
// float64, or computed by an exact scan.
func loadANNDir(dir string, metric ann.Metric, k int) (*annDataset, error) {
	name := filepath.Base(filepath.Clean(dir))
	if name == "sift5k" && metric == ann.L2 {
		if _, err := os.Stat(filepath.Join(dir, "groundtruth-l2sq-distances.fvecs")); err == nil {
			return loadSIFT5k(dir, k)
		}
	}
	dim, base, err := readFvecs(filepath.Join(dir, "base.fvecs"))
	if err != nil {
		return nil, err
	}
	qd, qs, err := readFvecs(filepath.Join(dir, "query.fvecs"))
	if err != nil {
		return nil, err
	}
	if qd != dim {
		return nil, fmt.Errorf("%s: base is %d-d, queries %d-d", dir, dim, qd)
	}
	if len(base)/dim < k {
		return nil, fmt.Errorf("%s: %d base vectors, fewer than k=%d", dir, len(base)/dim, k)
	}
	d := &annDataset{name: name, metric: metric, dim: dim, base: base, dir: dir}
	for i := 0; i < len(qs); i += dim {
		d.queries = append(d.queries, qs[i:i+dim])
	}
	gtName := "groundtruth.ivecs"
	if metric == ann.Cosine {
		gtName = "groundtruth-cosine.ivecs"
	}
	if metric == ann.L2 {
		if gd, gt, err := readFvecs(filepath.Join(dir, "groundtruth-l2sq-distances.fvecs")); err == nil && gd >= k && len(gt)/gd == len(d.queries) {
			for q := range d.queries {
				d.kth = append(d.kth, float64(gt[q*gd+k-1]))
			}
			return d, nil
		}
	}
	if gd, gt, err := readVecs(filepath.Join(dir, gtName)); err == nil {
		if gd < k || len(gt)/gd != len(d.queries) {
			return nil, fmt.Errorf("%s: %s has %d-long lists for %d queries; want %d queries and at least %d", dir, gtName, gd, len(gt)/gd, len(d.queries), k)
		}
		for q := range d.queries {
			id := int(gt[q*gd+k-1])
			if id < 0 || id >= d.n() {
				return nil, fmt.Errorf("%s: %s names id %d of %d vectors", dir, gtName, id, d.n())
			}
			d.kth = append(d.kth, dist64(metric, d.queries[q], d.vec(id)))
		}
		return d, nil
	}
	return d, d.exactKth(k)
}

// exactKth computes each query's exact K-th distance: a float32 exact scan
// picks K+20 candidates, rescored in float64.
func (d *annDataset) exactKth(k int) error {
	exact := ann.NewFlat(d.dim, d.metric)
	for i := range d.n() {
		if err := exact.Add(uint64(i), d.vec(i)); err != nil {
			return err
		}
	}
	d.kth = d.kth[:0]
	for _, q := range d.queries {
		res, err := exact.Search(q, k+20, nil)
		if err != nil {
			return err
		}
		ds := make([]float64, len(res))
		for i, x := range res {
			ds[i] = dist64(d.metric, q, d.vec(int(x.ID)))
		}
		slices.Sort(ds)
		d.kth = append(d.kth, ds[min(k, len(ds))-1])
	}
	return nil
}
