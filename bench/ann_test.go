package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

func TestRunANNSmall(t *testing.T) {
	rep, err := RunANN(context.Background(), ANNConfig{
		Datasets:   []string{"synthetic-32"},
		SyntheticN: 3000,
		Queries:    50,
		EfSweep:    []int{16, 128},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Datasets) != 1 || len(rep.Datasets[0].Engines) != 1 {
		t.Fatalf("RunANN report = %+v, want one dataset with one engine", rep)
	}
	d := rep.Datasets[0]
	sw := d.Engines[0].Sweep
	if len(sw) != 2 || sw[1].Recall < 0.95 || sw[1].QPS <= 0 {
		t.Errorf("sweep = %+v, want recall@10 >= 0.95 at ef 128", sw)
	}
	if d.Engines[0].BytesPerVector < 32*4 {
		t.Errorf("bytes/vector = %.0f, want >= %d", d.Engines[0].BytesPerVector, 32*4)
	}
	for _, f := range d.Filtered {
		if f.Recall < 0.9 {
			t.Errorf("filtered %+v: recall below 0.9", f)
		}
	}
	if md := rep.Markdown(); !strings.Contains(md, "synthetic-32") {
		t.Errorf("Markdown() lacks the dataset name:\n%s", md)
	}
}

func TestLoadSIFT5k(t *testing.T) {
	dir := shareddata.Path(t, "datasets/ann/sift5k")
	ds, err := loadSIFT5k(dir, annK)
	if err != nil {
		t.Fatal(err)
	}
	if ds.n() != 4500 || len(ds.queries) != 500 || ds.dim != 128 {
		t.Fatalf("sift5k = %d base, %d queries, dim %d; want 4500, 500, 128", ds.n(), len(ds.queries), ds.dim)
	}
	// The ground truth's own ids must score recall 1.
	_, gt, err := readVecs(dir + "/groundtruth.ivecs")
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]uint64, annK)
	for j := range ids {
		ids[j] = uint64(gt[j])
	}
	if r := ds.recall(0, ids, annK); r != 1 {
		t.Errorf("recall of the ground truth = %v, want 1", r)
	}
}

// BenchmarkANN runs the side-by-side ANN report once. Datasets come from
// QUARRY_ANN_DATASETS (comma-separated; default sift5k; the synthetic sets
// synthetic-768 and synthetic-1536 are 100k vectors, minutes and gigabytes,
// unless QUARRY_ANN_N sets a smaller count), the
// hnswlib peer runs when /usr/bin/python3 imports hnswlib, and the JSON
// report goes to QUARRY_ANN_JSON when set:
//
//	QUARRY_ANN_DATASETS=sift5k,synthetic-768 go test -run '^$' -bench BenchmarkANN -benchtime 1x ./bench/
func BenchmarkANN(b *testing.B) {
	cfg := ANNConfig{Datasets: []string{"sift5k"}, PeerScript: "peers/hnswlib_ann.py", Log: os.Stderr}
	if v := os.Getenv("QUARRY_ANN_DATASETS"); v != "" {
		cfg.Datasets = strings.Split(v, ",")
	}
	if v := os.Getenv("QUARRY_ANN_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			b.Fatalf("QUARRY_ANN_N=%q: want a count >= 100", v)
		}
		cfg.SyntheticN = n
	}
	for _, d := range cfg.Datasets {
		if d == "sift5k" {
			cfg.SharedDir = strings.TrimSuffix(shareddata.Path(b, "datasets/ann/sift5k"), "/datasets/ann/sift5k")
		}
	}
	if exec.Command("/usr/bin/python3", "-c", "import hnswlib, numpy").Run() == nil {
		cfg.Python = "/usr/bin/python3"
	} else {
		b.Log("hnswlib peer not available (apt-get install python3-hnswlib python3-numpy); running quarry alone")
	}
	var rep ANNReport
	for b.Loop() {
		var err error
		rep, err = RunANN(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, d := range rep.Datasets {
		ours := d.Engines[0]
		b.ReportMetric(ours.QPSAt95, d.Name+"-qps@recall95")
		if d.QPSRatio > 0 {
			b.ReportMetric(d.QPSRatio, d.Name+"-qps-ratio-vs-hnswlib")
			b.ReportMetric(d.Build, d.Name+"-build-ratio-vs-hnswlib")
		}
		b.ReportMetric(d.Flat.BandwidthShare, d.Name+"-flat-share-of-bandwidth")
	}
	fmt.Println(rep.Markdown())
	if p := os.Getenv("QUARRY_ANN_JSON"); p != "" {
		js, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(p, js, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}
