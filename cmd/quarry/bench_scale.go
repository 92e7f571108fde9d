package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/bench"
	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/store"
)

// benchScaleCommand is `quarry bench scale`.
var benchScaleCommand = &command{
	name:    "scale",
	args:    "[flags]",
	summary: "build a store of N chunks from the shared IR corpora; ingest, disk, reopen and search figures",
	long: `Builds a vector store of --chunks chunks (100 tokens each, static chunking)
from the sentences of the shared IR corpora (vaswani, cranfield, msmarco-5k),
shuffled and repeated deterministically to reach the size, with the local
embedder, and reports: ingest MB/s and chunks/s; disk bytes per chunk;
reopen time to the first served search after a clean close and after
kill -9 of a process ingesting into the store, each in a fresh process,
with its RSS; search p50/p90/p99 for the default pipeline, BM25 only and
vectors only; and the default pipeline's p99 while four goroutines ingest
into the same store, against its idle p99.`,
	examples: []string{
		"quarry bench scale --chunks 100000",
		"quarry bench scale --chunks 1000000 --dir /var/tmp/scale --keep",
	},
	setup: setupBenchScale,
}

// scaleChunking is the benchmark's chunking: 100-token chunks, so that the
// chunk count, not the text, sets the store's size.
var scaleChunking = chunk.Strategy{Type: chunk.Static, MaxTokens: 100, OverlapTokens: 0}

// scaleReopen is what a reopening child process measures.
type scaleReopen struct {
	OpenMS        float64 `json:"open_ms"`
	FirstSearchMS float64 `json:"first_search_ms"` // from the start of Open to the first search's answer
	RSSMB         float64 `json:"rss_mb"`
}

func setupBenchScale(fs *flagSet) runFunc {
	shared := sharedFlag(fs)
	chunks := fs.Int("chunks", 100_000, "chunks `N` in the store")
	dirFlag := fs.String("dir", "", "build the store in `DIR` (default a temporary folder, removed after)")
	keep := fs.Bool("keep", false, "keep the store folder")
	reuse := fs.Bool("reuse", false, "measure the store already in --dir (from a run with --keep) instead of building one; implies --keep")
	searches := fs.Int("searches", 300, "searches `N` per latency figure")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	child := fs.String("child", "", "internal: run as the benchmark's child `MODE` (reopen or ingest) over --dir")
	query := fs.String("query", "", "internal: the reopen child's first `QUERY`")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the build and measurement to `FILE`")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return usagef(lookup(lookup(commands, "bench").subs, "scale"), "unexpected argument %q", args[0])
		}
		if *child == "reopen" {
			// Before loading the corpora, which would count in its RSS.
			return scaleReopenChild(ctx, e.stdout, *dirFlag, *query)
		}
		sents, queries, err := scaleText(*shared)
		if err != nil {
			return err
		}
		switch *child {
		case "":
		case "ingest":
			return scaleIngestChild(ctx, e.stdout, *dirFlag, sents)
		default:
			return fmt.Errorf("--child %q: want reopen or ingest", *child)
		}
		if *chunks < 1000 {
			return fmt.Errorf("--chunks %d: want at least 1000", *chunks)
		}
		if *reuse && *dirFlag == "" {
			return errors.New("--reuse needs --dir")
		}
		dir := *dirFlag
		if dir == "" {
			if dir, err = os.MkdirTemp("", "quarry-scale-"); err != nil {
				return err
			}
		} else if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if !*keep && !*reuse {
			defer os.RemoveAll(dir)
		}
		if *cpuProfile != "" {
			pf, err := os.Create(*cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(pf); err != nil {
				pf.Close()
				return err
			}
			defer func() {
				pprof.StopCPUProfile()
				pf.Close()
			}()
		}
		r, err := runScale(ctx, e, dir, *chunks, *searches, *reuse, sents, queries)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(r)
		}
		r.print(e.stdout)
		return nil
	}
}

// scaleText returns the sentences of the shared IR corpora and their
// queries.
func scaleText(shared string) (sents, queries []string, err error) {
	for _, name := range []string{"vaswani", "cranfield", "msmarco-5k"} {
		d, err := sharedDataset(shared, filepath.Join("datasets", "ir", name))
		if err != nil {
			return nil, nil, err
		}
		c, err := bench.LoadBEIR(d)
		if err != nil {
			return nil, nil, err
		}
		for _, doc := range c.Corpus {
			sents = append(sents, sentences(strings.Join(strings.Fields(doc.Title+". "+doc.Text), " "))...)
		}
		for _, q := range c.Queries {
			queries = append(queries, q.Text)
		}
	}
	// Deterministic order, the same in every process.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })
	return sents, queries, nil
}

// scaleSource hands out files' texts: sentences drawn in a shuffled order
// (a fresh permutation per pass over them) until about n bytes.
type scaleSource struct {
	sents []string
	perm  []int
	pos   int
	r     *rand.Rand
}

func newScaleSource(sents []string, seed uint64) *scaleSource {
	return &scaleSource{sents: sents, r: rand.New(rand.NewPCG(seed, 3))}
}

func (s *scaleSource) text(n int) string {
	var sb strings.Builder
	for sb.Len() < n {
		if s.pos == len(s.perm) {
			s.perm, s.pos = s.r.Perm(len(s.sents)), 0
		}
		sb.WriteString(s.sents[s.perm[s.pos]])
		sb.WriteByte(' ')
		s.pos++
	}
	return sb.String()
}

type scaleLatency struct {
	P50MS, P90MS, P99MS float64
	N                   int
}

func toScaleLatency(l bench.Latency) scaleLatency {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
	return scaleLatency{ms(l.P50), ms(l.P90), ms(l.P99), l.N}
}

type scaleResult struct {
	Chunks, Files            int
	TextMB                   float64
	IngestSeconds            float64 // until every file is completed (committed and applied by the indexes)
	IngestMBps               float64
	ChunksPerSecond          float64
	IndexedSeconds           float64 // until Close returns: the graph saved
	IndexedMBps              float64
	DiskBytes                int64
	DiskBytesPerChunk        float64
	Clean, AfterKill         scaleReopen
	KillIngestedFiles        int // files the killed process had added
	Default, BM25, Dense     scaleLatency
	IdleP50MS, IdleP99MS     float64
	IngestP50MS, IngestP99MS float64 // the default pipeline while four goroutines ingest
	IngestFilesDuring        int
}

func (r *scaleResult) print(w io.Writer) {
	fmt.Fprintf(w, "store: %d chunks in %d files (%.1f MB of text), default embedder, 100-token chunks, GOMAXPROCS %d\n", r.Chunks, r.Files, r.TextMB, runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "  ingest: every file completed (committed and indexed) at %.1f s, %.2f MB/s, %.0f chunks/s; closed (graph saved) at %.1f s\n", r.IngestSeconds, r.IngestMBps, r.ChunksPerSecond, r.IndexedSeconds)
	fmt.Fprintf(w, "  disk: %.1f MB, %.0f bytes per chunk\n", float64(r.DiskBytes)/1e6, r.DiskBytesPerChunk)
	fmt.Fprintf(w, "  reopen after a clean close: open %.0f ms, first search served at %.0f ms, RSS %.0f MB\n", r.Clean.OpenMS, r.Clean.FirstSearchMS, r.Clean.RSSMB)
	fmt.Fprintf(w, "  reopen after kill -9 during ingest (%d files added by the killed process): open %.0f ms, first search served at %.0f ms, RSS %.0f MB\n", r.KillIngestedFiles, r.AfterKill.OpenMS, r.AfterKill.FirstSearchMS, r.AfterKill.RSSMB)
	for _, l := range []struct {
		name string
		l    scaleLatency
	}{{"default pipeline", r.Default}, {"BM25 only", r.BM25}, {"vectors only", r.Dense}} {
		fmt.Fprintf(w, "  search, %-16s p50 %.2f ms  p90 %.2f ms  p99 %.2f ms (%d searches)\n", l.name+":", l.l.P50MS, l.l.P90MS, l.l.P99MS, l.l.N)
	}
	fmt.Fprintf(w, "  default pipeline: idle p50 %.2f ms p99 %.2f ms; during heavy ingestion p50 %.2f ms p99 %.2f ms (p99 %.1fx; %d files ingested meanwhile)\n", r.IdleP50MS, r.IdleP99MS, r.IngestP50MS, r.IngestP99MS, r.IngestP99MS/r.IdleP99MS, r.IngestFilesDuring)
}

func runScale(ctx context.Context, e *env, dir string, chunks, searches int, reuse bool, sents, queries []string) (*scaleResult, error) {
	r := &scaleResult{}
	logf := func(format string, a ...any) { fmt.Fprintf(e.stderr, "quarry: bench scale: "+format+"\n", a...) }
	if reuse {
		return r, measureScale(ctx, logf, dir, searches, r, sents, queries)
	}
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()
	vs, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "scale"})
	if err != nil {
		return nil, err
	}
	// Files of about 100 chunks; the first one calibrates bytes per chunk.
	src := newScaleSource(sents, 1)
	const fileBytes = 48 << 10
	var mu sync.Mutex
	var textBytes int64
	add := func(ctx context.Context, name, text string) error {
		f, err := vs.AddFile(ctx, store.FileInput{Name: name, Body: strings.NewReader(text), Chunking: scaleChunking})
		if err != nil {
			return err
		}
		if f, err = vs.WaitFile(ctx, f.ID); err != nil {
			return err
		}
		if f.Status != store.StatusCompleted {
			return fmt.Errorf("%s: %s: %v", name, f.Status, f.LastError)
		}
		mu.Lock()
		r.Chunks += f.Chunks
		r.Files++
		textBytes += int64(len(text))
		mu.Unlock()
		return nil
	}
	start := time.Now()
	if err := add(ctx, "f0.txt", src.text(fileBytes)); err != nil {
		return nil, err
	}
	perFile := max(1, r.Chunks)
	files := (chunks + perFile - 1) / perFile
	logf("building %d files of about %d chunks in %s", files, perFile, dir)
	// 64 files in flight (about 3 MB): a file is completed once indexed,
	// so fewer would leave the pipeline and the indexer's rounds starved.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i := 1; i < files; i++ {
		text := src.text(fileBytes)
		g.Go(func() error { return add(gctx, fmt.Sprintf("f%d.txt", i), text) })
		if i%1000 == 0 {
			logf("%d files added", i)
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	r.IngestSeconds = time.Since(start).Seconds()
	r.TextMB = float64(textBytes) / 1e6
	r.IngestMBps = r.TextMB / r.IngestSeconds
	r.ChunksPerSecond = float64(r.Chunks) / r.IngestSeconds
	logf("built: %d chunks in %.0f s", r.Chunks, r.IngestSeconds)
	// Completed files are committed and indexed; Close saves the graph.
	if err := db.Close(); err != nil {
		return nil, err
	}
	db = nil
	r.IndexedSeconds = time.Since(start).Seconds()
	r.IndexedMBps = r.TextMB / r.IndexedSeconds
	logf("closed at %.0f s", r.IndexedSeconds)
	return r, measureScale(ctx, logf, dir, searches, r, sents, queries)
}

// measureScale measures the closed store in dir: disk, reopens, search
// latency idle and during heavy ingestion.
func measureScale(ctx context.Context, logf func(string, ...any), dir string, searches int, r *scaleResult, sents, queries []string) error {
	var err error
	if r.DiskBytes, err = diskBytes(dir); err != nil {
		return err
	}
	if r.Chunks == 0 {
		// A reused store: count its chunks.
		db, err := store.Open(ctx, dir, store.Options{})
		if err != nil {
			return err
		}
		vs, err := db.VectorStoreByName(ctx, "scale")
		if err == nil {
			var files []store.File
			if files, err = vs.AllFiles(ctx); err == nil {
				for _, f := range files {
					r.Chunks += f.Chunks
					r.Files++
				}
			}
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	r.DiskBytesPerChunk = float64(r.DiskBytes) / float64(r.Chunks)

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if r.Clean, err = scaleRunReopen(ctx, exe, dir, queries[0]); err != nil {
		return err
	}
	logf("clean reopen: %.0f ms to the first search", r.Clean.FirstSearchMS)
	if r.KillIngestedFiles, err = scaleKillIngest(ctx, exe, dir); err != nil {
		return err
	}
	if r.AfterKill, err = scaleRunReopen(ctx, exe, dir, queries[0]); err != nil {
		return err
	}
	logf("reopen after kill -9: %.0f ms to the first search", r.AfterKill.FirstSearchMS)

	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	vs, err := db.VectorStoreByName(ctx, "scale")
	if err != nil {
		return err
	}
	var mu sync.Mutex
	qs := queries[:min(len(queries), searches)]
	for _, m := range []struct {
		out *scaleLatency
		h   *store.HybridWeights
	}{{&r.Default, nil}, {&r.BM25, &store.HybridWeights{TextWeight: 1}}, {&r.Dense, &store.HybridWeights{EmbeddingWeight: 1}}} {
		l, err := bench.MeasureLatency(ctx, vs, qs, store.SearchRequest{Ranking: store.RankingOptions{Hybrid: m.h}}, 1)
		if err != nil {
			return err
		}
		*m.out = toScaleLatency(l)
	}
	r.IdleP50MS, r.IdleP99MS = r.Default.P50MS, r.Default.P99MS
	// Heavy ingestion: four writers adding files of ~10 chunks as fast as
	// the store takes them, while the same searches run again.
	ictx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var during int
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newScaleSource(sents, uint64(100+w))
			for i := 0; ictx.Err() == nil; i++ {
				f, err := vs.AddFile(ictx, store.FileInput{Name: fmt.Sprintf("busy%d-%d.txt", w, i), Body: strings.NewReader(s.text(5 << 10)), Chunking: scaleChunking})
				if err == nil {
					_, err = vs.WaitFile(ictx, f.ID)
				}
				if err == nil {
					mu.Lock()
					during++
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(time.Second)
	l, err := bench.MeasureLatency(ctx, vs, qs, store.SearchRequest{}, 1)
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	r.IngestP50MS, r.IngestP99MS = toScaleLatency(l).P50MS, toScaleLatency(l).P99MS
	r.IngestFilesDuring = during
	return nil
}

// diskBytes sums the allocated size of every file under dir.
func diskBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// scaleRunReopen runs a reopening child over dir and returns what it
// measured.
func scaleRunReopen(ctx context.Context, exe, dir, query string) (scaleReopen, error) {
	var m scaleReopen
	cmd := exec.CommandContext(ctx, exe, "bench", "scale", "--child", "reopen", "--dir", dir, "--query", query)
	cmd.Env = os.Environ()
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return m, fmt.Errorf("reopen child: %w", err)
	}
	if err := json.Unmarshal(out, &m); err != nil {
		return m, fmt.Errorf("reopen child printed %q: %w", out, err)
	}
	return m, nil
}

// scaleReopenChild opens the store, runs one search and prints the times
// and the process's RSS as JSON.
func scaleReopenChild(ctx context.Context, w io.Writer, dir, query string) error {
	start := time.Now()
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	var m scaleReopen
	m.OpenMS = float64(time.Since(start).Microseconds()) / 1e3
	vs, err := db.VectorStoreByName(ctx, "scale")
	if err != nil {
		return err
	}
	if _, err := vs.Search(ctx, store.SearchRequest{Query: []string{query}}); err != nil {
		return err
	}
	m.FirstSearchMS = float64(time.Since(start).Microseconds()) / 1e3
	m.RSSMB = float64(rssBytes()) / 1e6
	return json.NewEncoder(w).Encode(m)
}

// rssBytes returns the process's resident set size (Linux), or 0.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// scaleKillIngest runs an ingesting child over dir, kills it with SIGKILL 3 s
// after it is ready and returns how many files it had added.
func scaleKillIngest(ctx context.Context, exe, dir string) (int, error) {
	cmd := exec.CommandContext(ctx, exe, "bench", "scale", "--child", "ingest", "--dir", dir)
	cmd.Env = os.Environ()
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, errors.New("ingest child did not start")
	}
	lines := make(chan int, 1)
	go func() {
		n := 0
		for sc.Scan() {
			n++
		}
		lines <- n
	}()
	time.Sleep(3 * time.Second)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	return <-lines, nil
}

// scaleIngestChild opens the store and adds small files from four
// goroutines, printing a line per acknowledged add, until it is killed.
func scaleIngestChild(ctx context.Context, w io.Writer, dir string, sents []string) error {
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		return err
	}
	vs, err := db.VectorStoreByName(ctx, "scale")
	if err != nil {
		return err
	}
	var mu sync.Mutex
	fmt.Fprintln(w, "ready")
	var g errgroup.Group
	for k := range 4 {
		g.Go(func() error {
			s := newScaleSource(sents, uint64(1000+k))
			for i := 0; ; i++ {
				if _, err := vs.AddFile(ctx, store.FileInput{Name: fmt.Sprintf("kill%d-%d.txt", k, i), Body: strings.NewReader(s.text(2 << 10)), Chunking: scaleChunking}); err != nil {
					return err
				}
				mu.Lock()
				fmt.Fprintln(w, "added")
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return g.Wait()
}
