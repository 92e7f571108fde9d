package lexical_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/bench"
	"github.com/quarrylabs/quarry/lexical"
)

// BenchmarkSearchScale measures top-100 BM25 searches of the shared IR
// collections' queries (vaswani, cranfield, msmarco-5k, shuffled) over
// $QUARRY_LEX_DOCS chunks of about 520 bytes of their corpora's
// sentences, drawn in shuffled passes as `quarry bench scale` builds its
// store (94 chunks per file name). It reports p50/p90/p99 per query and the process's CPU time per query
// (a search on several cores costs more than its wall time). The
// index is built in $QUARRY_LEX_DIR when set and reused by later runs
// with the same size (building a million chunks takes minutes):
//
//	QUARRY_LEX_DOCS=1000000 QUARRY_LEX_DIR=/tmp/lex1m go test ./lexical -run '^$' -bench SearchScale -benchtime 300x
func BenchmarkSearchScale(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("QUARRY_LEX_DOCS"))
	if n <= 0 {
		b.Skip("set QUARRY_LEX_DOCS to the number of chunks to index (and QUARRY_LEX_DIR to keep the index)")
	}
	var sents, queries []string
	for _, name := range []string{"vaswani", "cranfield", "msmarco-5k"} {
		dir := filepath.Join("..", "..", "shared", "datasets", "ir", name)
		if _, err := os.Stat(dir); err != nil {
			b.Skipf("shared IR collections not found at %s: run beside ../shared", dir)
		}
		c, err := bench.LoadBEIR(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range c.Corpus {
			for s := range strings.SplitSeq(strings.Join(strings.Fields(d.Title+". "+d.Text), " "), ". ") {
				if s = strings.TrimSpace(s); s != "" {
					sents = append(sents, s+".")
				}
			}
		}
		for _, q := range c.Queries {
			queries = append(queries, q.Text)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(queries), func(i, j int) { queries[i], queries[j] = queries[j], queries[i] })

	ctx := context.Background()
	dir := os.Getenv("QUARRY_LEX_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	ix, err := lexical.Open(dir, lexical.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	have, err := ix.Count()
	if err != nil {
		b.Fatal(err)
	}
	if int(have) != n {
		if have != 0 {
			b.Fatalf("%s holds %d chunks, not %d: remove it or pick another QUARRY_LEX_DIR", dir, have, n)
		}
		start := time.Now()
		var perm []int
		pos := 0
		const batch = 4096
		docs := make([]lexical.Doc, 0, batch)
		for id := range n {
			var sb strings.Builder
			for sb.Len() < 520 {
				if pos == len(perm) {
					perm, pos = r.Perm(len(sents)), 0
				}
				sb.WriteString(sents[perm[pos]])
				sb.WriteByte(' ')
				pos++
			}
			docs = append(docs, lexical.Doc{ID: uint64(id), Text: sb.String(), Filename: "f" + strconv.Itoa(id/94) + ".txt"})
			if len(docs) == batch || id == n-1 {
				if err := ix.Apply(ctx, uint64(id), docs, nil); err != nil {
					b.Fatal(err)
				}
				docs = docs[:0]
			}
		}
		b.Logf("indexed %d chunks in %.0f s", n, time.Since(start).Seconds())
	}

	lat := make([]time.Duration, 0, b.N)
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		t := time.Now()
		if _, err := ix.Search(ctx, queries[i%len(queries)], 100, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
		i++
	}
	cpu := cpuTime() - cpu0
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1e3 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.9), "p90-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(len(lat)), "cpu-ms/op")
}
