package chunk

import (
	"context"
	"encoding/base64"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/parse"

	"github.com/quarrylabs/quarry/internal/cputime"
)

// pathological returns 1 MB inputs that defeat a quadratic byte-pair merge:
// each is one pre-token piece, or a few very long ones.
func pathological() map[string]string {
	r := rand.New(rand.NewPCG(7, 8))
	raw := make([]byte, 3<<18)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	var noSpace strings.Builder
	words := strings.Fields("the quick brown fox jumps over lazy dog retrieval engine chunk token budget")
	for noSpace.Len() < 1<<20 {
		noSpace.WriteString(words[r.IntN(len(words))])
	}
	return map[string]string{
		"ascii":   strings.Repeat("a", 1<<20),
		"nospace": noSpace.String()[:1<<20],
		"base64":  base64.StdEncoding.EncodeToString(raw)[:1<<20],
		"cjk":     strings.Repeat("中", (1<<20)/3),
	}
}

func benchSplit(b *testing.B, enc, text string, s Strategy) {
	c, err := New(enc)
	if err != nil {
		b.Fatal(err)
	}
	doc := &parse.Document{Text: text, Sections: []parse.Section{{Start: 0, End: len(text)}}}
	b.SetBytes(int64(len(text)))
	var chunks int
	cpu0, _ := cputime.Process()
	for b.Loop() {
		out, err := c.Split(context.Background(), doc, s)
		if err != nil {
			b.Fatal(err)
		}
		chunks = len(out)
	}
	reportCPU(b, cpu0, b.N, len(text))
	b.ReportMetric(float64(chunks), "chunks")
}

// reportCPU reports throughput per second of process CPU time: on a shared,
// busy machine wall-clock MB/s mostly measures the neighbours. The process
// time includes the garbage collector's work on other threads.
func reportCPU(b *testing.B, cpu0 time.Duration, n, size int) {
	cpu1, _ := cputime.Process()
	if cpu := cpu1 - cpu0; cpu > 0 && n > 0 {
		b.ReportMetric(float64(size)*float64(n)/cpu.Seconds()/1e6, "cpu-MB/s")
		b.ReportMetric(cpu.Seconds()/float64(n), "cpu-s/op")
	}
}

func sharedText(b *testing.B, rel string) string {
	data, err := os.ReadFile(shareddata.Path(b, rel))
	if err != nil {
		b.Fatal(err)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// goSource is source code from the Go distribution that runs the benchmark.
func goSource(b *testing.B) string {
	var sb strings.Builder
	for _, f := range []string{"net/http/server.go", "go/parser/parser.go", "fmt/print.go"} {
		data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", f))
		if err != nil {
			b.Skipf("Go sources not available: %v", err)
		}
		sb.Write(data)
	}
	return sb.String()
}

func BenchmarkSplit(b *testing.B) {
	for _, enc := range []string{CL100K, O200K} {
		b.Run(enc, func(b *testing.B) {
			b.Run("prose", func(b *testing.B) {
				benchSplit(b, enc, sharedText(b, "datasets/docs/pandoc_MANUAL.txt"), Strategy{})
			})
			b.Run("code", func(b *testing.B) { benchSplit(b, enc, goSource(b), Strategy{}) })
			b.Run("cjk", func(b *testing.B) {
				benchSplit(b, enc, sharedText(b, "datasets/docs/ngt_README-jp.md"), Strategy{})
			})
			b.Run("prose-static", func(b *testing.B) {
				benchSplit(b, enc, sharedText(b, "datasets/docs/pandoc_MANUAL.txt"), Strategy{Type: Static, MaxTokens: 800, OverlapTokens: 400})
			})
		})
	}
}

func BenchmarkPathological(b *testing.B) {
	for name, text := range pathological() {
		b.Run(name, func(b *testing.B) { benchSplit(b, CL100K, text, Strategy{}) })
	}
}

func BenchmarkCount(b *testing.B) {
	c, err := New(CL100K)
	if err != nil {
		b.Fatal(err)
	}
	text := sharedText(b, "datasets/docs/pandoc_MANUAL.txt")
	b.SetBytes(int64(len(text)))
	cpu0, _ := cputime.Process()
	for b.Loop() {
		c.Count(text)
	}
	reportCPU(b, cpu0, b.N, len(text))
}
