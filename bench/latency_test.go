package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/store"
)

// BenchmarkHybridSearch100k measures hybrid search latency (vectors, BM25,
// feedback, local rerank: the defaults) on a store of 100,000 chunks made
// of sentences drawn from the vaswani and cranfield abstracts, queried with
// vaswani's queries. Building the store takes minutes; it reports p50, p90
// and p99 of single searches. Set QUARRY_BENCH_CHUNKS to change the size.
func BenchmarkHybridSearch100k(b *testing.B) {
	vas, err := LoadBEIR(shareddata.Path(b, "datasets/ir/vaswani"))
	if err != nil {
		b.Fatal(err)
	}
	cran, err := LoadBEIR(shareddata.Path(b, "datasets/ir/cranfield"))
	if err != nil {
		b.Fatal(err)
	}
	n := 100_000
	if s := os.Getenv("QUARRY_BENCH_CHUNKS"); s != "" {
		fmt.Sscan(s, &n)
	}
	var pool []string
	for _, c := range []*BEIR{vas, cran} {
		for _, d := range c.Corpus {
			if t := strings.TrimSpace(d.Text); t != "" {
				pool = append(pool, t)
			}
		}
	}
	ctx := context.Background()
	// QUARRY_BENCH_STORE keeps the built store in that directory and reuses
	// it on later runs, so that search can be profiled on its own.
	dir := os.Getenv("QUARRY_BENCH_STORE")
	if dir == "" {
		dir = b.TempDir()
	}
	db, err := store.Open(ctx, dir, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	vs, err := db.VectorStoreByName(ctx, "latency")
	built := err == nil
	if !built {
		if vs, err = db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "latency"}); err != nil {
			b.Fatal(err)
		}
	}
	// Files of 100 chunks of 100 tokens each (static, no overlap).
	rng := rand.New(rand.NewPCG(1, 2))
	const perFile = 100
	strategy := chunk.Strategy{Type: chunk.Static, MaxTokens: 100, OverlapTokens: 0}
	start := time.Now()
	for f := 0; f < n/perFile && !built; f++ {
		var sb strings.Builder
		for sb.Len() < perFile*100*6 { // about 5.5 bytes a token here
			sb.WriteString(pool[rng.IntN(len(pool))])
			sb.WriteString(" ")
		}
		if _, err := vs.AddFile(ctx, store.FileInput{Name: fmt.Sprintf("f%05d.txt", f), Body: strings.NewReader(sb.String()), Chunking: strategy}); err != nil {
			b.Fatal(err)
		}
	}
	chunks := 0
	for {
		info, err := vs.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if info.FileCounts.InProgress == 0 {
			files, _ := vs.AllFiles(ctx)
			for _, f := range files {
				chunks += f.Chunks
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Logf("built a store of %d chunks in %v", chunks, time.Since(start))
	var queries []string
	for _, q := range vas.Queries {
		queries = append(queries, q.Text)
	}
	// b.Loop runs this function once, so the store is built once; the
	// percentiles are those of the last iteration.
	var lat, files Latency
	for b.Loop() {
		if lat, err = MeasureLatency(ctx, vs, queries, store.SearchRequest{MaxResults: 10}, 3); err != nil {
			b.Fatal(err)
		}
		// As the HTTP API searches: ten files, not ten chunks.
		if files, err = MeasureLatency(ctx, vs, queries, store.SearchRequest{MaxResults: 10, CountFiles: true}, 3); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(chunks), "chunks")
	b.ReportMetric(float64(lat.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat.P90.Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(lat.P99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(files.P50.Microseconds())/1000, "files-p50-ms")
	b.ReportMetric(float64(files.P99.Microseconds())/1000, "files-p99-ms")
}
