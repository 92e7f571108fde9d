package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/bench"
	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/store"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "run the benchmark harness against peers (hnswlib, Lucene)",
		subs: []*command{
			{
				name:    "ann",
				args:    "[flags]",
				summary: "HNSW recall and queries/s against hnswlib, on built-in or your .fvecs data",
				long: `Sweeps efSearch on each dataset, measuring recall@10 and single-thread
queries/s for quarry and (with Debian's python3-hnswlib) hnswlib with the same
M and efConstruction. The ratio is taken at equal recall: both curves are
interpolated at the same recall levels.

--data DIR reads any folder with base.fvecs and query.fvecs (TEXMEX format),
and ground truth from groundtruth.ivecs (or computes it exactly). The
synthetic-D datasets are seeded Gaussian clusters, not real embeddings.`,
				examples: []string{
					"quarry bench ann --data ../shared/datasets/ann/sift5k --plot ann.svg",
					"quarry bench ann --datasets sift5k,synthetic-768",
				},
				setup: setupBenchANN,
			},
			{
				name:    "ir",
				args:    "[flags]",
				summary: "BM25 quality and speed against Lucene 8, on the shared or your BEIR data",
				long: `--data DIR reads any BEIR folder: corpus.jsonl, queries.jsonl and qrels.tsv
(or qrels/test.tsv). Without --data, runs vaswani and cranfield from the shared
data folder (--shared).`,
				examples: []string{
					"quarry bench ir --lucene",
					"quarry bench ir --data ~/beir/scifact",
				},
				setup: setupBenchIR,
			},
			{
				name:    "search",
				args:    "[flags]",
				summary: "hybrid search quality and latency on the shared IR collections",
				examples: []string{
					"quarry bench search --collection cranfield",
				},
				setup: setupBenchSearch,
			},
			{
				name:    "report",
				args:    "[flags] [FILE]",
				summary: "write BENCHMARKS.md: every benchmark's tables and plots, in one run",
				examples: []string{
					"quarry bench report BENCHMARKS.md",
				},
				setup: setupBenchReport,
			},
			benchScaleCommand,
		},
	})
}

// sharedFlag adds --shared.
func sharedFlag(fs *flagSet) *string {
	return fs.String("shared", shareddata.Dir(), "the team's shared data `DIR`, holding datasets/ (default ../shared beside the repository, or $QUARRY_SHARED)")
}

// sharedDataset returns the path of a shared dataset, or an error that
// says how to point at it.
func sharedDataset(shared, rel string) (string, error) {
	if shared == "" {
		return "", fmt.Errorf("no shared data folder found for %s: pass --shared DIR (the folder holding datasets/), set $QUARRY_SHARED, or use --data DIR", rel)
	}
	p := filepath.Join(shared, rel)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s not found: pass --shared DIR (the folder holding datasets/), set $QUARRY_SHARED, or use --data DIR", p)
	}
	return p, nil
}

func setupBenchIR(fs *flagSet) runFunc {
	shared := sharedFlag(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON lines")
	var data stringList
	fs.Var(&data, "data", "a BEIR dataset `DIR` (repeatable); default vaswani and cranfield from --shared")
	k1 := fs.Float64("k1", 1.2, "BM25 `K1`")
	b := fs.Float64("b", 0.75, "BM25 `B`")
	lucene := fs.Bool("lucene", false, "run Lucene 8 side by side (needs Debian's liblucene8-java and a JDK)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return usagef(lookup(lookup(commands, "bench").subs, "ir"), "unexpected argument %q", args[0])
		}
		dirs := []string(data)
		if len(dirs) == 0 {
			for _, name := range []string{"vaswani", "cranfield"} {
				d, err := sharedDataset(*shared, filepath.Join("datasets", "ir", name))
				if err != nil {
					return err
				}
				dirs = append(dirs, d)
			}
		}
		for _, dir := range dirs {
			if err := bench.CheckBEIR(dir); err != nil {
				return err
			}
		}
		for _, dir := range dirs {
			r, l, err := runIRPair(ctx, dir, *k1, *b, *lucene, *shared)
			if err != nil {
				return err
			}
			name := filepath.Base(filepath.Clean(dir))
			irReport(e.stdout, *asJSON, "quarry", name, r)
			if l != nil {
				irReport(e.stdout, *asJSON, "lucene", name, l)
				if !*asJSON {
					fmt.Fprintf(e.stdout, "  ratio quarry/lucene: queries/s %.2fx, docs/s %.2fx (both index corpus.jsonl into a committed on-disk index)\n",
						r.QueriesPerSecond()/l.QueriesPerSecond(), r.DocsPerSecond()/l.DocsPerSecond())
				}
			}
		}
		return nil
	}
}

// runIRPair runs quarry's BM25 on the BEIR folder dir, indexing like the
// Lucene driver does (from the files on disk to a committed on-disk index),
// and Lucene too when asked.
func runIRPair(ctx context.Context, dir string, k1, b float64, lucene bool, shared string) (*bench.IRResult, *bench.IRResult, error) {
	work, err := os.MkdirTemp("", "quarry-ir-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(work)
	r, err := bench.RunIRFromFiles(ctx, dir, work, bench.IRConfig{K1: k1, B: b})
	if err != nil || !lucene {
		return r, nil, err
	}
	src, err := sharedDataset(shared, filepath.Join("tools", "lucene", "IrRefLucene.java"))
	if err != nil {
		return nil, nil, err
	}
	c, err := bench.LoadBEIR(dir)
	if err != nil {
		return nil, nil, err
	}
	l, err := bench.RunLucene(ctx, c, dir, src, filepath.Join(work, "lucene"), k1, b)
	return r, l, err
}

func setupBenchSearch(fs *flagSet) runFunc {
	shared := sharedFlag(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON lines")
	collection := fs.String("collection", "", "`NAME`: vaswani or cranfield (default both)")
	return func(ctx context.Context, e *env, args []string) error {
		names := []string{"cranfield", "vaswani"}
		if *collection != "" {
			names = []string{*collection}
		}
		for _, name := range names {
			c, res, lat, ingest, err := searchBench(ctx, *shared, name)
			if err != nil {
				return err
			}
			if *asJSON {
				json.NewEncoder(e.stdout).Encode(map[string]any{"collection": name, "results": res, "latency": lat})
				continue
			}
			fmt.Fprintf(e.stdout, "%s (%d docs, %d queries, ingested in %.1fs)\n", name, len(c.Corpus), len(c.Queries), ingest.Seconds())
			for _, r := range res {
				m := r.Metrics
				fmt.Fprintf(e.stdout, "  %-24s nDCG@10 %.4f  R@100 %.4f  MAP %.4f  MRR@10 %.4f\n", r.Config, m.NDCG10, m.Recall100, m.MAP, m.MRR10)
			}
			fmt.Fprintf(e.stdout, "  default pipeline latency: p50 %v  p90 %v  p99 %v (%d searches)\n", lat.P50, lat.P90, lat.P99, lat.N)
		}
		return nil
	}
}

func setupBenchANN(fs *flagSet) runFunc {
	shared := sharedFlag(fs)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var data stringList
	fs.Var(&data, "data", "a dataset `DIR` with base.fvecs and query.fvecs (repeatable)")
	datasets := fs.String("datasets", "", "built-in `NAMES`, comma-separated: sift5k (from --shared), synthetic-768, synthetic-1536, synthetic-D (default sift5k unless --data)")
	peer := fs.Bool("peer", true, "run hnswlib side by side (Debian's python3-hnswlib under /usr/bin/python3)")
	n := fs.Int("n", 0, "`N` vectors in the synthetic sets (default 100000)")
	plot := fs.String("plot", "", "write recall-QPS curves and latency distributions to `FILE`.svg")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return usagef(lookup(lookup(commands, "bench").subs, "ann"), "unexpected argument %q", args[0])
		}
		cfg := bench.ANNConfig{SharedDir: *shared, SyntheticN: *n, Log: e.stderr, DataDirs: data}
		switch {
		case *datasets != "":
			cfg.Datasets = strings.Split(*datasets, ",")
		case len(data) > 0:
			cfg.Datasets = []string{}
		default:
			cfg.Datasets = []string{"sift5k"}
		}
		for _, name := range cfg.Datasets {
			if name == "sift5k" {
				if _, err := sharedDataset(*shared, filepath.Join("datasets", "ann", "sift5k")); err != nil {
					return err
				}
			}
		}
		if *peer {
			cfg.Python = "/usr/bin/python3"
		}
		rep, err := bench.RunANN(ctx, cfg)
		if err != nil {
			return err
		}
		if *plot != "" {
			if err := bench.PlotANN(rep, *plot); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "wrote %s\n", *plot)
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(rep)
		}
		fmt.Fprint(e.stdout, rep.Markdown())
		return nil
	}
}

func irReport(w io.Writer, asJSON bool, engine, collection string, r *bench.IRResult) {
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

// searchBench builds a store from the shared IR collection name, runs the
// quality configurations and measures the default pipeline's latency (three
// passes over the queries): quarry bench search and bench report.
func searchBench(ctx context.Context, shared, name string) (*bench.BEIR, []bench.SearchResult, bench.Latency, time.Duration, error) {
	var lat bench.Latency
	dir, err := sharedDataset(shared, filepath.Join("datasets", "ir", name))
	if err != nil {
		return nil, nil, lat, 0, err
	}
	c, err := bench.LoadBEIR(dir)
	if err != nil {
		return nil, nil, lat, 0, err
	}
	si, err := bench.BuildSearchIndex(ctx, c, store.Options{})
	if err != nil {
		return nil, nil, lat, 0, err
	}
	defer si.Close()
	res, err := bench.RunSearch(ctx, c, si, bench.DefaultSearchConfigs())
	if err != nil {
		return nil, nil, lat, 0, err
	}
	var queries []string
	for _, q := range c.Queries {
		queries = append(queries, q.Text)
	}
	lat, err = bench.MeasureLatency(ctx, si.VS, queries, store.SearchRequest{MaxResults: 10}, 3)
	return c, res, lat, si.Ingest, err
}
