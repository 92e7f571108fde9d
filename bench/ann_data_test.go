package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/ann"
)

func TestQPSAtRecall(t *testing.T) {
	sweep := []ANNPoint{
		{Ef: 10, Recall: 0.80, QPS: 1000, CPUQPS: 1100},
		{Ef: 20, Recall: 0.90, QPS: 600, CPUQPS: 700},
		{Ef: 30, Recall: 0.88, QPS: 500}, // slower than ef 20: raised to 600
		{Ef: 40, Recall: 1.00, QPS: 200, CPUQPS: 300},
	}
	for _, tc := range []struct {
		r    float64
		want float64
		ok   bool
	}{{0.80, 1000, true}, {0.84, 800, true}, {0.89, 600, true}, {0.95, 400, true}, {1.0, 200, true}, {0.79, 0, false}} {
		got, ok := QPSAtRecall(sweep, tc.r, false)
		if ok != tc.ok || math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("QPSAtRecall(%.2f) = %v, %v; want %v, %v", tc.r, got, ok, tc.want, tc.ok)
		}
	}
	if got, _ := QPSAtRecall(sweep, 0.95, true); math.Abs(got-500) > 1e-9 {
		t.Errorf("CPU QPS at 0.95 = %v, want 500", got)
	}
	// Equal recall: the peer's curve is twice as fast everywhere; the best
	// points above 0.95 (0.96 ours, 0.99 peer) would compare unequal
	// recalls.
	ours := []ANNPoint{{Recall: 0.90, QPS: 100}, {Recall: 0.96, QPS: 80}, {Recall: 0.99, QPS: 50}}
	peer := []ANNPoint{{Recall: 0.90, QPS: 200}, {Recall: 0.96, QPS: 160}, {Recall: 0.99, QPS: 100}}
	rs := equalRecall(ours, peer)
	if len(rs) != 4 { // 0.90, 0.95, 0.98, 0.99
		t.Fatalf("equalRecall levels = %+v", rs)
	}
	for _, x := range rs {
		if math.Abs(x.Ratio-0.5) > 1e-9 {
			t.Errorf("ratio at %.2f = %v, want 0.5", x.Recall, x.Ratio)
		}
	}
}

// writeANNDir writes a small random L2 dataset in TEXMEX format.
func writeANNDir(t *testing.T, n, nq, dim int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mydata")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	vecs := func(n int) []float32 {
		v := make([]float32, n*dim)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	if err := writeFvecs(filepath.Join(dir, "base.fvecs"), dim, vecs(n)); err != nil {
		t.Fatal(err)
	}
	if err := writeFvecs(filepath.Join(dir, "query.fvecs"), dim, vecs(nq)); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadANNDir(t *testing.T) {
	dir := writeANNDir(t, 500, 20, 8)
	d, err := loadANNDir(dir, ann.L2, annK)
	if err != nil {
		t.Fatal(err)
	}
	if d.name != "mydata" || d.n() != 500 || len(d.queries) != 20 || len(d.kth) != 20 || d.synthetic {
		t.Fatalf("dataset = %s n=%d q=%d kth=%d synthetic=%v", d.name, d.n(), len(d.queries), len(d.kth), d.synthetic)
	}
	// The exact neighbours score recall 1; a ground-truth file gives the
	// same K-th distances.
	exact := ann.NewFlat(d.dim, ann.L2)
	for i := range d.n() {
		exact.Add(uint64(i), d.vec(i))
	}
	var gt []float32
	for q, v := range d.queries {
		res, _ := exact.Search(v, annK, nil)
		if got := d.recall(q, resultIDs(res), annK); got != 1 {
			t.Errorf("query %d: exact recall %v", q, got)
		}
		for _, x := range res {
			gt = append(gt, math.Float32frombits(uint32(x.ID)))
		}
	}
	if err := writeFvecs(filepath.Join(dir, "groundtruth.ivecs"), annK, gt); err != nil {
		t.Fatal(err)
	}
	d2, err := loadANNDir(dir, ann.L2, annK)
	if err != nil {
		t.Fatal(err)
	}
	for q := range d.kth {
		if math.Abs(d.kth[q]-d2.kth[q]) > 1e-9 {
			t.Errorf("query %d: K-th distance %v from the scan, %v from groundtruth.ivecs", q, d.kth[q], d2.kth[q])
		}
	}
	if _, err := loadANNDir(t.TempDir(), ann.L2, annK); err == nil {
		t.Error("empty folder accepted")
	}
}

func TestRunANNDataAndPlot(t *testing.T) {
	dir := writeANNDir(t, 2000, 30, 16)
	rep, err := RunANN(context.Background(), ANNConfig{DataDirs: []string{dir}, EfSweep: []int{10, 64}, SyntheticN: 500, Datasets: []string{"synthetic-16"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Datasets) != 2 || rep.Datasets[0].Name != "synthetic-16" || !rep.Datasets[0].Synthetic || rep.Datasets[1].Name != "mydata" || rep.Datasets[1].Synthetic {
		t.Fatalf("datasets = %+v", rep.Datasets)
	}
	if md := rep.Markdown(); strings.Count(md, "Synthetic: seeded Gaussian clusters") != 1 {
		t.Errorf("Markdown does not mark exactly the synthetic set:\n%s", md)
	}
	for _, p := range rep.Datasets[1].Engines[0].Sweep {
		if len(p.Latencies) != 30 {
			t.Errorf("ef %d: %d latencies, want 30", p.Ef, len(p.Latencies))
		}
	}
	// A second engine, as the peer would add it, gets its own curve.
	d := &rep.Datasets[1]
	peer := d.Engines[0]
	peer.Name = "hnswlib"
	d.Engines = append(d.Engines, peer)
	svg := filepath.Join(t.TempDir(), "p.svg")
	if err := PlotANN(rep, svg); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "<?xml") || !strings.Contains(s, ">quarry<") || !strings.Contains(s, ">hnswlib<") || !strings.Contains(s, "recall@10") || !strings.Contains(s, "per-query latency") {
		t.Errorf("plot lacks the engines' curves or titles (%d bytes)", len(s))
	}
}

func TestCheckBEIR(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "corpus.jsonl"), []byte(`{"_id":"1","text":"x"}`+"\n"), 0o644)
	err := CheckBEIR(dir)
	if err == nil || !strings.Contains(err.Error(), "queries.jsonl") || !strings.Contains(err.Error(), "qrels") || strings.Contains(err.Error(), "corpus.jsonl ") {
		t.Errorf("CheckBEIR = %v", err)
	}
}

func TestRunIRFromFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "corpus.jsonl"), []byte(`{"_id":"d1","title":"","text":"glaciers melt in spring"}`+"\n"+`{"_id":"d2","title":"","text":"volcanic soil"}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "queries.jsonl"), []byte(`{"_id":"q1","text":"glaciers"}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "qrels.tsv"), []byte("query-id\tcorpus-id\tscore\nq1\td1\t1\n"), 0o644)
	work := t.TempDir()
	r, err := RunIRFromFiles(context.Background(), dir, work, IRConfig{K1: 1.2, B: 0.75})
	if err != nil {
		t.Fatal(err)
	}
	if r.Metrics.NDCG10 != 1 || r.IndexSeconds <= 0 {
		t.Errorf("result = %+v", r)
	}
	// The index was committed to disk, as Lucene's is.
	if entries, err := os.ReadDir(filepath.Join(work, "quarry-idx")); err != nil || len(entries) == 0 {
		t.Errorf("no on-disk index: %v", err)
	}
}
