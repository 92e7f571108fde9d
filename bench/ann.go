package bench

import (
	"bufio"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quarrylabs/quarry/ann"
	"github.com/viterin/vek/vek32"

	"github.com/quarrylabs/quarry/internal/cputime"
)

// ANNConfig configures RunANN. Zero fields take the documented defaults.
type ANNConfig struct {
	// Datasets to run: "sift5k" (needs SharedDir), "synthetic-768",
	// "synthetic-1536". The default is sift5k only.
	Datasets []string
	// SharedDir is the shared test folder holding datasets/ann/sift5k.
	SharedDir string
	// DataDirs are dataset folders run after Datasets, each holding
	// base.fvecs and query.fvecs (and optionally ground truth; see
	// loadANNDir). Metric is their metric: "l2" (default) or "cosine".
	DataDirs []string
	Metric   string
	// SyntheticN is the base size of the synthetic sets; default 100,000.
	SyntheticN int
	// Queries is the number of synthetic queries; default 200.
	Queries int
	// M and EfConstruction for both engines; defaults 16 and 200.
	M, EfConstruction int
	// EfSweep lists the efSearch values; default 10,16,24,32,48,64,96,128,256.
	EfSweep []int
	// BuildWorkers is the number of goroutines (and hnswlib threads) that
	// insert; default 2.
	BuildWorkers int
	// Python and PeerScript run the hnswlib peer (bench/peers/hnswlib_ann.py
	// under Debian's /usr/bin/python3); empty Python skips the peer, empty
	// PeerScript uses the copy embedded in the binary.
	Python, PeerScript string
	// TempDir holds the peer's input files; default os.TempDir().
	TempDir string
	// Log, when set, receives progress lines.
	Log io.Writer
}

const annK = 10

// hnswlibScript is the hnswlib peer, run when ANNConfig.PeerScript is empty.
//
//go:embed peers/hnswlib_ann.py
var hnswlibScript []byte

func (c ANNConfig) withDefaults() ANNConfig {
	if c.Datasets == nil && len(c.DataDirs) == 0 {
		c.Datasets = []string{"sift5k"}
	}
	if c.SyntheticN == 0 {
		c.SyntheticN = 100_000
	}
	if c.Queries == 0 {
		c.Queries = 200
	}
	if c.M == 0 {
		c.M = ann.DefaultM
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = ann.DefaultEfConstruction
	}
	if len(c.EfSweep) == 0 {
		c.EfSweep = []int{10, 16, 24, 32, 48, 64, 96, 128, 256}
	}
	if c.BuildWorkers == 0 {
		c.BuildWorkers = 2
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	return c
}

// ANNPoint is one efSearch setting: recall@10 and single-thread queries/s.
// QPS is by wall time; CPUQPS by the querying thread's CPU time, which a
// busy shared machine disturbs less.
type ANNPoint struct {
	Ef     int     `json:"ef"`
	Recall float64 `json:"recall10"`
	QPS    float64 `json:"qps"`
	CPUQPS float64 `json:"qps_cpu,omitempty"`
	// Latencies are per-query wall times in microseconds from one extra
	// pass, each query timed alone (for hnswlib, each a call from Python,
	// overhead included).
	Latencies []float64 `json:"latency_us,omitempty"`
}

// ANNEngine is one engine's figures on one dataset.
type ANNEngine struct {
	Name           string     `json:"name"`
	BuildSeconds   float64    `json:"build_s"`
	BuildCPU       float64    `json:"build_cpu_s,omitempty"` // CPU seconds of all build threads
	BytesPerVector float64    `json:"bytes_per_vector"`      // serialized index size / n
	Sweep          []ANNPoint `json:"sweep"`
	// QPSAt95 is the best single-thread QPS among sweep points with
	// recall@10 >= 0.95 (0 when none reaches it).
	QPSAt95    float64 `json:"qps_at_recall95"`
	CPUQPSAt95 float64 `json:"qps_cpu_at_recall95,omitempty"`
	RecallAt95 float64 `json:"recall_at_qps95"`
}

// ANNFlat is exact search measured against the machine's read bandwidth.
type ANNFlat struct {
	QueryMillis    float64 `json:"query_ms"`
	ScanGBps       float64 `json:"scan_gbps"`
	BandwidthGBps  float64 `json:"read_bandwidth_gbps"` // parallel sum over the same floats
	BandwidthShare float64 `json:"share_of_bandwidth"`
}

// ANNFiltered is filtered search at one selectivity.
type ANNFiltered struct {
	Selectivity float64 `json:"selectivity"`
	Mode        string  `json:"mode"` // "auto" (may scan exactly) or "graph"
	Recall      float64 `json:"recall10"`
	QPS         float64 `json:"qps"`
}

// ANNDatasetReport holds every figure for one dataset.
type ANNDatasetReport struct {
	Name      string      `json:"name"`
	N         int         `json:"n"`
	Dim       int         `json:"dim"`
	Queries   int         `json:"queries"`
	Metric    string      `json:"metric"`
	Synthetic bool        `json:"synthetic"` // seeded Gaussian clusters, not real embeddings
	Engines   []ANNEngine `json:"engines"`
	// QPSRatio is ours/peer wall QPS at recall@10 = 0.95, both curves
	// interpolated there (0 when a curve does not reach it); EqualRecall
	// holds the ratio at every level both curves span.
	QPSRatio    float64       `json:"qps_ratio_vs_hnswlib,omitempty"`
	CPUQPSRatio float64       `json:"qps_cpu_ratio_vs_hnswlib,omitempty"` // the same by thread CPU time
	EqualRecall []ANNRatio    `json:"equal_recall,omitempty"`
	Build       float64       `json:"build_ratio_vs_hnswlib,omitempty"`     // ours/peer build wall time
	BuildCPU    float64       `json:"build_cpu_ratio_vs_hnswlib,omitempty"` // ours/peer build CPU time
	Flat        ANNFlat       `json:"flat"`
	Filtered    []ANNFiltered `json:"filtered"`
}

// ANNRatio compares the engines at one recall level, each engine's QPS
// interpolated linearly on its recall-QPS frontier.
type ANNRatio struct {
	Recall   float64 `json:"recall10"`
	OursQPS  float64 `json:"quarry_qps"`
	PeerQPS  float64 `json:"peer_qps"`
	Ratio    float64 `json:"ratio"`
	CPURatio float64 `json:"cpu_ratio,omitempty"`
	OursCPU  float64 `json:"-"`
	PeerCPU  float64 `json:"-"`
}

// ratioLevels are the recall levels EqualRecall reports.
var ratioLevels = []float64{0.80, 0.90, 0.95, 0.98, 0.99}

// frontier returns the sweep as a recall–QPS curve sorted by recall, each
// point's QPS raised to the best QPS any point of at least its recall
// reached (by qps, wall or CPU): the best throughput available at that
// recall. Unlike dropping dominated points, this keeps the curve's whole
// recall range when timing noise makes a low-ef point slower than a
// higher one.
func frontier(sweep []ANNPoint, qps func(ANNPoint) float64) []ANNPoint {
	pts := slices.Clone(sweep)
	slices.SortStableFunc(pts, func(a, b ANNPoint) int { return cmp.Compare(a.Recall, b.Recall) })
	best := 0.0
	for i := len(pts) - 1; i >= 0; i-- {
		best = max(best, qps(pts[i]))
		pts[i].QPS, pts[i].CPUQPS = best, best
	}
	out := pts[:0]
	for _, p := range pts {
		if p.QPS > 0 {
			out = append(out, p)
		}
	}
	return out
}

// QPSAtRecall interpolates QPS (wall, or thread CPU when cpu is set) at
// recall r on the sweep's frontier, linearly between the two frontier
// points around r. ok is false when r is outside the recalls measured.
func QPSAtRecall(sweep []ANNPoint, r float64, cpu bool) (qps float64, ok bool) {
	get := func(p ANNPoint) float64 { return p.QPS }
	if cpu {
		get = func(p ANNPoint) float64 { return p.CPUQPS }
	}
	f := frontier(sweep, get)
	for i, p := range f {
		if p.Recall == r {
			return p.QPS, true
		}
		if p.Recall > r {
			if i == 0 {
				return 0, false
			}
			a := f[i-1]
			t := (r - a.Recall) / (p.Recall - a.Recall)
			return a.QPS + t*(p.QPS-a.QPS), true
		}
	}
	return 0, false
}

// equalRecall compares two sweeps at ratioLevels.
func equalRecall(ours, peer []ANNPoint) []ANNRatio {
	var out []ANNRatio
	for _, r := range ratioLevels {
		o, ok1 := QPSAtRecall(ours, r, false)
		p, ok2 := QPSAtRecall(peer, r, false)
		if !ok1 || !ok2 || p == 0 {
			continue
		}
		x := ANNRatio{Recall: r, OursQPS: o, PeerQPS: p, Ratio: o / p}
		oc, ok1 := QPSAtRecall(ours, r, true)
		pc, ok2 := QPSAtRecall(peer, r, true)
		if ok1 && ok2 && pc > 0 {
			x.OursCPU, x.PeerCPU, x.CPURatio = oc, pc, oc/pc
		}
		out = append(out, x)
	}
	return out
}

// ANNReport is RunANN's result.
type ANNReport struct {
	GOMAXPROCS int                `json:"gomaxprocs"`
	GOARCH     string             `json:"goarch"`
	M          int                `json:"M"`
	EfC        int                `json:"efConstruction"`
	Datasets   []ANNDatasetReport `json:"datasets"`
}

// RunANN builds quarry's HNSW (and, when configured, hnswlib with the same
// M and efConstruction) on each dataset, then sweeps efSearch measuring
// recall@10 and single-thread queries/s, plus exact-scan bandwidth and
// filtered search.
func RunANN(ctx context.Context, cfg ANNConfig) (ANNReport, error) {
	cfg = cfg.withDefaults()
	rep := ANNReport{GOMAXPROCS: runtime.GOMAXPROCS(0), GOARCH: runtime.GOARCH, M: cfg.M, EfC: cfg.EfConstruction}
	for _, name := range cfg.Datasets {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		cfg.logf("dataset %s: loading", name)
		ds, err := loadANNDataset(name, cfg)
		if err != nil {
			return rep, fmt.Errorf("bench: dataset %s: %w", name, err)
		}
		dr, err := runANNDataset(ctx, cfg, ds)
		if err != nil {
			return rep, fmt.Errorf("bench: dataset %s: %w", name, err)
		}
		rep.Datasets = append(rep.Datasets, dr)
	}
	metric := ann.L2
	switch strings.ToLower(cfg.Metric) {
	case "", "l2":
	case "cosine":
		metric = ann.Cosine
	default:
		return rep, fmt.Errorf("bench: metric %q: want l2 or cosine", cfg.Metric)
	}
	for _, dir := range cfg.DataDirs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		cfg.logf("dataset %s: loading", dir)
		ds, err := loadANNDir(dir, metric, annK)
		if err != nil {
			return rep, fmt.Errorf("bench: dataset %s: %w", dir, err)
		}
		dr, err := runANNDataset(ctx, cfg, ds)
		if err != nil {
			return rep, fmt.Errorf("bench: dataset %s: %w", dir, err)
		}
		rep.Datasets = append(rep.Datasets, dr)
	}
	return rep, nil
}

func (c ANNConfig) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

func loadANNDataset(name string, cfg ANNConfig) (*annDataset, error) {
	switch name {
	case "sift5k":
		if cfg.SharedDir == "" {
			return nil, errors.New("sift5k needs SharedDir")
		}
		return loadSIFT5k(filepath.Join(cfg.SharedDir, "datasets", "ann", "sift5k"), annK)
	case "synthetic-768":
		return synthetic(name, 768, cfg.SyntheticN, cfg.Queries, 768, annK)
	case "synthetic-1536":
		return synthetic(name, 1536, cfg.SyntheticN, cfg.Queries, 1536, annK)
	}
	if dim, ok := strings.CutPrefix(name, "synthetic-"); ok {
		var d int
		if _, err := fmt.Sscanf(dim, "%d", &d); err == nil && d > 0 && d <= 4096 {
			return synthetic(name, uint64(d), cfg.SyntheticN, cfg.Queries, d, annK)
		}
	}
	return nil, fmt.Errorf("unknown dataset %q", name)
}

func runANNDataset(ctx context.Context, cfg ANNConfig, ds *annDataset) (ANNDatasetReport, error) {
	dr := ANNDatasetReport{Name: ds.name, N: ds.n(), Dim: ds.dim, Queries: len(ds.queries), Metric: ds.metric.String(), Synthetic: ds.synthetic}

	// quarry HNSW, parallel insert.
	h := ann.NewHNSW(ds.dim, ann.Config{Metric: ds.metric, M: cfg.M, EfConstruction: cfg.EfConstruction})
	h.Reserve(ds.n())
	start := time.Now()
	cpu0, _ := cputime.Process()
	if err := parallelAdd(ctx, h, ds, cfg.BuildWorkers); err != nil {
		return dr, err
	}
	ours := ANNEngine{Name: "quarry", BuildSeconds: time.Since(start).Seconds()}
	if cpu1, ok := cputime.Process(); ok {
		ours.BuildCPU = (cpu1 - cpu0).Seconds()
	}
	cw := &byteCounter{}
	if _, err := h.WriteTo(cw); err != nil {
		return dr, err
	}
	ours.BytesPerVector = float64(cw.n) / float64(ds.n())
	cfg.logf("%s: quarry built in %.2fs", ds.name, ours.BuildSeconds)
	for _, ef := range cfg.EfSweep {
		p, err := sweepPoint(ds, ef, func(q []float32) ([]uint64, error) {
			res, err := h.SearchWith(q, annK, ann.SearchOptions{Ef: ef})
			return resultIDs(res), err
		})
		if err != nil {
			return dr, err
		}
		ours.Sweep = append(ours.Sweep, p)
		cfg.logf("%s: quarry ef=%d recall@10=%.4f qps=%.0f", ds.name, ef, p.Recall, p.QPS)
	}
	ours.summarize()
	dr.Engines = append(dr.Engines, ours)

	if cfg.Python != "" {
		peer, err := runHNSWLib(ctx, cfg, ds)
		if err != nil {
			return dr, fmt.Errorf("hnswlib peer: %w", err)
		}
		dr.Engines = append(dr.Engines, peer)
		dr.EqualRecall = equalRecall(ours.Sweep, peer.Sweep)
		for _, x := range dr.EqualRecall {
			if x.Recall == 0.95 {
				dr.QPSRatio, dr.CPUQPSRatio = x.Ratio, x.CPURatio
			}
		}
		if peer.BuildSeconds > 0 {
			dr.Build = ours.BuildSeconds / peer.BuildSeconds
		}
		if peer.BuildCPU > 0 {
			dr.BuildCPU = ours.BuildCPU / peer.BuildCPU
		}
	}

	// Filtered search: 1% with the automatic plan, 10% forced through the graph.
	exact := ann.NewFlat(ds.dim, ds.metric)
	for i := range ds.n() {
		if err := exact.Add(uint64(i), ds.vec(i)); err != nil {
			return dr, err
		}
	}
	for _, fc := range []struct {
		sel  float64
		mode string
	}{{0.01, "auto"}, {0.10, "auto"}, {0.10, "graph"}} {
		allow := hashFilter(fc.sel)
		opts := ann.SearchOptions{Filter: allow, Walk: fc.mode == "graph"}
		fr, err := filteredPoint(ds, h, exact, opts)
		if err != nil {
			return dr, err
		}
		fr.Selectivity, fr.Mode = fc.sel, fc.mode
		dr.Filtered = append(dr.Filtered, fr)
		cfg.logf("%s: filtered %.0f%% (%s) recall@10=%.4f qps=%.0f", ds.name, 100*fc.sel, fc.mode, fr.Recall, fr.QPS)
	}

	dr.Flat = flatBandwidth(ds, exact)
	cfg.logf("%s: flat %.2f ms/query, %.1f GB/s of %.1f GB/s read bandwidth", ds.name, dr.Flat.QueryMillis, dr.Flat.ScanGBps, dr.Flat.BandwidthGBps)
	return dr, nil
}

func parallelAdd(ctx context.Context, h *ann.HNSW, ds *annDataset, workers int) error {
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < ds.n(); i += workers {
				if i%1024 == 0 && ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				if err := h.Add(uint64(i), ds.vec(i)); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func resultIDs(res []ann.Result) []uint64 {
	ids := make([]uint64, len(res))
	for i, r := range res {
		ids[i] = r.ID
	}
	return ids
}

// sweepPoint times all queries on one goroutine locked to its thread (best
// of 3, wall and thread CPU time) and scores them.
func sweepPoint(ds *annDataset, ef int, search func(q []float32) ([]uint64, error)) (ANNPoint, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := ANNPoint{Ef: ef}
	best, bestCPU := math.Inf(1), math.Inf(1)
	var got [][]uint64
	for range 3 {
		got = got[:0]
		start := time.Now()
		cpu0, ok := cputime.Thread()
		for _, q := range ds.queries {
			ids, err := search(q)
			if err != nil {
				return p, err
			}
			got = append(got, ids)
		}
		best = min(best, time.Since(start).Seconds())
		if cpu1, ok1 := cputime.Thread(); ok && ok1 {
			bestCPU = min(bestCPU, (cpu1 - cpu0).Seconds())
		}
	}
	// One more pass, each query timed alone, for the latency distribution.
	p.Latencies = make([]float64, len(ds.queries))
	for i, q := range ds.queries {
		t := time.Now()
		if _, err := search(q); err != nil {
			return p, err
		}
		p.Latencies[i] = float64(time.Since(t).Nanoseconds()) / 1e3
	}
	if bestCPU > 0 && !math.IsInf(bestCPU, 1) {
		p.CPUQPS = float64(len(ds.queries)) / bestCPU
	}
	for qi, ids := range got {
		p.Recall += ds.recall(qi, ids, annK)
	}
	p.Recall /= float64(len(ds.queries))
	p.QPS = float64(len(ds.queries)) / best
	return p, nil
}

func (e *ANNEngine) summarize() {
	for _, p := range e.Sweep {
		if p.Recall >= 0.95 && p.QPS > e.QPSAt95 {
			e.QPSAt95, e.RecallAt95 = p.QPS, p.Recall
		}
		if p.Recall >= 0.95 && p.CPUQPS > e.CPUQPSAt95 {
			e.CPUQPSAt95 = p.CPUQPS
		}
	}
}

// hashFilter allows a pseudo-random share sel of ids.
func hashFilter(sel float64) ann.Filter {
	cut := uint64(sel * (1 << 32))
	return func(id uint64) bool {
		x := id + 0x9e3779b97f4a7c15
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		x ^= x >> 31
		return x&(1<<32-1) < cut
	}
}

func filteredPoint(ds *annDataset, h *ann.HNSW, exact *ann.Flat, opts ann.SearchOptions) (ANNFiltered, error) {
	var fr ANNFiltered
	start := time.Now()
	got := make([][]ann.Result, len(ds.queries))
	for i, q := range ds.queries {
		res, err := h.SearchWith(q, annK, opts)
		if err != nil {
			return fr, err
		}
		got[i] = res
	}
	fr.QPS = float64(len(ds.queries)) / time.Since(start).Seconds()
	for i, q := range ds.queries {
		want, err := exact.Search(q, annK, opts.Filter)
		if err != nil {
			return fr, err
		}
		if len(want) == 0 {
			fr.Recall++
			continue
		}
		kth := dist64(ds.metric, q, ds.vec(int(want[len(want)-1].ID)))
		tol := 1e-6*math.Abs(kth) + 1e-6
		hit := 0
		for _, r := range got[i] {
			if opts.Filter(r.ID) && dist64(ds.metric, q, ds.vec(int(r.ID))) <= kth+tol {
				hit++
			}
		}
		fr.Recall += float64(hit) / float64(len(want))
	}
	fr.Recall /= float64(len(ds.queries))
	return fr, nil
}

// flatBandwidth times exact search over the whole base and, over the same
// floats, a parallel sum: the machine's read bandwidth in this process.
func flatBandwidth(ds *annDataset, exact *ann.Flat) ANNFlat {
	bytes := float64(len(ds.base) * 4)
	nq := min(len(ds.queries), 20)
	best := math.Inf(1)
	for range 2 {
		start := time.Now()
		for _, q := range ds.queries[:nq] {
			exact.Search(q, annK, nil)
		}
		best = min(best, time.Since(start).Seconds()/float64(nq))
	}
	bw := math.Inf(1)
	for range 5 {
		start := time.Now()
		parallelSum(ds.base)
		bw = min(bw, time.Since(start).Seconds())
	}
	f := ANNFlat{QueryMillis: best * 1e3, ScanGBps: bytes / best / 1e9, BandwidthGBps: bytes / bw / 1e9}
	f.BandwidthShare = f.ScanGBps / f.BandwidthGBps
	return f
}

var sumSink float32

func parallelSum(v []float32) {
	parts := runtime.GOMAXPROCS(0)
	sums := make([]float32, parts)
	var wg sync.WaitGroup
	for p := range parts {
		lo, hi := len(v)*p/parts, len(v)*(p+1)/parts
		if lo == hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[p] = vek32.Sum(v[lo:hi])
		}()
	}
	wg.Wait()
	sumSink = vek32.Sum(sums)
}

type byteCounter struct{ n int64 }

func (c *byteCounter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// runHNSWLib runs the peer script and scores its labels with ds.recall.
func runHNSWLib(ctx context.Context, cfg ANNConfig, ds *annDataset) (ANNEngine, error) {
	e := ANNEngine{Name: "hnswlib"}
	tmp, err := os.MkdirTemp(cfg.TempDir, "quarry-ann-")
	if err != nil {
		return e, err
	}
	defer os.RemoveAll(tmp)
	dir := ds.dir
	if dir == "" {
		dir = tmp
		if err := ds.writeDir(tmp); err != nil {
			return e, err
		}
	}
	efs := make([]string, len(cfg.EfSweep))
	for i, ef := range cfg.EfSweep {
		efs[i] = fmt.Sprint(ef)
	}
	space := "l2"
	if ds.metric == ann.Cosine {
		space = "cosine"
	}
	script := cfg.PeerScript
	if script == "" {
		// The peer script ships inside the binary, so quarry bench works
		// from any directory.
		script = filepath.Join(tmp, "hnswlib_ann.py")
		if err := os.WriteFile(script, hnswlibScript, 0o644); err != nil {
			return e, err
		}
	}
	cmd := exec.CommandContext(ctx, cfg.Python, script, dir, space, fmt.Sprint(cfg.M),
		fmt.Sprint(cfg.EfConstruction), strings.Join(efs, ","), tmp, fmt.Sprint(cfg.BuildWorkers))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return e, fmt.Errorf("%v: %s", err, stderr.String())
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var line struct {
			Ef         int       `json:"ef"`
			QPS        float64   `json:"qps"`
			CPUQPS     float64   `json:"qps_cpu"`
			Build      float64   `json:"build_s"`
			BuildCPU   float64   `json:"build_cpu_s"`
			IndexBytes float64   `json:"index_bytes"`
			Latencies  []float64 `json:"latency_us"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return e, fmt.Errorf("peer output %q: %w", sc.Text(), err)
		}
		e.BuildSeconds, e.BuildCPU = line.Build, line.BuildCPU
		e.BytesPerVector = line.IndexBytes / float64(ds.n())
		_, labels, err := readVecs(filepath.Join(tmp, fmt.Sprintf("labels-%d.ivecs", line.Ef)))
		if err != nil {
			return e, err
		}
		if len(labels) != len(ds.queries)*annK {
			return e, fmt.Errorf("peer labels: %d, want %d", len(labels), len(ds.queries)*annK)
		}
		p := ANNPoint{Ef: line.Ef, QPS: line.QPS, CPUQPS: line.CPUQPS, Latencies: line.Latencies}
		for qi := range ds.queries {
			ids := make([]uint64, annK)
			for j := range ids {
				ids[j] = uint64(labels[qi*annK+j])
			}
			p.Recall += ds.recall(qi, ids, annK)
		}
		p.Recall /= float64(len(ds.queries))
		e.Sweep = append(e.Sweep, p)
		cfg.logf("%s: hnswlib ef=%d recall@10=%.4f qps=%.0f", ds.name, p.Ef, p.Recall, p.QPS)
	}
	e.summarize()
	return e, nil
}

// Markdown renders the report as tables.
func (r ANNReport) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# ANN benchmark (GOMAXPROCS=%d, %s, M=%d, efConstruction=%d, k=%d)\n", r.GOMAXPROCS, r.GOARCH, r.M, r.EfC, annK)
	for _, d := range r.Datasets {
		fmt.Fprintf(&b, "\n## %s: %d × %d, %d queries, %s\n\n", d.Name, d.N, d.Dim, d.Queries, d.Metric)
		if d.Synthetic {
			b.WriteString("Synthetic: seeded Gaussian clusters (256 centres), not real embeddings; real text embeddings may behave differently.\n\n")
		}
		b.WriteString("| engine | build s (CPU s) | bytes/vector | QPS at recall@10 ≥ 0.95, wall / thread CPU (recall) |\n|---|---|---|---|\n")
		for _, e := range d.Engines {
			fmt.Fprintf(&b, "| %s | %.2f (%.2f) | %.0f | %.0f / %.0f (%.4f) |\n", e.Name, e.BuildSeconds, e.BuildCPU, e.BytesPerVector, e.QPSAt95, e.CPUQPSAt95, e.RecallAt95)
		}
		if len(d.EqualRecall) > 0 {
			b.WriteString("\nquarry/hnswlib at equal recall (each engine's QPS interpolated on its recall–QPS curve):\n\n| recall@10 | quarry QPS | hnswlib QPS | ratio wall | ratio CPU |\n|---|---|---|---|---|\n")
			for _, x := range d.EqualRecall {
				fmt.Fprintf(&b, "| %.2f | %.0f | %.0f | %.2f | %.2f |\n", x.Recall, x.OursQPS, x.PeerQPS, x.Ratio, x.CPURatio)
			}
		}
		if d.Build > 0 {
			fmt.Fprintf(&b, "\nbuild time ratio quarry/hnswlib: %.2f wall, %.2f CPU\n", d.Build, d.BuildCPU)
		}
		b.WriteString("\n| ef |")
		for _, e := range d.Engines {
			fmt.Fprintf(&b, " %s recall@10 | %s QPS wall / CPU |", e.Name, e.Name)
		}
		b.WriteString("\n|---|")
		for range d.Engines {
			b.WriteString("---|---|")
		}
		b.WriteString("\n")
		for i, p := range d.Engines[0].Sweep {
			fmt.Fprintf(&b, "| %d |", p.Ef)
			for _, e := range d.Engines {
				if i < len(e.Sweep) {
					fmt.Fprintf(&b, " %.4f | %.0f / %.0f |", e.Sweep[i].Recall, e.Sweep[i].QPS, e.Sweep[i].CPUQPS)
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n| filtered | mode | recall@10 | QPS |\n|---|---|---|---|\n")
		for _, f := range d.Filtered {
			fmt.Fprintf(&b, "| %.0f%% | %s | %.4f | %.0f |\n", 100*f.Selectivity, f.Mode, f.Recall, f.QPS)
		}
		fmt.Fprintf(&b, "\nexact scan: %.2f ms/query = %.1f GB/s; parallel sum over the same floats %.1f GB/s (%.0f%%)\n",
			d.Flat.QueryMillis, d.Flat.ScanGBps, d.Flat.BandwidthGBps, 100*d.Flat.BandwidthShare)
	}
	return b.String()
}
