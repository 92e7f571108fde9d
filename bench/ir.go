package bench

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/lexical"
)

// BEIRDoc is one corpus.jsonl record.
type BEIRDoc struct {
	ID    string `json:"_id"`
	Title string `json:"title"`
	Text  string `json:"text"`
}

// BEIRQuery is one queries.jsonl record.
type BEIRQuery struct {
	ID   string `json:"_id"`
	Text string `json:"text"`
}

// BEIR is a collection in BEIR layout: corpus.jsonl, queries.jsonl and
// qrels.tsv (or qrels/test.tsv) in one folder.
type BEIR struct {
	Name    string
	Corpus  []BEIRDoc
	Queries []BEIRQuery
	Qrels   Qrels
}

// LoadBEIR reads the collection in dir.
func LoadBEIR(dir string) (*BEIR, error) {
	c := &BEIR{Name: filepath.Base(dir)}
	if err := readJSONL(filepath.Join(dir, "corpus.jsonl"), func(b []byte) error {
		var d BEIRDoc
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		c.Corpus = append(c.Corpus, d)
		return nil
	}); err != nil {
		return nil, err
	}
	if err := readJSONL(filepath.Join(dir, "queries.jsonl"), func(b []byte) error {
		var q BEIRQuery
		if err := json.Unmarshal(b, &q); err != nil {
			return err
		}
		c.Queries = append(c.Queries, q)
		return nil
	}); err != nil {
		return nil, err
	}
	qp := filepath.Join(dir, "qrels.tsv")
	if _, err := os.Stat(qp); errors.Is(err, os.ErrNotExist) {
		qp = filepath.Join(dir, "qrels", "test.tsv")
	}
	q, err := ReadQrels(qp)
	if err != nil {
		return nil, err
	}
	c.Qrels = q
	return c, nil
}

func readJSONL(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if err := fn(b); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	return sc.Err()
}

// ReadQrels reads judgments as "qid docid grade" or "qid 0 docid grade"
// lines (tab or space separated), skipping a BEIR "query-id" header.
func ReadQrels(path string) (Qrels, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	q := Qrels{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s := sc.Text()
		if strings.TrimSpace(s) == "" || (line == 1 && strings.HasPrefix(s, "query-id")) {
			continue
		}
		p := strings.Fields(s)
		var qid, did, g string
		switch len(p) {
		case 3:
			qid, did, g = p[0], p[1], p[2]
		case 4:
			qid, did, g = p[0], p[2], p[3]
		default:
			return nil, fmt.Errorf("%s:%d: bad qrels line %q", path, line, s)
		}
		grade, err := strconv.ParseFloat(g, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: bad grade %q", path, line, g)
		}
		if q[qid] == nil {
			q[qid] = map[string]int{}
		}
		q[qid][did] = int(grade)
	}
	return q, sc.Err()
}

// ReadRun reads a TREC run file (qid Q0 docid rank score tag), gzipped when
// the name ends in .gz.
func ReadRun(path string) (Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	run := Run{}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		p := strings.Fields(sc.Text())
		if len(p) == 0 {
			continue
		}
		if len(p) != 6 {
			return nil, fmt.Errorf("%s:%d: bad run line", path, line)
		}
		s, err := strconv.ParseFloat(p[4], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: bad score %q", path, line, p[4])
		}
		run[p[0]] = append(run[p[0]], Scored{DocID: p[2], Score: s})
	}
	return run, sc.Err()
}

// WriteRun writes run in TREC format, each query's documents in Ranking
// order, queries sorted by ID.
func WriteRun(w io.Writer, run Run, tag string) error {
	bw := bufio.NewWriter(w)
	qids := make([]string, 0, len(run))
	for q := range run {
		qids = append(qids, q)
	}
	slices.Sort(qids)
	for _, q := range qids {
		docs := slices.Clone(run[q])
		score := make(map[string]float64, len(docs))
		for _, d := range docs {
			if _, ok := score[d.DocID]; !ok {
				score[d.DocID] = d.Score
			}
		}
		for i, id := range Ranking(docs) {
			fmt.Fprintf(bw, "%s Q0 %s %d %s %s\n", q, id, i+1, strconv.FormatFloat(score[id], 'g', -1, 64), tag)
		}
	}
	return bw.Flush()
}

// IRConfig configures RunIR.
type IRConfig struct {
	// K1 and B are BM25's parameters; zero means lexical's defaults.
	K1, B float64
	// Depth is how many documents each query retrieves. The default is
	// 1000, the depth of MAP.
	Depth int
	// Dir, when set, holds a persistent index (created fresh; it must be
	// missing or empty) and indexing time includes closing it, which waits
	// for the index to reach disk. Empty means an in-memory index.
	Dir string
	// Passes is how many timed passes over all queries follow one untimed
	// warm-up pass; QuerySeconds is the median. The default is 3.
	Passes int
	// BatchSize is the number of documents per Apply. The default is the
	// whole collection in one batch, which makes one index segment, as the
	// Lucene reference driver does (it buffers up to 512 MB before its one
	// flush). Smaller batches leave an in-memory index with one segment
	// per batch (no merger runs without a directory), which slows queries.
	BatchSize int
	// LuceneLengths rounds document lengths as Lucene 8 does
	// (lexical.Options.LuceneLengths).
	LuceneLengths bool
}

// IRResult is what RunIR measured.
type IRResult struct {
	Collection   string
	Docs         int
	Queries      int
	Metrics      Metrics
	IndexSeconds float64 // corpus already in memory → index ready to search
	QuerySeconds float64 // all queries once, one goroutine, median pass
	Run          Run
}

// QueriesPerSecond is single-thread query throughput.
func (r *IRResult) QueriesPerSecond() float64 { return float64(r.Queries) / r.QuerySeconds }

// DocsPerSecond is indexing throughput.
func (r *IRResult) DocsPerSecond() float64 { return float64(r.Docs) / r.IndexSeconds }

// RunIR indexes a BEIR collection with lexical (title and text in one
// field, as the reference runs do), runs every query as a bag of words,
// and evaluates the run against the collection's judgments.
func RunIR(ctx context.Context, c *BEIR, cfg IRConfig) (*IRResult, error) {
	if cfg.Depth <= 0 {
		cfg.Depth = 1000
	}
	if cfg.Passes <= 0 {
		cfg.Passes = 3
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = max(1, len(c.Corpus))
	}
	opts := lexical.Options{K1: cfg.K1, B: cfg.B, LuceneLengths: cfg.LuceneLengths}
	docs := make([]lexical.Doc, len(c.Corpus))
	for i, d := range c.Corpus {
		docs[i] = lexical.Doc{ID: uint64(i), Text: d.Title + " " + d.Text}
	}

	open := func() (*lexical.Index, error) {
		if cfg.Dir == "" {
			return lexical.OpenMem(opts)
		}
		return lexical.Open(cfg.Dir, opts)
	}
	start := time.Now()
	ix, err := open()
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(docs); i += cfg.BatchSize {
		if err := ix.Apply(ctx, uint64(i/cfg.BatchSize+1), docs[i:min(i+cfg.BatchSize, len(docs))], nil); err != nil {
			ix.Close()
			return nil, err
		}
	}
	if cfg.Dir != "" {
		if err := ix.Close(); err != nil {
			return nil, err
		}
	}
	indexSeconds := time.Since(start).Seconds()
	if cfg.Dir != "" {
		if ix, err = open(); err != nil {
			return nil, err
		}
	}
	defer ix.Close()

	res := &IRResult{Collection: c.Name, Docs: len(docs), Queries: len(c.Queries), IndexSeconds: indexSeconds}
	hits := make([][]lexical.Hit, len(c.Queries))
	pass := func() (float64, error) {
		t0 := time.Now()
		for i, q := range c.Queries {
			h, err := ix.Search(ctx, q.Text, cfg.Depth, nil)
			if err != nil {
				return 0, fmt.Errorf("query %s: %w", q.ID, err)
			}
			hits[i] = h
		}
		return time.Since(t0).Seconds(), nil
	}
	if _, err := pass(); err != nil {
		return nil, err
	}
	times := make([]float64, cfg.Passes)
	for p := range times {
		if times[p], err = pass(); err != nil {
			return nil, err
		}
	}
	slices.Sort(times)
	res.QuerySeconds = times[len(times)/2]

	res.Run = make(Run, len(c.Queries))
	for i, q := range c.Queries {
		list := make([]Scored, len(hits[i]))
		for j, h := range hits[i] {
			list[j] = Scored{DocID: c.Corpus[h.ID].ID, Score: h.Score}
		}
		res.Run[q.ID] = list
	}
	res.Metrics = Evaluate(c.Qrels, res.Run)
	return res, nil
}
