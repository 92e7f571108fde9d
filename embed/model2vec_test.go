package embed

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// writeSafetensors writes tensors (name -> dtype, shape, raw bytes) in the
// safetensors layout.
func writeSafetensors(t testing.TB, path string, tensors map[string]tensor) {
	t.Helper()
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		tt := tensors[n]
		hdr[n] = map[string]any{"dtype": tt.dtype, "shape": tt.shape, "data_offsets": []int{len(data), len(data) + len(tt.data)}}
		data = append(data, tt.data...)
	}
	h, _ := json.Marshal(hdr)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func f32Tensor(rows, dim int, f func(r, c int) float32) tensor {
	b := make([]byte, 0, 4*rows*dim)
	for r := range rows {
		for c := range dim {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f(r, c)))
		}
	}
	return tensor{dtype: "F32", shape: []int{rows, dim}, data: b}
}

func floatToHalf(f float32) uint16 { // exact for the small dyadic values used here
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	if f == 0 {
		return sign
	}
	exp := int(b>>23&0xff) - 127 + 15
	return sign | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

var wordPieceVocab = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", "un", "##able", "cafe", ",", "東"}

func rowValue(r, c int) float32 { return float32((r*7+c*3)%9-4) / 4 } // dyadic: exact in F16

func writeWordPieceModel(t testing.TB, dir, dtype string, withWeights bool) {
	t.Helper()
	const dim = 4
	emb := f32Tensor(len(wordPieceVocab), dim, rowValue)
	if dtype == "F16" {
		var b []byte
		for i := 0; i < len(emb.data); i += 4 {
			b = binary.LittleEndian.AppendUint16(b, floatToHalf(math.Float32frombits(binary.LittleEndian.Uint32(emb.data[i:]))))
		}
		emb = tensor{dtype: "F16", shape: emb.shape, data: b}
	}
	ts := map[string]tensor{"embeddings": emb}
	if withWeights {
		w := f32Tensor(1, len(wordPieceVocab), func(_, c int) float32 { return float32(c%3 + 1) })
		w.shape = []int{len(wordPieceVocab)}
		ts["weights"] = w
	}
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), ts)
	vocab := map[string]int{}
	for i, w := range wordPieceVocab {
		vocab[w] = i
	}
	tj := map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 0, "content": "[PAD]", "special": true}, {"id": 1, "content": "[UNK]", "special": true},
			{"id": 2, "content": "[CLS]", "special": true}, {"id": 3, "content": "[SEP]", "special": true},
		},
		"normalizer":     map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "TemplateProcessing"},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab},
	}
	b, _ := json.Marshal(tj)
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func meanOfRows(ids []int, weight func(int) float32) []float32 {
	v := make([]float32, 4)
	for _, id := range ids {
		for c := range v {
			v[c] += weight(id) * rowValue(id, c)
		}
	}
	normalize(v, false)
	return v
}

func TestModel2VecWordPiece(t *testing.T) {
	ctx := context.Background()
	text := "Hello, worlds! Café unable 東京"
	wantIDs := []int{4, 10, 5, 6, 9, 7, 8, 11} // "!" and "京" are unknown: left out
	for _, tc := range []struct {
		dtype   string
		weights bool
	}{{"F32", false}, {"F16", false}, {"F32", true}} {
		t.Run(tc.dtype, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "tiny-model")
			os.Mkdir(dir, 0o755)
			writeWordPieceModel(t, dir, tc.dtype, tc.weights)
			m, err := LoadModel2Vec(dir)
			if err != nil {
				t.Fatal(err)
			}
			if id := m.Identity(); id.Provider != "model2vec" || id.Dimensions != 4 || len(id.Model) != len("tiny-model-")+12 {
				t.Errorf("Identity() = %v", id)
			}
			if got := m.Tokens(text); !slices.Equal(got, wantIDs) {
				t.Errorf("Tokens(%q) = %v, want %v", text, got, wantIDs)
			}
			w := func(int) float32 { return 1 }
			if tc.weights {
				w = func(id int) float32 { return float32(id%3 + 1) }
			}
			want := meanOfRows(wantIDs, w)
			got, err := m.Embed(ctx, []string{text, "", "zzz"})
			if err != nil {
				t.Fatal(err)
			}
			for c := range want {
				if math.Abs(float64(got[0][c]-want[c])) > 1e-6 {
					t.Fatalf("Embed = %v, want %v", got[0], want)
				}
			}
			if slices.ContainsFunc(got[1], func(x float32) bool { return x != 0 }) || slices.ContainsFunc(got[2], func(x float32) bool { return x != 0 }) {
				t.Errorf("no known token: got %v %v, want zero vectors", got[1], got[2])
			}
			e, err := FromSpec("model2vec:"+dir, 0, nil)
			if err != nil || e.Identity() != m.Identity() {
				t.Errorf("FromSpec = %v, %v", e, err)
			}
			if _, err := FromSpec("model2vec:"+dir, 2, nil); !errors.Is(err, ErrDimensionsUnsupported) {
				t.Errorf("FromSpec(model2vec, 2 dims) error = %v, want ErrDimensionsUnsupported", err)
			}
			if e, err := FromSpec("model2vec:"+dir+",matryoshka", 2, nil); err != nil || e.Identity().Dimensions != 2 {
				t.Errorf("FromSpec(model2vec matryoshka, 2 dims) = %v, %v", e, err)
			}
		})
	}
}

func TestModel2VecUnigram(t *testing.T) {
	dir := t.TempDir()
	vocab := [][2]any{{"<unk>", 0.0}, {"▁hello", -1.0}, {"▁", -2.0}, {"h", -3.0}, {"e", -3.0}, {"l", -3.0}, {"o", -3.0},
		{"▁he", -2.0}, {"llo", -2.0}, {"▁world", -1.5}, {"w", -3.0}, {"r", -3.0}, {"d", -3.0}}
	writeSafetensors(t, filepath.Join(dir, "model.safetensors"), map[string]tensor{"embeddings": f32Tensor(len(vocab), 4, rowValue)})
	tj, _ := json.Marshal(map[string]any{
		"normalizer":    map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "NFKC"}, map[string]any{"type": "Lowercase"}}},
		"pre_tokenizer": map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
		"model":         map[string]any{"type": "Unigram", "unk_id": 0, "vocab": vocab},
	})
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644)
	m, err := LoadModel2Vec(dir)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string][]int{
		"Hello World": {1, 9},
		"hellx":       {7, 5, 5}, // ▁he + l + l; x is unknown and left out
		"HELLO":       {1},
		"hero":        {7, 11, 6},
	} {
		if got := m.Tokens(text); !slices.Equal(got, want) {
			t.Errorf("Tokens(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestModel2VecInvalid(t *testing.T) {
	good := t.TempDir()
	writeWordPieceModel(t, good, "F32", false)
	st, _ := os.ReadFile(filepath.Join(good, "model.safetensors"))
	tok, _ := os.ReadFile(filepath.Join(good, "tokenizer.json"))
	tests := []struct {
		name      string
		st, tok   []byte
		tensorsFn func(dir string)
	}{
		{name: "truncated safetensors", st: st[:len(st)-5], tok: tok},
		{name: "header length beyond file", st: binary.LittleEndian.AppendUint64(nil, 1<<40), tok: tok},
		{name: "not JSON tokenizer", st: st, tok: []byte("{")},
		{name: "BPE tokenizer", st: st, tok: []byte(`{"model":{"type":"BPE","vocab":{"a":0}}}`)},
		{name: "vocab beyond rows", st: st, tok: []byte(`{"model":{"type":"WordPiece","vocab":{"a":0,"b":500}}}`)},
		{name: "no embeddings tensor", tensorsFn: func(dir string) {
			writeSafetensors(t, filepath.Join(dir, "model.safetensors"), map[string]tensor{"other": f32Tensor(2, 2, rowValue)})
		}, tok: tok},
		{name: "1-d embeddings", tensorsFn: func(dir string) {
			e := f32Tensor(1, 4, rowValue)
			e.shape = []int{4}
			writeSafetensors(t, filepath.Join(dir, "model.safetensors"), map[string]tensor{"embeddings": e})
		}, tok: tok},
		{name: "I8 embeddings", tensorsFn: func(dir string) {
			writeSafetensors(t, filepath.Join(dir, "model.safetensors"), map[string]tensor{"embeddings": {dtype: "I8", shape: []int{12, 1}, data: make([]byte, 12)}})
		}, tok: tok},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.tensorsFn != nil {
				tc.tensorsFn(dir)
			} else {
				os.WriteFile(filepath.Join(dir, "model.safetensors"), tc.st, 0o644)
			}
			os.WriteFile(filepath.Join(dir, "tokenizer.json"), tc.tok, 0o644)
			if _, err := LoadModel2Vec(dir); !errors.Is(err, ErrModel) {
				t.Errorf("LoadModel2Vec() error = %v, want ErrModel", err)
			}
		})
	}
}

func FuzzSafetensors(f *testing.F) {
	dir := f.TempDir()
	writeWordPieceModel(f, dir, "F16", true)
	st, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	f.Add(st)
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := parseSafetensors(b)
		if err != nil {
			return
		}
		for _, tt := range ts {
			tt.floats() // must not panic: sizes were checked
			tt.ints()
		}
	})
}

func FuzzTokenizer(f *testing.F) {
	dir := f.TempDir()
	writeWordPieceModel(f, dir, "F32", false)
	m, err := LoadModel2Vec(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("Hello, worlds! Café unable 東京")
	f.Add("\xff\xfe ## unable##")
	f.Fuzz(func(t *testing.T, s string) {
		for _, id := range m.Tokens(s) {
			if id < 4 || id >= len(wordPieceVocab) {
				t.Fatalf("Tokens(%q) has id %d", s, id)
			}
		}
	})
}

func TestHalfToFloat(t *testing.T) {
	for h, want := range map[uint16]float32{0x3c00: 1, 0xc000: -2, 0x3555: 0.33325195, 0x0001: 5.9604645e-08, 0x7bff: 65504, 0x8000: float32(math.Copysign(0, -1))} {
		if got := halfToFloat(h); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("halfToFloat(%#x) = %v, want %v", h, got, want)
		}
	}
}

func BenchmarkModel2Vec(b *testing.B) {
	dir := b.TempDir()
	writeWordPieceModel(b, dir, "F32", false)
	m, err := LoadModel2Vec(dir)
	if err != nil {
		b.Fatal(err)
	}
	text := benchText()
	var texts []string
	for i := 0; i+3200 <= len(text); i += 3200 {
		texts = append(texts, text[i:i+3200])
	}
	b.SetBytes(int64(len(texts) * 3200))
	for b.Loop() {
		if _, err := m.Embed(context.Background(), texts); err != nil {
			b.Fatal(err)
		}
	}
}
