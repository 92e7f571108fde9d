package store_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/ann"
	"github.com/quarrylabs/quarry/bench"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/lexical"
)

// BenchmarkIndexerParts measures, on QUARRY_INDEXER_CHUNKS (default
// 20,000) chunks of about 100 tokens drawn from the shared IR corpora's
// sentences and embedded by the local embedder, what the indexer's two
// parts cost alone, by process CPU time (the machine may be shared):
// HNSW inserts per CPU-second and recall@10 against an exact scan (300 of
// the corpora's queries, efSearch 64) at efConstruction 200 (the store's),
// 100 and 64 on one goroutine, and BM25 documents per CPU-second applied
// in one batch, in catch-up rounds of 2,048 and in rounds of 256. Compare
// with a CPU profile of `quarry bench scale --cpuprofile`.
func BenchmarkIndexerParts(b *testing.B) {
	n := 20_000
	if s := os.Getenv("QUARRY_INDEXER_CHUNKS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1000 {
			b.Fatalf("QUARRY_INDEXER_CHUNKS=%q: want a number of at least 1000", s)
		}
	}
	var sents, queries []string
	for _, name := range []string{"vaswani", "cranfield", "msmarco-5k"} {
		c, err := bench.LoadBEIR(shareddata.Path(b, filepath.Join("datasets", "ir", name)))
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range c.Corpus {
			sents = append(sents, strings.Split(d.Title+". "+d.Text, ". ")...)
		}
		for _, q := range c.Queries {
			queries = append(queries, q.Text)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	texts := make([]string, n)
	for i := range texts {
		var sb strings.Builder
		for sb.Len() < 550 {
			sb.WriteString(sents[r.IntN(len(sents))] + ". ")
		}
		texts[i] = sb.String()
	}
	ctx := context.Background()
	e := embed.NewLocal(0)
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		b.Fatal(err)
	}
	qv, err := e.Embed(ctx, queries[:min(300, len(queries))])
	if err != nil {
		b.Fatal(err)
	}
	dim := len(vecs[0])
	flat := ann.NewFlat(dim, ann.Cosine)
	for i, v := range vecs {
		flat.Add(uint64(i), v)
	}
	truth := make([]map[uint64]bool, len(qv))
	for i, q := range qv {
		res, _ := flat.Search(q, 10, nil)
		truth[i] = map[uint64]bool{}
		for _, x := range res {
			truth[i][x.ID] = true
		}
	}
	b.ResetTimer()
	for range b.N {
		for _, efc := range []int{200, 100, 64} {
			h := ann.NewHNSW(dim, ann.Config{EfConstruction: efc})
			cpu := cpuTime()
			for i, v := range vecs {
				if err := h.Add(uint64(i), v); err != nil {
					b.Fatal(err)
				}
			}
			cpu = cpuTime() - cpu
			hit := 0
			for i, q := range qv {
				res, _ := h.Search(q, 10, nil)
				for _, x := range res {
					if truth[i][x.ID] {
						hit++
					}
				}
			}
			tag := "efc" + strconv.Itoa(efc)
			b.ReportMetric(float64(n)/cpu.Seconds(), "hnsw-"+tag+"-inserts/cpu-s")
			b.ReportMetric(float64(hit)/float64(10*len(qv)), "hnsw-"+tag+"-recall@10")
		}
		for _, bs := range []int{n, 2048, 256} {
			ix, err := lexical.Open(b.TempDir(), lexical.Options{})
			if err != nil {
				b.Fatal(err)
			}
			cpu := cpuTime()
			seq := uint64(0)
			for i := 0; i < n; i += bs {
				docs := make([]lexical.Doc, 0, bs)
				for j := i; j < min(i+bs, n); j++ {
					docs = append(docs, lexical.Doc{ID: uint64(j + 1), Text: texts[j], Filename: "f.txt"})
				}
				seq++
				if err := ix.Apply(ctx, seq, docs, nil); err != nil {
					b.Fatal(err)
				}
			}
			for ix.PersistedSeq() < seq {
				time.Sleep(5 * time.Millisecond)
			}
			cpu = cpuTime() - cpu
			ix.Close()
			tag := "batch" + strconv.Itoa(bs)
			if bs == n {
				tag = "onebatch"
			}
			b.ReportMetric(float64(n)/cpu.Seconds(), "bm25-"+tag+"-docs/cpu-s")
		}
	}
}

// cpuTime returns the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
