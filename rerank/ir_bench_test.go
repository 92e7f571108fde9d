package rerank_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/ann"
	"github.com/quarrylabs/quarry/bench"
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

// irCollection is a loaded collection with each judged query's first-stage
// candidates (computed once: reranking is what is measured).
type irCollection struct {
	queries []irQuery
}

type irQuery struct {
	text   string
	judged map[string]int
	cands  []rerank.Candidate
}

type irResult struct {
	fused, reranked float64
	queries         int
	spent           time.Duration
}

func loadIR(b *testing.B, dir string) *irCollection {
	ctx := context.Background()
	col, err := bench.LoadBEIR(dir)
	if err != nil {
		b.Fatal(err)
	}
	ix, err := lexical.OpenMem(lexical.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	text := map[uint64]string{}
	add := make([]lexical.Doc, 0, len(col.Corpus))
	texts := make([]string, 0, len(col.Corpus))
	for _, d := range col.Corpus {
		id, err := strconv.ParseUint(d.ID, 10, 64)
		if err != nil {
			b.Skipf("non-numeric doc id %q", d.ID)
		}
		t := strings.TrimSpace(d.Title + "\n" + d.Text)
		text[id] = t
		add = append(add, lexical.Doc{ID: id, Text: t})
		texts = append(texts, t)
	}
	if err := ix.Apply(ctx, 1, add, nil); err != nil {
		b.Fatal(err)
	}
	emb := embed.NewLocal(0)
	vecs, err := emb.Embed(ctx, texts)
	if err != nil {
		b.Fatal(err)
	}
	exact := ann.NewFlat(emb.Identity().Dimensions, ann.Cosine)
	for i, d := range add {
		if err := exact.Add(d.ID, vecs[i]); err != nil {
			b.Fatal(err)
		}
	}
	c := &irCollection{}
	for _, q := range col.Queries {
		judged := col.Qrels[q.ID]
		if !hasRelevant(judged) {
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
		res, err := exact.Search(qv[0], 100, nil)
		if err != nil {
			b.Fatal(err)
		}
		dense := make([]rerank.Scored, len(res))
		for i, r := range res {
			dense[i] = rerank.Scored{ID: r.ID, Score: float64(1 - r.Distance)}
		}
		fused := rerank.Fuse(rerank.RRF, []rerank.List{{Items: dense}, {Items: lex}}, 0)
		fused = fused[:min(50, len(fused))]
		cands := make([]rerank.Candidate, len(fused))
		for i, f := range fused {
			cands[i] = rerank.Candidate{ID: f.ID, Text: text[f.ID], Score: f.Score}
		}
		c.queries = append(c.queries, irQuery{text: q.Text, judged: judged, cands: cands})
	}
	return c
}

func hasRelevant(judged map[string]int) bool {
	for _, g := range judged {
		if g >= 1 {
			return true
		}
	}
	return false
}

// eval returns the mean nDCG@10 (bench.NDCG10, trec_eval's graded
// definition) over judged queries before and after l.
func (c *irCollection) eval(b *testing.B, l rerank.Reranker) irResult {
	ctx := context.Background()
	var r irResult
	order := func(cands []rerank.Candidate) []string {
		ids := make([]string, len(cands))
		for i, c := range cands {
			ids[i] = strconv.FormatUint(c.ID, 10)
		}
		return ids
	}
	for _, q := range c.queries {
		r.fused += bench.NDCG10(order(q.cands), q.judged)
		start := time.Now()
		out, err := l.Rerank(ctx, q.text, q.cands)
		r.spent += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		r.reranked += bench.NDCG10(order(out), q.judged)
		r.queries++
	}
	r.fused /= float64(r.queries)
	r.reranked /= float64(r.queries)
	return r
}
