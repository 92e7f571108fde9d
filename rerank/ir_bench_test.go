package rerank_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/lexical"
	"github.com/quarrylabs/quarry/rerank"
)

// BenchmarkLocalRerankIR measures the local reranker's effect on ranking
// quality on the shared IR collections: first stage = BM25 top 100 fused by
// RRF with the local embedder's dense top 100 (the store's hybrid default),
// then Local.Rerank of the top 50. It reports nDCG@10 of the fused and of the
// reranked order, and the reranking time per query (ns/op is the whole
// first stage plus reranking of every query).
//
//	go test ./rerank -run '^$' -bench LocalRerankIR -benchtime 1x
func BenchmarkLocalRerankIR(b *testing.B) {
	for _, name := range []string{"vaswani", "cranfield"} {
		b.Run(name, func(b *testing.B) {
			c := loadIR(b, shareddata.Path(b, "datasets/ir/"+name))
			l := rerank.NewLocal(rerank.LocalOptions{})
			var r irResult
			for b.Loop() {
				r = c.eval(b, l)
			}
			b.ReportMetric(r.fused, "nDCG@10-fused")
			b.ReportMetric(r.reranked, "nDCG@10-reranked")
			b.ReportMetric(float64(r.spent.Microseconds())/float64(r.queries), "µs/rerank")
		})
	}
}

type irDoc struct {
	ID    string `json:"_id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

func readJSONL[T any](b *testing.B, path string) []T {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			b.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// irCollection is a loaded collection with each judged query's first-stage
// candidates (computed once: reranking is what is measured).
type irCollection struct {
	queries []irQuery
}

type irQuery struct {
	text  string
	rel   map[uint64]bool
	cands []rerank.Candidate
}

type irResult struct {
	fused, reranked float64
	queries         int
	spent           time.Duration
}

func loadIR(b *testing.B, dir string) *irCollection {
	ctx := context.Background()
	docs := readJSONL[irDoc](b, filepath.Join(dir, "corpus.jsonl"))
	queries := readJSONL[irDoc](b, filepath.Join(dir, "queries.jsonl"))
	qrels := map[string]map[uint64]bool{}
	raw, err := os.ReadFile(filepath.Join(dir, "qrels.tsv"))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 3 || f[2] == "0" {
			continue
		}
		id, _ := strconv.ParseUint(f[1], 10, 64)
		if qrels[f[0]] == nil {
			qrels[f[0]] = map[uint64]bool{}
		}
		qrels[f[0]][id] = true
	}
	ix, err := lexical.OpenMem(lexical.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	text := map[uint64]string{}
	add := make([]lexical.Doc, 0, len(docs))
	for _, d := range docs {
		id, err := strconv.ParseUint(d.ID, 10, 64)
		if err != nil {
			b.Skipf("non-numeric doc id %q", d.ID)
		}
		t := strings.TrimSpace(d.Title + "\n" + d.Text)
		text[id] = t
		add = append(add, lexical.Doc{ID: id, Text: t})
	}
	if err := ix.Apply(ctx, 1, add, nil); err != nil {
		b.Fatal(err)
	}
	emb := embed.NewLocal(0)
	ids := make([]uint64, len(add))
	texts := make([]string, len(add))
	for i, d := range add {
		ids[i], texts[i] = d.ID, d.Text
	}
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		b.Fatal(err)
	}
	c := &irCollection{}
	for _, q := range queries {
		rel := qrels[q.ID]
		if len(rel) == 0 {
			continue
		}
		hits, err := ix.Search(ctx, q.Text, 100, nil)
		if err != nil {
			b.Fatal(err)
		}
		lex := make([]rerank.Scored, len(hits))
		for i, h := range hits {
			lex[i] = rerank.Scored{ID: h.ID, Score: h.Score}
		}
		qv, err := emb.Embed(ctx, []string{q.Text})
		if err != nil {
			b.Fatal(err)
		}
		dense := exactTop(qv[0], ids, vecs, 100)
		fused := rerank.Fuse(rerank.RRF, []rerank.List{{Items: dense}, {Items: lex}}, 0)
		fused = fused[:min(50, len(fused))]
		cands := make([]rerank.Candidate, len(fused))
		for i, f := range fused {
			cands[i] = rerank.Candidate{ID: f.ID, Text: text[f.ID], Score: f.Score}
		}
		c.queries = append(c.queries, irQuery{text: q.Text, rel: rel, cands: cands})
	}
	return c
}

// eval returns the mean nDCG@10 over judged queries before and after l.
func (c *irCollection) eval(b *testing.B, l rerank.Reranker) irResult {
	ctx := context.Background()
	var r irResult
	order := make([]uint64, 0, 50)
	for _, q := range c.queries {
		order = order[:0]
		for _, c := range q.cands {
			order = append(order, c.ID)
		}
		r.fused += ndcg10(order, q.rel)
		start := time.Now()
		out, err := l.Rerank(ctx, q.text, q.cands)
		r.spent += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		order = order[:0]
		for _, c := range out {
			order = append(order, c.ID)
		}
		r.reranked += ndcg10(order, q.rel)
		r.queries++
	}
	r.fused /= float64(r.queries)
	r.reranked /= float64(r.queries)
	return r
}

func exactTop(q []float32, ids []uint64, vecs [][]float32, k int) []rerank.Scored {
	all := make([]rerank.Scored, len(ids))
	for i, v := range vecs {
		var s float32
		for j := range q {
			s += q[j] * v[j]
		}
		all[i] = rerank.Scored{ID: ids[i], Score: float64(s)}
	}
	slices.SortFunc(all, func(a, b rerank.Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return all[:min(k, len(all))]
}

func ndcg10(order []uint64, rel map[uint64]bool) float64 {
	var dcg, idcg float64
	for i := 0; i < 10 && i < len(order); i++ {
		if rel[order[i]] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := 0; i < 10 && i < len(rel); i++ {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return dcg / idcg
}
