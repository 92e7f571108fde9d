package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/chunk"
)

// benchText returns n chunks' worth (100 tokens each) of varied words.
func benchText(rng *rand.Rand, chunks int) string {
	var sb strings.Builder
	for range chunks * 100 {
		fmt.Fprintf(&sb, "w%d ", rng.IntN(5000))
	}
	return sb.String()
}

var smallChunks = chunk.Strategy{Type: chunk.Static, MaxTokens: 100, OverlapTokens: 0}

// restartChild grows the store "bench" to QUARRY_RESTART_CHUNKS chunks,
// prints "ready" and then ingests small files steadily until killed.
func restartChild(dir string) {
	ctx := context.Background()
	want, _ := strconv.Atoi(os.Getenv("QUARRY_RESTART_CHUNKS"))
	db, err := Open(ctx, dir, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	vs, err := db.VectorStoreByName(ctx, "bench")
	if err != nil {
		if vs, err = db.CreateVectorStore(ctx, VectorStoreParams{Name: "bench"}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	have := 0
	files, _ := vs.AllFiles(ctx)
	for _, f := range files {
		have += f.Chunks
	}
	var g errgroup.Group
	g.SetLimit(8)
	for i := 0; have+i*100 < want; i++ {
		g.Go(func() error {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("big%d.txt", i), Body: strings.NewReader(benchText(rng, 100)), Chunking: smallChunks})
			if err != nil {
				return err
			}
			_, err = vs.WaitFile(ctx, f.ID)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	for i := 0; ; i++ {
		if _, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("s%d.txt", i), Body: strings.NewReader(benchText(rng, 2)), Chunking: smallChunks}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var (
	benchDirsMu sync.Mutex
	benchDirs   = map[string]string{}
)

// benchDir returns a directory kept across the calls of a benchmark
// function in this process (the testing package calls it once per b.N
// tried), so a large store is built once. TestMain removes them.
func benchDir(b *testing.B, name string) string {
	benchDirsMu.Lock()
	defer benchDirsMu.Unlock()
	if d, ok := benchDirs[name]; ok {
		return d
	}
	d, err := os.MkdirTemp("", "quarry-bench-")
	if err != nil {
		b.Fatal(err)
	}
	benchDirs[name] = d
	return d
}

func removeBenchDirs() {
	benchDirsMu.Lock()
	defer benchDirsMu.Unlock()
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
}

// BenchmarkRestartAfterKill measures the time from Open to the first
// served search after kill -9 of a process that was ingesting steadily
// into a store of QUARRY_BENCH_CHUNKS chunks (default 100,000; the store
// is built once per run, which takes minutes). Each iteration restarts
// the ingesting child, kills it after 3 s, and times Open + one search:
// "restart-ms". For comparison, "rebuild-ms" is the same with the derived
// indexes deleted (a full rebuild from quarry.db).
func BenchmarkRestartAfterKill(b *testing.B) {
	chunks := 100_000
	if s := os.Getenv("QUARRY_BENCH_CHUNKS"); s != "" {
		chunks, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	dir := benchDir(b, fmt.Sprintf("restart-%d", chunks))
	run := func() {
		cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
		cmd.Env = append(os.Environ(), "QUARRY_RESTART_CHILD="+dir, "QUARRY_RESTART_CHUNKS="+strconv.Itoa(chunks))
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() && sc.Text() != "ready" {
			b.Logf("child: %s", sc.Text())
		}
		time.Sleep(3 * time.Second)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	restart := func() time.Duration {
		start := time.Now()
		db, err := Open(ctx, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		vs, err := db.VectorStoreByName(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := vs.Search(ctx, SearchRequest{Query: []string{"w17 w42"}}); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		b.StopTimer()
		db.Close()
		return d
	}
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		run()
		b.StartTimer()
		total += restart()
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "restart-ms")
	run()
	if err := os.RemoveAll(filepath.Join(dir, "indexes")); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(restart().Milliseconds()), "rebuild-ms")
	b.ReportMetric(float64(chunks), "chunks")
}

// BenchmarkSearchP99UnderIngest measures search latency on one store idle
// and while four goroutines ingest into it at full speed: "idle-p99-ms",
// "ingest-p99-ms" and their ratio. Each iteration is one search of each
// kind.
func BenchmarkSearchP99UnderIngest(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var g errgroup.Group
	g.SetLimit(8)
	for i := range 100 {
		g.Go(func() error {
			f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(benchText(rand.New(rand.NewPCG(uint64(i), 1)), 50)), Chunking: smallChunks})
			if err == nil {
				_, err = vs.WaitFile(ctx, f.ID)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	search := func() time.Duration {
		start := time.Now()
		if _, err := vs.Search(ctx, SearchRequest{Query: []string{fmt.Sprintf("w%d w%d", rng.IntN(5000), rng.IntN(5000))}}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	p99 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, len(ds)*99/100)].Microseconds()) / 1e3
	}
	n := max(b.N, 200)
	b.ResetTimer()
	idle := make([]time.Duration, n)
	for i := range n {
		idle[i] = search()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("i%d-%d.txt", w, i), Body: strings.NewReader(benchText(r, 10)), Chunking: smallChunks})
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	busy := make([]time.Duration, n)
	for i := range n {
		busy[i] = search()
	}
	close(stop)
	wg.Wait()
	b.StopTimer()
	pi, pb := p99(idle), p99(busy)
	b.ReportMetric(pi, "idle-p99-ms")
	b.ReportMetric(pb, "ingest-p99-ms")
	b.ReportMetric(pb/pi, "p99-ratio")
}
