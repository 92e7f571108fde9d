package bench

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/lexical"
)

// BenchmarkIRQuery measures single-thread BM25 top-1000 queries on vaswani
// (one op = one query, cycling through the 93 queries).
func BenchmarkIRQuery(b *testing.B) {
	c, err := LoadBEIR(shareddata.Path(b, "datasets/ir/vaswani"))
	if err != nil {
		b.Fatal(err)
	}
	ix, err := lexical.OpenMem(lexical.Options{K1: 0.9, B: 0.4})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	docs := make([]lexical.Doc, len(c.Corpus))
	for i, d := range c.Corpus {
		docs[i] = lexical.Doc{ID: uint64(i), Text: d.Title + " " + d.Text}
	}
	if err := ix.Apply(context.Background(), 1, docs, nil); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := ix.Search(ctx, c.Queries[i%len(c.Queries)].Text, 1000, nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkIRVersusLucene runs lexical and Lucene 8 (Debian liblucene8-java
// and a JDK) on each collection at the reference configurations, one after
// the other in one run, and reports effectiveness and throughput side by
// side with their ratios. Run it with -benchtime=1x: one op is the whole
// comparison.
func BenchmarkIRVersusLucene(b *testing.B) {
	driver := shareddata.Path(b, "tools/lucene/IrRefLucene.java")
	if _, err := LuceneJars(); err != nil {
		b.Skip(err)
	}
	for _, coll := range []string{"vaswani", "cranfield"} {
		dir := shareddata.Path(b, filepath.Join("datasets/ir", coll))
		c, err := LoadBEIR(dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, cfg := range irConfigs {
			b.Run(coll+"/"+cfg.tag, func(b *testing.B) {
				var q, l, ql *IRResult
				for b.Loop() {
					ql, err = RunIR(context.Background(), c, IRConfig{K1: cfg.k1, B: cfg.b, LuceneLengths: true, Passes: 1})
					if err != nil {
						b.Fatal(err)
					}
					q, err = RunIR(context.Background(), c, IRConfig{K1: cfg.k1, B: cfg.b, Dir: filepath.Join(b.TempDir(), "idx")})
					if err != nil {
						b.Fatal(err)
					}
					l, err = RunLucene(context.Background(), c, dir, driver, b.TempDir(), cfg.k1, cfg.b)
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(q.Metrics.NDCG10, "nDCG@10")
				b.ReportMetric(l.Metrics.NDCG10, "lucene-nDCG@10")
				b.ReportMetric(ql.Metrics.NDCG10, "nDCG@10-lucene-lengths")
				b.ReportMetric(q.QueriesPerSecond(), "queries/s")
				b.ReportMetric(l.QueriesPerSecond(), "lucene-queries/s")
				b.ReportMetric(q.QueriesPerSecond()/l.QueriesPerSecond(), "qps-ratio")
				b.ReportMetric(q.DocsPerSecond(), "docs/s")
				b.ReportMetric(l.DocsPerSecond(), "lucene-docs/s")
				b.ReportMetric(q.DocsPerSecond()/l.DocsPerSecond(), "index-ratio")
				b.Logf("%s %s: quarry with Lucene's length rounding %+v", coll, cfg.tag, ql.Metrics)
				b.Logf("%s %s: quarry %+v index %.3fs query %.3fs; lucene %+v index %.3fs query %.3fs",
					coll, cfg.tag, q.Metrics, q.IndexSeconds, q.QuerySeconds, l.Metrics, l.IndexSeconds, l.QuerySeconds)
			})
		}
	}
}
