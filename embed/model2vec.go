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
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/viterin/vek/vek32"
	"golang.org/x/text/unicode/norm"

	"github.com/quarrylabs/quarry/internal/analysis"
)

// Model2Vec is a static embedding model loaded from a local directory in
// the Model2Vec layout: model.safetensors with an "embeddings" tensor
// [vocab, dim] of F32, F16 or BF16, or of I8 with a "scales" tensor [vocab]
// of per-row scales (row i is embeddings[i]·scales[i]) (and optionally "weights" [vocab], a
// per-token weight, and "mapping" [vocab], the row of each token), and a
// HuggingFace tokenizer.json with a WordPiece or Unigram model. A text's
// embedding is the (weighted) mean of its tokens' rows, special and unknown
// tokens left out, L2-normalized; a text with no known token maps to the
// zero vector. Nothing is fetched from the network.
//
// A *Model2Vec is safe for concurrent use.
type Model2Vec struct {
	id      Identity
	dim     int
	emb     []float32 // vocab rows × dim, row-major
	rows    int
	weights []float32 // per token id; nil when absent or folded into emb (no mapping)
	mapping []int32   // token id -> row; nil when identity
	tok     *tokenizer
	maxToks int
}

// LoadModel2Vec loads the model in dir. Identity is
// {"model2vec", "<dir base name>-<first 12 hex digits of the SHA-256 of
// model.safetensors>", dim}, so a changed model is a different identity.
func LoadModel2Vec(dir string) (*Model2Vec, error) {
	st, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	tj, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrModel, err)
	}
	m, err := parseModel2Vec(st, tj, dir)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(st)
	m.id = Identity{Provider: "model2vec", Model: filepath.Base(filepath.Clean(dir)) + "-" + hex.EncodeToString(sum[:6]), Dimensions: m.dim}
	return m, nil
}

// parseModel2Vec builds the model from the contents of model.safetensors
// and tokenizer.json (dir names them in errors); the caller sets its
// identity.
func parseModel2Vec(st, tj []byte, dir string) (*Model2Vec, error) {
	tensors, err := parseSafetensors(st)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, filepath.Join(dir, "model.safetensors"), err)
	}
	m := &Model2Vec{maxToks: 512}
	e, ok := tensors["embeddings"]
	if !ok {
		return nil, fmt.Errorf("%w: %s has no \"embeddings\" tensor", ErrModel, dir)
	}
	if len(e.shape) != 2 || e.shape[0] <= 0 || e.shape[1] <= 0 {
		return nil, fmt.Errorf("%w: embeddings tensor has shape %v, want [vocab, dim]", ErrModel, e.shape)
	}
	m.rows, m.dim = e.shape[0], e.shape[1]
	if e.dtype == "I8" {
		// int8 rows with one scale per row (tools/convert-glove -int8).
		sc, ok := tensors["scales"]
		if !ok || len(sc.shape) != 1 || sc.shape[0] != m.rows {
			return nil, fmt.Errorf("%w: int8 embeddings need a \"scales\" tensor [%d]", ErrModel, m.rows)
		}
		scales, err := sc.floats()
		if err != nil {
			return nil, fmt.Errorf("%w: scales: %v", ErrModel, err)
		}
		m.emb = make([]float32, m.rows*m.dim)
		for i, b := range e.data {
			m.emb[i] = float32(int8(b)) * scales[i/m.dim]
		}
	} else if m.emb, err = e.floats(); err != nil {
		return nil, fmt.Errorf("%w: embeddings: %v", ErrModel, err)
	}
	if w, ok := tensors["weights"]; ok {
		if m.weights, err = w.floats(); err != nil || len(w.shape) != 1 {
			return nil, fmt.Errorf("%w: weights tensor: shape %v, %v", ErrModel, w.shape, err)
		}
	}
	if mp, ok := tensors["mapping"]; ok {
		if m.mapping, err = mp.ints(); err != nil || len(mp.shape) != 1 {
			return nil, fmt.Errorf("%w: mapping tensor: shape %v, %v", ErrModel, mp.shape, err)
		}
		for _, r := range m.mapping {
			if r < 0 || int(r) >= m.rows {
				return nil, fmt.Errorf("%w: mapping points at row %d of %d", ErrModel, r, m.rows)
			}
		}
	}
	if m.tok, err = parseTokenizer(tj); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrModel, filepath.Join(dir, "tokenizer.json"), err)
	}
	vocab := m.rows
	if m.mapping != nil {
		vocab = len(m.mapping)
	}
	if m.weights != nil && len(m.weights) != vocab {
		return nil, fmt.Errorf("%w: %d weights for a vocabulary of %d", ErrModel, len(m.weights), vocab)
	}
	if m.tok.maxID >= vocab {
		return nil, fmt.Errorf("%w: tokenizer id %d beyond the %d embedding rows", ErrModel, m.tok.maxID, vocab)
	}
	if m.weights != nil && m.mapping == nil {
		// One row per token: fold each token's weight into its row once,
		// so Embed only adds rows.
		for id, w := range m.weights {
			vek32.MulNumber_Inplace(m.emb[id*m.dim:(id+1)*m.dim], w)
		}
		m.weights = nil
	}
	return m, nil
}

// Identity implements Embedder.
func (m *Model2Vec) Identity() Identity { return m.id }

// Embed implements Embedder. Inputs are cut at 512 tokens, as Model2Vec does.
func (m *Model2Vec) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v := make([]float32, m.dim)
		ids := m.tok.encode(t, m.maxToks)
		for _, id := range ids {
			row := id
			if m.mapping != nil {
				row = int(m.mapping[id])
			}
			r := m.emb[row*m.dim : (row+1)*m.dim]
			if m.weights == nil {
				vek32.Add_Inplace(v, r)
				continue
			}
			w := m.weights[id]
			for j, x := range r {
				v[j] += w * x
			}
		}
		normalize(v, false) // mean then normalize = normalize the sum
		out[i] = v
	}
	return out, nil
}

// Tokens returns the token ids of text, for inspection and tests.
func (m *Model2Vec) Tokens(text string) []int { return m.tok.encode(text, m.maxToks) }

type tensor struct {
	dtype string
	shape []int
	data  []byte
}

func (t tensor) count() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

func (t tensor) floats() ([]float32, error) {
	n := t.count()
	out := make([]float32, n)
	switch t.dtype {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.data[4*i:]))
		}
	case "F16":
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(t.data[2*i:]))
		}
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(t.data[2*i:])) << 16)
		}
	default:
		return nil, fmt.Errorf("dtype %s, want F32, F16 or BF16", t.dtype)
	}
	for _, x := range out {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("non-finite value")
		}
	}
	return out, nil
}

func (t tensor) ints() ([]int32, error) {
	out := make([]int32, t.count())
	switch t.dtype {
	case "I32":
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(t.data[4*i:]))
		}
	case "I64":
		for i := range out {
			x := int64(binary.LittleEndian.Uint64(t.data[8*i:]))
			if x < math.MinInt32 || x > math.MaxInt32 {
				return nil, fmt.Errorf("index %d out of range", x)
			}
			out[i] = int32(x)
		}
	default:
		return nil, fmt.Errorf("dtype %s, want I32 or I64", t.dtype)
	}
	return out, nil
}

var dtypeSize = map[string]int{"F32": 4, "F16": 2, "BF16": 2, "I32": 4, "I64": 8, "F64": 8, "I8": 1, "U8": 1, "I16": 2, "BOOL": 1}

// parseSafetensors reads the safetensors container: an 8-byte little-endian
// header length, a JSON header, the tensor bytes. Every size is checked
// against the file before use.
func parseSafetensors(b []byte) (map[string]tensor, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("file too short")
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) || n > 100<<20 {
		return nil, fmt.Errorf("header length %d beyond the file", n)
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	data := b[8+n:]
	out := map[string]tensor{}
	for name, raw := range hdr {
		if name == "__metadata__" {
			continue
		}
		var t struct {
			Dtype   string   `json:"dtype"`
			Shape   []int64  `json:"shape"`
			Offsets []uint64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, fmt.Errorf("tensor %q: %v", name, err)
		}
		size, ok := dtypeSize[t.Dtype]
		if !ok {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", name, t.Dtype)
		}
		if len(t.Offsets) != 2 || t.Offsets[0] > t.Offsets[1] || t.Offsets[1] > uint64(len(data)) {
			return nil, fmt.Errorf("tensor %q: offsets %v outside %d data bytes", name, t.Offsets, len(data))
		}
		count := uint64(1)
		shape := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			if d < 0 || d > 1<<31 {
				return nil, fmt.Errorf("tensor %q: bad shape %v", name, t.Shape)
			}
			shape[i] = int(d)
			count *= uint64(d)
			if count > 1<<40 {
				return nil, fmt.Errorf("tensor %q: bad shape %v", name, t.Shape)
			}
		}
		if count*uint64(size) != t.Offsets[1]-t.Offsets[0] {
			return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, offsets give %d",
				name, t.Shape, t.Dtype, count*uint64(size), t.Offsets[1]-t.Offsets[0])
		}
		out[name] = tensor{dtype: t.Dtype, shape: shape, data: data[t.Offsets[0]:t.Offsets[1]]}
	}
	return out, nil
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(mant) / 1024 / 16384
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// tokenizer is the subset of HuggingFace tokenizers that static models use:
// BERT-style or NFKC/lowercase normalization, whitespace-and-punctuation or
// Metaspace pre-tokenization, WordPiece or Unigram.
type tokenizer struct {
	lowercase, stripAccents, nfkc, cjkSplit bool
	metaspace                               bool // Metaspace pre-tokenizer: words start with "▁"
	prependSpace                            bool

	kind        string // "WordPiece" or "Unigram"
	vocab       map[string]int
	scores      []float64 // Unigram scores by id
	maxPieceLen int       // Unigram, in bytes
	unk         int       // -1 when none
	prefix      string    // WordPiece continuing-subword prefix
	maxChars    int       // WordPiece max_input_chars_per_word
	special     []int     // ids of special tokens (a handful)
	maxID       int
}

type tokNormalizer struct {
	Type          string          `json:"type"`
	Lowercase     *bool           `json:"lowercase"`
	StripAccents  *bool           `json:"strip_accents"`
	HandleChinese *bool           `json:"handle_chinese_chars"`
	Normalizers   []tokNormalizer `json:"normalizers"`
}

type tokPre struct {
	Type           string   `json:"type"`
	PreTokenizers  []tokPre `json:"pretokenizers"`
	AddPrefixSpace *bool    `json:"add_prefix_space"`
	PrependScheme  string   `json:"prepend_scheme"`
}

func parseTokenizer(b []byte) (*tokenizer, error) {
	var f struct {
		Normalizer   *tokNormalizer `json:"normalizer"`
		PreTokenizer *tokPre        `json:"pre_tokenizer"`
		AddedTokens  []struct {
			ID      int  `json:"id"`
			Special bool `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Type     string          `json:"type"`
			Vocab    json.RawMessage `json:"vocab"`
			UnkToken string          `json:"unk_token"`
			UnkID    *int            `json:"unk_id"`
			Prefix   *string         `json:"continuing_subword_prefix"`
			MaxChars int             `json:"max_input_chars_per_word"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	t := &tokenizer{unk: -1, vocab: map[string]int{}}
	var walkN func(n *tokNormalizer)
	walkN = func(n *tokNormalizer) {
		switch n.Type {
		case "BertNormalizer":
			t.lowercase = n.Lowercase == nil || *n.Lowercase
			t.stripAccents = t.lowercase
			if n.StripAccents != nil {
				t.stripAccents = *n.StripAccents
			}
			t.cjkSplit = n.HandleChinese == nil || *n.HandleChinese
		case "Lowercase":
			t.lowercase = true
		case "StripAccents":
			t.stripAccents = true
		case "NFKC":
			t.nfkc = true
		case "Sequence":
			for i := range n.Normalizers {
				walkN(&n.Normalizers[i])
			}
		}
	}
	if f.Normalizer != nil {
		walkN(f.Normalizer)
	}
	var walkP func(p *tokPre)
	walkP = func(p *tokPre) {
		switch p.Type {
		case "Metaspace":
			t.metaspace = true
			t.prependSpace = p.PrependScheme != "never" && (p.AddPrefixSpace == nil || *p.AddPrefixSpace || p.PrependScheme != "")
		case "BertPreTokenizer":
			t.cjkSplit = true
		case "Sequence":
			for i := range p.PreTokenizers {
				walkP(&p.PreTokenizers[i])
			}
		}
	}
	if f.PreTokenizer != nil {
		walkP(f.PreTokenizer)
	}
	t.kind = f.Model.Type
	switch f.Model.Type {
	case "WordPiece":
		var v map[string]int
		if err := json.Unmarshal(f.Model.Vocab, &v); err != nil {
			return nil, fmt.Errorf("WordPiece vocab: %v", err)
		}
		t.vocab = v
		t.prefix = "##"
		if f.Model.Prefix != nil {
			t.prefix = *f.Model.Prefix
		}
		t.maxChars = f.Model.MaxChars
		if t.maxChars <= 0 {
			t.maxChars = 100
		}
		if id, ok := v[f.Model.UnkToken]; ok {
			t.unk = id
		}
	case "Unigram":
		var v [][2]json.RawMessage
		if err := json.Unmarshal(f.Model.Vocab, &v); err != nil {
			return nil, fmt.Errorf("Unigram vocab: %v", err)
		}
		t.scores = make([]float64, len(v))
		for id, e := range v {
			var p string
			var s float64
			if json.Unmarshal(e[0], &p) != nil || json.Unmarshal(e[1], &s) != nil {
				return nil, fmt.Errorf("Unigram vocab entry %d is not [piece, score]", id)
			}
			t.vocab[p] = id
			t.scores[id] = s
			t.maxPieceLen = max(t.maxPieceLen, len(p))
		}
		if f.Model.UnkID != nil {
			t.unk = *f.Model.UnkID
		}
	default:
		return nil, fmt.Errorf("tokenizer model %q is not supported (want WordPiece or Unigram)", f.Model.Type)
	}
	if len(t.vocab) == 0 {
		return nil, fmt.Errorf("empty vocabulary")
	}
	for _, id := range t.vocab {
		if id < 0 {
			return nil, fmt.Errorf("negative token id %d", id)
		}
		t.maxID = max(t.maxID, id)
	}
	for _, a := range f.AddedTokens {
		if a.Special {
			t.special = append(t.special, a.ID)
		}
	}
	return t, nil
}

func isPunct(r rune) bool {
	if r < 128 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// normalizeText applies the normalizer.
func (t *tokenizer) normalizeText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii { // NFKC, NFD and accent stripping leave ASCII unchanged
		if t.lowercase {
			s = strings.ToLower(s)
		}
		return s
	}
	if t.nfkc {
		s = norm.NFKC.String(s)
	}
	if t.lowercase {
		s = strings.ToLower(s)
	}
	if t.stripAccents {
		s = norm.NFD.String(s)
		s = strings.Map(func(r rune) rune {
			if unicode.Is(unicode.Mn, r) {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// words splits normalized text into pre-tokens.
func (t *tokenizer) words(s string) []string {
	if t.metaspace {
		var out []string
		for _, f := range strings.Fields(s) {
			out = append(out, "▁"+f)
		}
		if len(out) > 0 && !t.prependSpace {
			out[0] = strings.TrimPrefix(out[0], "▁")
		}
		return out
	}
	var out []string
	start := -1
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		var split, alone bool
		if r < utf8.RuneSelf {
			c := asciiClass[r]
			split, alone = c == asciiSpace, c == asciiPunct
		} else {
			r, n = utf8.DecodeRuneInString(s[i:])
			split = unicode.IsSpace(r) || r == utf8.RuneError
			alone = isPunct(r) || (t.cjkSplit && analysis.IsCJK(r))
		}
		if split || alone {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
			if alone {
				out = append(out, s[i:i+n])
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// asciiClass is the pre-tokenizer's class of each ASCII byte: what
// unicode.IsSpace and isPunct say, looked up once.
var asciiClass = func() (c [utf8.RuneSelf]uint8) {
	for r := range rune(utf8.RuneSelf) {
		switch {
		case unicode.IsSpace(r):
			c[r] = asciiSpace
		case isPunct(r):
			c[r] = asciiPunct
		}
	}
	return c
}()

const (
	asciiWord = iota
	asciiSpace
	asciiPunct
)

// encode returns at most limit token ids of s, without special and unknown
// tokens.
func (t *tokenizer) encode(s string, limit int) []int {
	ids := make([]int, 0, min(limit, len(s)/4+1))
	add := func(id int) {
		if id >= 0 && id != t.unk && !slices.Contains(t.special, id) {
			ids = append(ids, id)
		}
	}
	for _, w := range t.words(t.normalizeText(s)) {
		if len(ids) >= limit {
			break
		}
		if t.kind == "WordPiece" {
			t.wordPiece(w, add)
		} else {
			t.unigram(w, add)
		}
	}
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids
}

// wordPiece is greedy longest-match-first; a word with an unmatched rest is
// one unknown token, as in BERT.
func (t *tokenizer) wordPiece(w string, add func(int)) {
	if id, ok := t.vocab[w]; ok { // the common case: a whole word
		add(id)
		return
	}
	if utf8.RuneCountInString(w) > t.maxChars {
		add(t.unk)
		return
	}
	var ids []int
	buf := make([]byte, 0, len(t.prefix)+len(w))
	for start := 0; start < len(w); {
		end := len(w)
		found := -1
		for end > start {
			buf = buf[:0]
			if start > 0 {
				buf = append(buf, t.prefix...)
			}
			buf = append(buf, w[start:end]...)
			if id, ok := t.vocab[string(buf)]; ok { // no allocation: the compiler converts in place
				found = id
				break
			}
			_, n := utf8.DecodeLastRuneInString(w[start:end])
			end -= n
		}
		if found < 0 {
			add(t.unk)
			return
		}
		ids = append(ids, found)
		start = end
	}
	for _, id := range ids {
		add(id)
	}
}

// unigram is the Viterbi segmentation maximizing the sum of piece scores;
// a character no piece covers becomes the unknown token.
func (t *tokenizer) unigram(w string, add func(int)) {
	const unkPenalty = -100.0
	n := len(w)
	best := make([]float64, n+1)
	from := make([]int, n+1)
	tok := make([]int, n+1)
	for i := 1; i <= n; i++ {
		best[i] = math.Inf(-1)
	}
	for i := 0; i < n; i++ {
		if math.IsInf(best[i], -1) || (i > 0 && !runeStart(w[i])) {
			continue
		}
		_, sz := utf8.DecodeRuneInString(w[i:])
		matched := false
		for j := i + 1; j <= n && j-i <= t.maxPieceLen; j++ {
			if j < n && !runeStart(w[j]) {
				continue
			}
			if id, ok := t.vocab[w[i:j]]; ok {
				matched = matched || j-i == sz
				if s := best[i] + t.scores[id]; s > best[j] {
					best[j], from[j], tok[j] = s, i, id
				}
			}
		}
		if !matched { // the single character is unknown
			if s := best[i] + unkPenalty; s > best[i+sz] {
				best[i+sz], from[i+sz], tok[i+sz] = s, i, t.unk
			}
		}
	}
	var rev []int
	for j := n; j > 0; j = from[j] {
		rev = append(rev, tok[j])
	}
	for k := len(rev) - 1; k >= 0; k-- {
		add(rev[k])
	}
}
