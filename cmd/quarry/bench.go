package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/quarrylabs/quarry/bench"
	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/store"
)

const benchUsage = `Usage:
  quarry bench ir [--shared DIR] [--k1 1.2 --b 0.75] [--lucene]   BM25 quality and speed (vs Lucene 8)
  quarry bench search [--shared DIR] [--collection NAME]          hybrid search quality and latency
  quarry bench ann [--shared DIR] [--datasets sift5k,synthetic-768] [--peer]   HNSW vs hnswlib
`

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: name a benchmark")
	}
	fs := flag.NewFlagSet("bench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	shared := fs.String("shared", shareddata.Dir(), "the shared data folder (holding datasets/)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	switch args[0] {
	case "ir":
		k1 := fs.Float64("k1", 1.2, "BM25 k1")
		b := fs.Float64("b", 0.75, "BM25 b")
		lucene := fs.Bool("lucene", false, "run Lucene 8 side by side (needs liblucene8-java and a JDK)")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		for _, name := range []string{"vaswani", "cranfield"} {
			dir := filepath.Join(*shared, "datasets", "ir", name)
			c, err := bench.LoadBEIR(dir)
			if err != nil {
				return err
			}
			r, err := bench.RunIR(ctx, c, bench.IRConfig{K1: *k1, B: *b})
			if err != nil {
				return err
			}
			report(stdout, *asJSON, "quarry", name, r)
			if *lucene {
				work, err := os.MkdirTemp("", "quarry-lucene-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(work)
				l, err := bench.RunLucene(ctx, c, dir, filepath.Join(*shared, "tools", "lucene", "IrRefLucene.java"), work, *k1, *b)
				if err != nil {
					return err
				}
				report(stdout, *asJSON, "lucene", name, l)
				if !*asJSON {
					fmt.Fprintf(stdout, "  ratio quarry/lucene: queries/s %.2fx, docs/s %.2fx\n",
						r.QueriesPerSecond()/l.QueriesPerSecond(), r.DocsPerSecond()/l.DocsPerSecond())
				}
			}
		}
		return nil
	case "search":
		collection := fs.String("collection", "", "vaswani or cranfield (default both)")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		names := []string{"cranfield", "vaswani"}
		if *collection != "" {
			names = []string{*collection}
		}
		for _, name := range names {
			c, err := bench.LoadBEIR(filepath.Join(*shared, "datasets", "ir", name))
			if err != nil {
				return err
			}
			si, err := bench.BuildSearchIndex(ctx, c, store.Options{})
			if err != nil {
				return err
			}
			res, err := bench.RunSearch(ctx, c, si, bench.DefaultSearchConfigs())
			if err != nil {
				si.Close()
				return err
			}
			var queries []string
			for _, q := range c.Queries {
				queries = append(queries, q.Text)
			}
			lat, err := bench.MeasureLatency(ctx, si.VS, queries, store.SearchRequest{MaxResults: 10}, 3)
			si.Close()
			if err != nil {
				return err
			}
			if *asJSON {
				json.NewEncoder(stdout).Encode(map[string]any{"collection": name, "results": res, "latency": lat})
				continue
			}
			fmt.Fprintf(stdout, "%s (%d docs, %d queries, ingested in %.1fs)\n", name, len(c.Corpus), len(c.Queries), si.Ingest.Seconds())
			for _, r := range res {
				m := r.Metrics
				fmt.Fprintf(stdout, "  %-24s nDCG@10 %.4f  R@100 %.4f  MAP %.4f  MRR@10 %.4f\n", r.Config, m.NDCG10, m.Recall100, m.MAP, m.MRR10)
			}
			fmt.Fprintf(stdout, "  hybrid+rerank latency: p50 %v  p90 %v  p99 %v (%d searches)\n", lat.P50, lat.P90, lat.P99, lat.N)
		}
		return nil
	case "ann":
		datasets := fs.String("datasets", "sift5k", "comma-separated: sift5k, synthetic-768, synthetic-1536")
		peer := fs.Bool("peer", true, "run hnswlib side by side (Debian python3-hnswlib, /usr/bin/python3)")
		n := fs.Int("n", 0, "size of the synthetic sets (default 100,000)")
		if _, err := parseInterspersed(fs, args[1:]); err != nil {
			return err
		}
		cfg := bench.ANNConfig{Datasets: strings.Split(*datasets, ","), SharedDir: *shared, SyntheticN: *n, Log: stderr}
		if *peer {
			cfg.Python = "/usr/bin/python3"
		}
		rep, err := bench.RunANN(ctx, cfg)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(rep)
		}
		fmt.Fprint(stdout, rep.Markdown())
		return nil
	}
	fmt.Fprint(stderr, benchUsage)
	return fmt.Errorf("bench: unknown benchmark %q", args[0])
}

func report(w io.Writer, asJSON bool, engine, collection string, r *bench.IRResult) {
	if asJSON {
		json.NewEncoder(w).Encode(map[string]any{
			"engine": engine, "collection": collection, "metrics": r.Metrics,
			"queries_per_second": r.QueriesPerSecond(), "docs_per_second": r.DocsPerSecond(),
		})
		return
	}
	m := r.Metrics
	fmt.Fprintf(w, "%-7s %-10s nDCG@10 %.4f  R@100 %.4f  MAP %.4f  MRR@10 %.4f  %.0f queries/s  %.0f docs/s\n",
		engine, collection, m.NDCG10, m.Recall100, m.MAP, m.MRR10, r.QueriesPerSecond(), r.DocsPerSecond())
}
