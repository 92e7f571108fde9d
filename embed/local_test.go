package embed

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/internal/cputime"
)

func cosine(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestLocalNormalizedDeterministic(t *testing.T) {
	l := NewLocal(0)
	if got := l.Identity(); got != (Identity{"local", "hash-v3", DefaultLocalDimensions}) {
		t.Fatalf("Identity() = %v", got)
	}
	texts := []string{"The quick brown fox", "Ünïcödé façade naïve", "東京都の天気", "한국어 텍스트", "x", "1234", "!!!", ""}
	a, err := l.Embed(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewLocal(0).Embed(context.Background(), texts)
	for i, v := range a {
		if len(v) != DefaultLocalDimensions {
			t.Fatalf("len(vec %d) = %d", i, len(v))
		}
		var n float64
		for j, x := range v {
			if x != b[i][j] {
				t.Fatalf("text %q: not deterministic", texts[i])
			}
			n += float64(x) * float64(x)
		}
		want := 1.0
		if texts[i] == "!!!" || texts[i] == "" {
			want = 0
		}
		if math.Abs(n-want) > 1e-5 {
			t.Errorf("text %q: |v|^2 = %v, want %v", texts[i], n, want)
		}
	}
}

func TestLocalSimilarity(t *testing.T) {
	l := NewLocal(0)
	ctx := context.Background()
	tests := []struct {
		q, near, far string
	}{
		{"how to bake sourdough bread", "baking bread with a sourdough starter", "the stock market fell sharply today"},
		{"Kubernetes pod scheduling", "scheduling pods in kubernetes clusters", "french cooking recipes for dinner"},
		{"東京の天気予報", "東京の天気は晴れ", "パリの美術館"},
		{"NEW YORK taxi fares", "new york taxi fare prices", "london bus routes"},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			v, _ := l.Embed(ctx, []string{tc.q, tc.near, tc.far})
			near, far := cosine(v[0], v[1]), cosine(v[0], v[2])
			if near <= far {
				t.Errorf("cos(near) = %.3f <= cos(far) = %.3f", near, far)
			}
		})
	}
	// Case, punctuation and word order do not matter (a bag of words).
	v, _ := l.Embed(ctx, []string{"Hello, World!", "hello world", "world hello"})
	if c := cosine(v[0], v[1]); c < 0.9999 {
		t.Errorf("cos(case/punct variants) = %v, want 1", c)
	}
	if c := cosine(v[1], v[2]); c < 0.9999 {
		t.Errorf("cos(word order variants) = %v, want 1", c)
	}
}

func TestLocalCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewLocal(8).Embed(ctx, []string{"a"}); err == nil {
		t.Fatal("Embed with canceled context succeeded")
	}
}

func FuzzLocal(f *testing.F) {
	f.Add("hello world")
	f.Add("東京\xff\xfe invalid utf8 ǅ")
	f.Fuzz(func(t *testing.T, s string) {
		v, err := NewLocal(16).Embed(context.Background(), []string{s})
		if err != nil || len(v) != 1 || len(v[0]) != 16 {
			t.Fatalf("Embed(%q) = %v, %v", s, v, err)
		}
		var n float64
		for _, x := range v[0] {
			if math.IsNaN(float64(x)) {
				t.Fatalf("NaN for %q", s)
			}
			n += float64(x) * float64(x)
		}
		if n != 0 && math.Abs(n-1) > 1e-4 {
			t.Fatalf("|v|^2 = %v for %q", n, s)
		}
	})
}

func benchText() string {
	var b strings.Builder
	para := "Retrieval engines split documents into chunks, embed every chunk and index the vectors " +
		"with HNSW; queries are embedded the same way and the nearest chunks are returned with citations. " +
		"Hybrid search fuses BM25 scores with vector similarity (RRF). Café naïve façade 東京の天気 2024-11-15.\n"
	for b.Len() < 64<<10 {
		b.WriteString(para)
	}
	return b.String()
}

func BenchmarkLocal(b *testing.B) {
	text := benchText()
	// Chunk-sized inputs, as the store sends them.
	var texts []string
	for i := 0; i+3200 <= len(text); i += 3200 {
		texts = append(texts, text[i:i+3200])
	}
	var n int64
	for _, t := range texts {
		n += int64(len(t))
	}
	l := NewLocal(0)
	ctx := context.Background()
	b.SetBytes(n)
	b.ReportAllocs()
	cpu0, _ := cputime.Process()
	for b.Loop() {
		if _, err := l.Embed(ctx, texts); err != nil {
			b.Fatal(err)
		}
	}
	if cpu1, _ := cputime.Process(); cpu1 > cpu0 {
		cpu := cpu1 - cpu0
		b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds()/1e6, "MB/cpu-s")
	}
}
