package embed

import (
	"context"
	"fmt"
)

// FullEmbedder is an Embedder that can also return the full-size vectors
// its shortened ones come from, so a search can re-score candidates found
// with short vectors at full precision.
type FullEmbedder interface {
	Embedder
	// EmbedFull returns, per input, the shortened vector (as Embed) and
	// the full normalized vector.
	EmbedFull(ctx context.Context, texts []string) (short, full [][]float32, err error)
}

// ShortenOptions configures Shorten.
type ShortenOptions struct {
	// Matryoshka declares that the model was trained so that the prefixes
	// of its vectors are embeddings themselves (Matryoshka representation
	// learning). Needed for models Shorten does not know as such; OpenAI's
	// text-embedding-3-* and nomic-embed-text, mxbai-embed-large and
	// embeddinggemma are known.
	Matryoshka bool
}

// Shortened keeps the first Dimensions components of another embedder's
// vectors and renormalizes them. A *Shortened is safe for concurrent use
// when the wrapped embedder is.
type Shortened struct {
	e    Embedder
	dims int
}

// Shorten returns e with its vectors truncated to dims components and
// renormalized. Truncation only preserves meaning for models trained for it,
// so Shorten refuses other models with ErrDimensionsUnsupported unless
// opts.Matryoshka declares the model as such. For OpenAI's
// text-embedding-3-* the server-side OpenAIOptions.Dimensions gives the
// same vectors with less traffic; Shorten is for keeping both sizes
// (EmbedFull) and for servers without the parameter.
func Shorten(e Embedder, dims int, opts ShortenOptions) (*Shortened, error) {
	id := e.Identity()
	if dims <= 0 || dims >= id.Dimensions {
		return nil, fmt.Errorf("%w: cannot shorten %s to %d dimensions (want 1..%d)",
			ErrDimensionsUnsupported, id, dims, id.Dimensions-1)
	}
	k, known := lookupModel(id.Model)
	if !opts.Matryoshka && (!known || !k.matryoshka) {
		return nil, fmt.Errorf("%w: model %q is not known to be trained for shortening (Matryoshka); "+
			"drop --dimensions, or declare it with the matryoshka spec option if it is", ErrDimensionsUnsupported, id.Model)
	}
	return &Shortened{e: e, dims: dims}, nil
}

// Identity implements Embedder: the wrapped identity with the shortened
// dimensions, which is also what the server-side parameter produces.
func (s *Shortened) Identity() Identity {
	id := s.e.Identity()
	id.Dimensions = s.dims
	return id
}

// Unwrap returns the wrapped embedder.
func (s *Shortened) Unwrap() Embedder { return s.e }

// Embed implements Embedder.
func (s *Shortened) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	short, _, err := s.EmbedFull(ctx, texts)
	return short, err
}

// EmbedFull implements FullEmbedder. The two slices share no memory.
func (s *Shortened) EmbedFull(ctx context.Context, texts []string) (short, full [][]float32, err error) {
	full, err = s.e.Embed(ctx, texts)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckVectors(full, len(texts), -1); err != nil {
		return nil, nil, err // the lengths are checked against s.dims below
	}
	short = make([][]float32, len(full))
	for i, v := range full {
		if len(v) < s.dims {
			return nil, nil, fmt.Errorf("%w: vector %d has %d dimensions, cannot shorten to %d", ErrBadResponse, i, len(v), s.dims)
		}
		sv := append([]float32(nil), v[:s.dims]...)
		normalize(sv, false) // a zero prefix stays zero
		short[i] = sv
	}
	return short, full, nil
}
