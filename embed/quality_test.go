package embed

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

// hashV1 is the first version of the local embedder, kept here to measure
// hash-v2 against it.
type hashV1 struct{ dim int }

func (l hashV1) Identity() Identity { return Identity{"local", "hash-v1", l.dim} }

func (l hashV1) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, text := range texts {
		v := make([]float32, l.dim)
		add := func(feat string, w float32) {
			h := uint64(fnvOffset)
			for i := 0; i < len(feat); i++ {
				h = (h ^ uint64(feat[i])) * fnvPrime
			}
			if h>>63 == 1 {
				w = -w
			}
			v[int(h%uint64(l.dim))] += w
		}
		words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r)
		})
		for _, w := range words {
			add("w:"+w, 1)
			r := []rune(" " + w + " ")
			for i := 0; i+3 <= len(r); i++ {
				add("g:"+string(r[i:i+3]), 0.5)
			}
		}
		normalize(v, true)
		out[i] = v
	}
	return out, nil
}

type irSet struct {
	docIDs  []string
	docs    []string
	queries map[string]string
	qrels   map[string]map[string]float64
}

func loadIR(tb testing.TB, name string) irSet {
	dir := shareddata.Path(tb, filepath.Join("datasets/ir", name))
	var s irSet
	s.queries = map[string]string{}
	s.qrels = map[string]map[string]float64{}
	readJSONL := func(file string, fn func(id, text string)) {
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var r struct {
				ID    string `json:"_id"`
				Title string `json:"title"`
				Text  string `json:"text"`
			}
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				tb.Fatal(err)
			}
			fn(r.ID, strings.TrimSpace(r.Title+"\n"+r.Text))
		}
	}
	readJSONL("corpus.jsonl", func(id, text string) { s.docIDs = append(s.docIDs, id); s.docs = append(s.docs, text) })
	readJSONL("queries.jsonl", func(id, text string) { s.queries[id] = text })
	b, err := os.ReadFile(filepath.Join(dir, "qrels.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Split(line, "\t")
		if i == 0 || len(f) < 3 {
			continue
		}
		g, _ := strconv.ParseFloat(f[2], 64)
		if s.qrels[f[0]] == nil {
			s.qrels[f[0]] = map[string]float64{}
		}
		s.qrels[f[0]][f[1]] = g
	}
	return s
}

// ndcg10 embeds the corpus and the queries with e, ranks by exact cosine and
// returns the mean nDCG@10 over the judged queries.
func ndcg10(tb testing.TB, e Embedder, s irSet) float64 {
	ctx := context.Background()
	dv, err := e.Embed(ctx, s.docs)
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	var n int
	for qid, rel := range s.qrels {
		q, ok := s.queries[qid]
		if !ok {
			continue
		}
		qv, err := e.Embed(ctx, []string{q})
		if err != nil {
			tb.Fatal(err)
		}
		idx := make([]int, len(dv))
		sc := make([]float64, len(dv))
		for i := range dv {
			idx[i] = i
			sc[i] = cosine(qv[0], dv[i])
		}
		sort.Slice(idx, func(a, b int) bool { return sc[idx[a]] > sc[idx[b]] })
		var dcg, idcg float64
		for r := 0; r < 10 && r < len(idx); r++ {
			dcg += rel[s.docIDs[idx[r]]] / math.Log2(float64(r+2))
		}
		var gains []float64
		for _, g := range rel {
			gains = append(gains, g)
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(gains)))
		for r := 0; r < 10 && r < len(gains); r++ {
			idcg += gains[r] / math.Log2(float64(r+2))
		}
		if idcg > 0 {
			sum += dcg / idcg
			n++
		}
	}
	return sum / float64(n)
}

// BenchmarkLocalQuality reports nDCG@10 of exact cosine search on the shared
// IR sets for hash-v1 and hash-v2 (run with -benchtime 1x).
func BenchmarkLocalQuality(b *testing.B) {
	for _, set := range []string{"vaswani", "cranfield"} {
		s := loadIR(b, set)
		for _, e := range []Embedder{hashV1{DefaultLocalDimensions}, NewLocal(0)} {
			b.Run(set+"/"+e.Identity().Model, func(b *testing.B) {
				var v float64
				for b.Loop() {
					v = ndcg10(b, e, s)
				}
				b.ReportMetric(v, "nDCG@10")
			})
		}
	}
}
