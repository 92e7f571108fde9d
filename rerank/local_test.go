package rerank

import (
	"context"
	"errors"
	"fmt"
	"github.com/quarrylabs/quarry/internal/analysis"
	"math/rand/v2"
	"strings"
	"testing"
)

func ids(cs []Candidate) []uint64 {
	out := make([]uint64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func filler(n int, seed uint64) string {
	words := []string{"lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "tempor", "incididunt", "labore", "magna", "aliqua"}
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

func TestLocalOrdering(t *testing.T) {
	ctx := context.Background()
	f := func(n int) string { return filler(n, uint64(n)) }
	tests := []struct {
		name  string
		query string
		cands []Candidate
		want  []uint64
	}{
		{
			name:  "close together beats scattered beats partial",
			query: "How does neural network training work?",
			cands: []Candidate{
				{ID: 1, Score: 0.5, Text: f(30) + " neural " + f(40) + " training " + f(40) + " networks " + f(20)},
				{ID: 2, Score: 0.5, Text: f(20) + " neural " + f(60)},
				{ID: 3, Score: 0.5, Text: f(30) + " We describe Neural Network Training on GPUs. " + f(30)},
				{ID: 4, Score: 0.5, Text: f(100)},
			},
			want: []uint64{3, 1, 2, 4},
		},
		{
			name:  "stemming matches inflections",
			query: "indexing documents",
			cands: []Candidate{
				{ID: 1, Score: 0.5, Text: f(10) + " the document " + f(10)},
				{ID: 2, Score: 0.5, Text: f(10) + " index the documents " + f(10)},
				{ID: 3, Score: 0.5, Text: f(10) + " indexes documented " + f(10)},
			},
			want: []uint64{3, 2, 1},
		},
		{
			name:  "phrase in order beats reversed",
			query: "vector store",
			cands: []Candidate{
				{ID: 1, Score: 0.5, Text: f(10) + " store vector " + f(10)},
				{ID: 2, Score: 0.5, Text: f(10) + " vector store " + f(10)},
			},
			want: []uint64{2, 1},
		},
		{
			name:  "phrase slop tolerates stop words",
			query: "state art",
			cands: []Candidate{
				{ID: 1, Score: 0.5, Text: f(10) + " art " + f(3) + " state " + f(10)},
				{ID: 2, Score: 0.5, Text: f(10) + " state of the art " + f(10)},
			},
			want: []uint64{2, 1},
		},
		{
			name:  "first stage decides without lexical evidence",
			query: "the of and",
			cands: []Candidate{
				{ID: 1, Score: 0.2, Text: "the of and"},
				{ID: 2, Score: 0.9, Text: f(5)},
			},
			want: []uint64{2, 1},
		},
		{
			name:  "headings and filename count",
			query: "kubernetes deployment",
			cands: []Candidate{
				{ID: 1, Score: 0.5, Text: f(10) + " deployment " + f(10)},
				{ID: 2, Score: 0.5, Text: f(10) + " deployment " + f(10), Headings: []string{"Guide", "Kubernetes"}},
			},
			want: []uint64{2, 1},
		},
		{
			name:  "ties keep first-stage order",
			query: "zebra",
			cands: []Candidate{
				{ID: 9, Score: 0.5, Text: "x"},
				{ID: 3, Score: 0.5, Text: "y"},
			},
			want: []uint64{9, 3},
		},
		{
			name:  "non-english exact matching",
			query: "Größe Straße",
			cands: []Candidate{
				{ID: 1, Score: 0.5, Text: "die strasse"},
				{ID: 2, Score: 0.5, Text: "die GRÖSSE der STRASSE"},
				{ID: 3, Score: 0.5, Text: "die Größe der Straße"},
			},
			want: []uint64{3, 1, 2},
		},
	}
	l := NewLocal(LocalOptions{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]Candidate(nil), tc.cands...)
			got, err := l.Rerank(ctx, tc.query, in)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) {
				t.Fatalf("Rerank(%q) = %v, want %v (scores %v)", tc.query, ids(got), tc.want, scores(got))
			}
			for i, c := range got {
				if c.Score < 0 || c.Score > 1 || i > 0 && c.Score > got[i-1].Score {
					t.Fatalf("scores %v not non-increasing in 0..1", scores(got))
				}
			}
			for i := range in {
				if in[i].Score != tc.cands[i].Score || in[i].ID != tc.cands[i].ID {
					t.Fatalf("input modified")
				}
			}
		})
	}
}

func scores(cs []Candidate) []float64 {
	out := make([]float64, len(cs))
	for i, c := range cs {
		out[i] = c.Score
	}
	return out
}

func TestLocalScoreValues(t *testing.T) {
	// Hand-computed: query terms {neural, network}, one pair.
	// Text "neural network": coverage 1, proximity 1, phrase 1, metadata 0.
	// Score = (0.5*0.4 + 0.3 + 0.1 + 0.2 + 0) / (0.5+0.3+0.1+0.2+0.05) = 0.8/1.15.
	l := NewLocal(LocalOptions{})
	got, err := l.Rerank(context.Background(), "neural network", []Candidate{{ID: 1, Score: 0.4, Text: "Neural networks!"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.8 / 1.15; !approx(got[0].Score, want) {
		t.Fatalf("score = %v, want %v", got[0].Score, want)
	}
	// "neural x x network": coverage 1, window 4 → proximity 2/4, phrase 1
	// (gap of 2 tokens <= slop 2). Score = (0.2+0.3+0.05+0.2)/1.15.
	got, _ = l.Rerank(context.Background(), "neural network", []Candidate{{ID: 1, Score: 0.4, Text: "neural aa bb network"}})
	if want := 0.75 / 1.15; !approx(got[0].Score, want) {
		t.Fatalf("score = %v, want %v", got[0].Score, want)
	}
	// Only the first stage, other features off.
	l2 := NewLocal(LocalOptions{CoverageWeight: -1, ProximityWeight: -1, PhraseWeight: -1, MetadataWeight: -1})
	got, _ = l2.Rerank(context.Background(), "neural network", []Candidate{{ID: 1, Score: 0.4, Text: "neural network"}})
	if !approx(got[0].Score, 0.4) {
		t.Fatalf("first-stage only score = %v, want 0.4", got[0].Score)
	}
}

func TestLocalVector(t *testing.T) {
	l := NewLocal(LocalOptions{})
	q := []float32{1, 0}
	cands := []Candidate{
		{ID: 1, Score: 0.5, Text: "a", FullVector: []float32{0, 1}},
		{ID: 2, Score: 0.5, Text: "a", FullVector: []float32{3, 0.1}},
		{ID: 3, Score: 0.5, Text: "a", FullVector: []float32{1}}, // wrong length: ignored
	}
	got, err := l.RerankWithVector(context.Background(), "zzz", q, cands)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got)[0] != 2 {
		t.Fatalf("RerankWithVector = %v (%v), want 2 first", ids(got), scores(got))
	}
	var _ VectorReranker = l
}

func TestLocalMMR(t *testing.T) {
	cands := []Candidate{
		{ID: 1, Score: 0.9, Text: "x", Vector: []float32{1, 0}},
		{ID: 2, Score: 0.89, Text: "x", Vector: []float32{1, 0.01}}, // near duplicate of 1
		{ID: 3, Score: 0.8, Text: "x", Vector: []float32{0, 1}},
	}
	plain, _ := NewLocal(LocalOptions{}).Rerank(context.Background(), "q", cands)
	if fmt.Sprint(ids(plain)) != "[1 2 3]" {
		t.Fatalf("without MMR = %v", ids(plain))
	}
	div, _ := NewLocal(LocalOptions{MMRLambda: 0.5}).Rerank(context.Background(), "q", cands)
	if fmt.Sprint(ids(div)) != "[1 3 2]" {
		t.Fatalf("with MMR = %v, want [1 3 2]", ids(div))
	}
	for i := 1; i < len(div); i++ {
		if div[i].Score > div[i-1].Score {
			t.Fatalf("MMR scores increase: %v", scores(div))
		}
	}
}

func TestLocalContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewLocal(LocalOptions{}).Rerank(ctx, "q", []Candidate{{ID: 1}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Rerank on cancelled ctx = %v", err)
	}
	got, err := NewLocal(LocalOptions{}).Rerank(context.Background(), "q", nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("Rerank(nil) = %v, %v", got, err)
	}
}

func TestLocalOptions(t *testing.T) {
	o := LocalOptions{}
	o.EnsureDefaults()
	if o.FirstStageWeight != DefaultFirstStageWeight || o.PhraseSlop != DefaultPhraseSlop || o.MaxQueryTerms != DefaultMaxQueryTerms {
		t.Fatalf("defaults = %+v", o)
	}
	err := LocalOptions{MMRLambda: 2, MaxQueryTerms: 100}.Validate()
	if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), "MMRLambda") || !strings.Contains(err.Error(), "MaxQueryTerms") {
		t.Fatalf("Validate = %v, want both problems", err)
	}
	if err := (LocalOptions{}).Validate(); err != nil {
		t.Fatalf("Validate(zero) = %v", err)
	}
}

func TestTokenizer(t *testing.T) {
	var tk analysis.Scanner
	tk.Reset("Hello, WORLD! naïve café-au-lait 42x\tÜber")
	var got []string
	for {
		b, ok := tk.Next()
		if !ok {
			break
		}
		got = append(got, string(b))
	}
	want := "[hello world naive cafe au lait 42x uber]"
	if fmt.Sprint(got) != want {
		t.Fatalf("tokens = %v, want %v", got, want)
	}
}

func FuzzLocal(f *testing.F) {
	f.Add("neural network", "a neural network b")
	f.Add("ÿ\xff", "\xff\xfe")
	l := NewLocal(LocalOptions{MMRLambda: 0.7})
	f.Fuzz(func(t *testing.T, q, text string) {
		cands := []Candidate{{ID: 1, Text: text, Score: 0.3}, {ID: 2, Text: q, Score: 0.6, Headings: []string{text}}}
		got, err := l.Rerank(context.Background(), q, cands)
		if err != nil || len(got) != 2 || got[0].ID == got[1].ID {
			t.Fatalf("Rerank = %v, %v", got, err)
		}
		for _, c := range got {
			if !(c.Score >= 0 && c.Score <= 1) {
				t.Fatalf("score %v", c.Score)
			}
		}
	})
}

func benchCands(n int) []Candidate {
	cands := make([]Candidate, n)
	for i := range cands {
		// ~800-token chunks, the default chunk size, with some query terms.
		text := filler(300, uint64(i)) + " hybrid search with reciprocal rank fusion " + filler(250, uint64(i+1000)) + " ranking " + filler(200, uint64(i+2000))
		cands[i] = Candidate{ID: uint64(i), Text: text, Score: 1 - float64(i)/float64(n), Headings: []string{"Search", "Ranking"}, Filename: "guide.md"}
	}
	return cands
}

func BenchmarkLocalRerank(b *testing.B) {
	for _, n := range []int{50, 100} {
		b.Run(fmt.Sprintf("cands=%d", n), func(b *testing.B) {
			cands := benchCands(n)
			l := NewLocal(LocalOptions{})
			ctx := context.Background()
			size := 0
			for _, c := range cands {
				size += len(c.Text)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Rerank(ctx, "how does reciprocal rank fusion improve hybrid search ranking?", cands); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/query")
		})
	}
}

func TestLocalMaxTextBytes(t *testing.T) {
	cands := []Candidate{
		{ID: 1, Score: 0.5, Text: "nothing here at first, later: zebra"},
		{ID: 2, Score: 0.5, Text: "some text"},
	}
	got, _ := NewLocal(LocalOptions{}).Rerank(context.Background(), "zebra", cands)
	if ids(got)[0] != 1 {
		t.Fatalf("Rerank = %v, want 1 first", ids(got))
	}
	got, _ = NewLocal(LocalOptions{MaxTextBytes: 10}).Rerank(context.Background(), "zebra", cands)
	if fmt.Sprint(ids(got)) != "[1 2]" || got[0].Score != got[1].Score {
		t.Fatalf("Rerank(MaxTextBytes 10) = %v %v, want a tie: zebra is past the limit", ids(got), scores(got))
	}
}

func TestLocalTermRarity(t *testing.T) {
	cands := []Candidate{
		{ID: 1, Score: 0.5, Text: "the cat sat"},
		{ID: 2, Score: 0.5, Text: "a cat ran"},
		{ID: 3, Score: 0.5, Text: "quantum states"},
		{ID: 4, Score: 0.5, Text: "one cat"},
	}
	got, _ := NewLocal(LocalOptions{}).Rerank(context.Background(), "quantum cat", cands)
	if ids(got)[0] != 3 {
		t.Fatalf("Rerank = %v (%v), want the rare term's chunk 3 first", ids(got), scores(got))
	}
	got, _ = NewLocal(LocalOptions{UniformTerms: true}).Rerank(context.Background(), "quantum cat", cands)
	if fmt.Sprint(ids(got)) != "[1 2 3 4]" {
		t.Fatalf("Rerank(UniformTerms) = %v (%v), want ties in input order", ids(got), scores(got))
	}
}

// TestLocalCJKAndAccents: CJK text is segmented into bigrams and Latin
// accents are folded, so a matching candidate outscores a non-matching one
// in both cases (it used to score them the same for CJK).
func TestLocalCJKAndAccents(t *testing.T) {
	l := NewLocal(LocalOptions{})
	for _, tc := range []struct{ query, match, other string }{
		{"東京の天気", "明日の東京の天気は晴れです。", "大阪で新しい駅が開業しました。"},
		{"creme brulee", "La crème brûlée est un dessert.", "Le pain est cuit au four."},
		{"café crème", "cafe creme recipes", "tea with lemon"},
	} {
		out, err := l.Rerank(context.Background(), tc.query, []Candidate{
			{ID: 1, Text: tc.other, Score: 0.5},
			{ID: 2, Text: tc.match, Score: 0.5},
		})
		if err != nil {
			t.Fatal(err)
		}
		if out[0].ID != 2 || out[0].Score <= out[1].Score {
			t.Errorf("%q: got %d (%.4f) over %d (%.4f), want the matching candidate first", tc.query, out[0].ID, out[0].Score, out[1].ID, out[1].Score)
		}
	}
}
