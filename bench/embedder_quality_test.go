package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/store"
)

// embedderCandidate is one offline embedder issue 20 compares.
type embedderCandidate struct {
	name string
	e    embed.Embedder
	size string
}

// embedderCandidates are the offline embedders issue 20 compares: the
// hashing embedder (hash-v3), the default (GloVe-SIF, int8, embedded in
// package embed: "default"), GloVe-SIF as a directory (float16 unless
// converted with -int8; when converted: see tools/convert-glove; -words
// changes how many words it keeps), USE-lite (when converted: see
// tools/convert-use) and, with QUARRY_EMBEDDER_QUALITY_STATIC=1, USE-lite's
// static distillation. QUARRY_EMBEDDER_QUALITY_EMBEDDERS=a,b keeps only
// those.
func embedderCandidates(t *testing.T) []embedderCandidate {
	local := embed.NewLocal(0)
	def := embed.NewDefault()
	out := []embedderCandidate{{local.Identity().Model, local, "0 (no file)"},
		{"default", def, "13 MB (int8, embedded: model.safetensors 10.8 MB + tokenizer.json 2.1 MB)"}}
	g := os.Getenv("QUARRY_GLOVE")
	if g == "" {
		g = filepath.Join("..", "embed", "testdata", "glove")
	}
	if st, err := os.Stat(filepath.Join(g, "model.safetensors")); err != nil {
		t.Logf("GloVe left out: %v (convert it with tools/convert-glove)", err)
	} else if m, err := embed.LoadModel2Vec(g); err != nil {
		t.Fatal(err)
	} else {
		out = append(out, embedderCandidate{"glove-sif", m, fmt.Sprintf("%.1f MB (model.safetensors)", float64(st.Size())/1e6)})
	}
	p := os.Getenv("QUARRY_USE_LITE")
	if p == "" {
		p = filepath.Join("..", "embed", "testdata", "uselite", "use-lite.safetensors")
	}
	if st, err := os.Stat(p); err != nil {
		t.Logf("USE-lite left out: %v (convert it with tools/convert-use)", err)
	} else if u, err := embed.LoadUSELite(p); err != nil {
		t.Fatal(err)
	} else {
		out = append(out, embedderCandidate{"use-lite", u, fmt.Sprintf("%.1f MB (float16)", float64(st.Size())/1e6)})
		if os.Getenv("QUARRY_EMBEDDER_QUALITY_STATIC") != "" {
			start := time.Now()
			s, err := embed.DistillUSELite(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("distilled USE-lite into a static model in %v", time.Since(start).Round(time.Second))
			out = append(out, embedderCandidate{"use-lite-static", s, fmt.Sprintf("%.1f MB (float16)", float64(s.Rows()*512*2)/1e6)})
		}
	}
	if v := os.Getenv("QUARRY_EMBEDDER_QUALITY_EMBEDDERS"); v != "" {
		keep := strings.Split(v, ",")
		out = slices.DeleteFunc(out, func(c embedderCandidate) bool { return !slices.Contains(keep, c.name) })
	}
	return out
}

// meteredEmbedder counts the bytes an embedder is given and the time it
// spends (summed over concurrent calls).
type meteredEmbedder struct {
	embed.Embedder
	bytes, nanos atomic.Int64
	skip         atomic.Bool // do not count (queries)
}

func (m *meteredEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	start := time.Now()
	v, err := m.Embedder.Embed(ctx, texts)
	if !m.skip.Load() {
		m.nanos.Add(int64(time.Since(start)))
		for _, t := range texts {
			m.bytes.Add(int64(len(t)))
		}
	}
	return v, err
}

// TestEmbedderQuality measures issue 20's table: dense-only and hybrid
// nDCG@10 of each offline embedder on vaswani, cranfield and msmarco-5k,
// through the store's own pipeline (chunking, BM25, normalized-score fusion,
// no reranker), at several embedding weights (text weight 1). It prints a
// Markdown table. USE-lite takes tens of CPU-minutes over the three
// collections, so the test runs only with QUARRY_EMBEDDER_QUALITY=1; set
// QUARRY_EMBEDDER_QUALITY_STATIC=1 to add the static distillation, and
// QUARRY_EMBEDDER_QUALITY_COLLECTIONS=a,b or QUARRY_EMBEDDER_QUALITY_EMBEDDERS=a,b
// to measure only some collections or embedders.
//
//	QUARRY_EMBEDDER_QUALITY=1 go test -run TestEmbedderQuality -v -timeout 3h ./bench
//
// It asserts what the measurement must show for the numbers to be
// meaningful: every embedder's dense ranking is far better than chance
// (nDCG@10 > 0.05) and BM25 is the same across embedders (within 0.002).
func TestEmbedderQuality(t *testing.T) {
	if os.Getenv("QUARRY_EMBEDDER_QUALITY") == "" {
		t.Skip("slow (USE-lite encodes every document): set QUARRY_EMBEDDER_QUALITY=1")
	}
	if raceEnabled {
		t.Skip("slow under -race")
	}
	weights := []float64{0.1, 0.2, 0.5, 1}
	var rows []string
	cands := embedderCandidates(t)
	collections := []string{"msmarco-5k", "cranfield", "vaswani"}
	if v := os.Getenv("QUARRY_EMBEDDER_QUALITY_COLLECTIONS"); v != "" {
		collections = strings.Split(v, ",")
	}
	for _, name := range collections {
		dir := shareddata.Path(t, "datasets/ir/"+name)
		c, err := LoadBEIR(dir)
		if err != nil {
			t.Fatal(err)
		}
		bm25 := -1.0
		for _, cand := range cands {
			ctx := context.Background()
			me := &meteredEmbedder{Embedder: cand.e}
			si, err := BuildSearchIndex(ctx, c, store.Options{Embedder: me, EmbedCache: store.CacheNever})
			if err != nil {
				t.Fatal(err)
			}
			me.skip.Store(true)
			only := func(e, tw float64) *store.HybridWeights {
				return &store.HybridWeights{EmbeddingWeight: e, TextWeight: tw}
			}
			configs := []SearchConfig{
				{Name: "bm25", Request: store.SearchRequest{Ranking: store.RankingOptions{Ranker: store.RankerNone, Hybrid: only(0, 1)}}},
				{Name: "dense", Request: store.SearchRequest{Ranking: store.RankingOptions{Ranker: store.RankerNone, Hybrid: only(1, 0)}}},
			}
			for _, w := range weights {
				configs = append(configs, SearchConfig{Name: fmt.Sprintf("hybrid@%g", w),
					Request: store.SearchRequest{Ranking: store.RankingOptions{Ranker: store.RankerNone, Hybrid: only(w, 1)}}})
			}
			res, err := RunSearch(ctx, c, si, configs)
			si.Close()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, r := range res {
				got[r.Config] = r.Metrics.NDCG10
			}
			// BM25 does not depend on the embedder; ingest order can move
			// ties and float sums by a hair.
			if bm25 >= 0 && math.Abs(got["bm25"]-bm25) > 0.002 {
				t.Errorf("%s: bm25 nDCG@10 %.4f with %s, %.4f with the first embedder", name, got["bm25"], cand.name, bm25)
			}
			bm25 = got["bm25"]
			if got["dense"] <= 0.05 {
				t.Errorf("%s/%s: dense nDCG@10 %.4f: no better than chance", name, cand.name, got["dense"])
			}
			speed := float64(me.bytes.Load()) / (float64(me.nanos.Load()) / 1e9) / 1e6
			row := fmt.Sprintf("| %s | %s | %.4f | %.4f |", name, cand.name, got["bm25"], got["dense"])
			for _, w := range weights {
				k := fmt.Sprintf("hybrid@%g", w)
				row += fmt.Sprintf(" %.4f (%+.4f) |", got[k], got[k]-got["bm25"])
			}
			row += fmt.Sprintf(" %.3f | %s |", speed, cand.size)
			t.Log(row)
			rows = append(rows, row)
		}
	}
	hdr := "| collection | embedder | BM25 | dense |"
	sep := "|---|---|---|---|"
	for _, w := range weights {
		hdr += fmt.Sprintf(" hybrid w=%g (Δ BM25) |", w)
		sep += "---|"
	}
	hdr += " embed MB/s (ingest, wall, summed over calls) | model size |"
	sep += "---|---|"
	table := strings.Join(append([]string{hdr, sep}, rows...), "\n")
	t.Log("\n" + table)
	if p := os.Getenv("QUARRY_EMBEDDER_QUALITY_OUT"); p != "" {
		if err := os.WriteFile(p, []byte(table+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
