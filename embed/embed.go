package embed

import (
	"context"
	"fmt"
)

// Embedder computes embeddings. Implementations are safe for concurrent use,
// return one vector per input in input order, each of Identity().Dimensions
// components and L2-normalized.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Identity() Identity
}

// Identity names the model that produced a set of vectors. Two vector sets are
// comparable only when their identities are equal.
type Identity struct {
	Provider   string `json:"provider"`
	Model      string `json:"model"`
	Dimensions int    `json:"dimensions"`
}

// String returns "provider:model@dimensions".
func (id Identity) String() string {
	return fmt.Sprintf("%s:%s@%d", id.Provider, id.Model, id.Dimensions)
}

// CheckVectors checks what an embedder returned for n inputs: n vectors of
// dim components each. A negative dim skips the dimension check. Errors
// wrap ErrBadResponse:
//
//	embed: bad response: embedder returned <len(vecs)> vectors for <n> inputs
//	embed: bad response: embedder returned a vector of <len> dimensions for input <i>, want <dim>
//
// It does not look at the values (non-finite components are the caller's
// concern).
func CheckVectors(vecs [][]float32, n, dim int) error {
	if len(vecs) != n {
		return fmt.Errorf("%w: embedder returned %d vectors for %d inputs", ErrBadResponse, len(vecs), n)
	}
	if dim < 0 {
		return nil
	}
	for i, v := range vecs {
		if len(v) != dim {
			return fmt.Errorf("%w: embedder returned a vector of %d dimensions for input %d, want %d",
				ErrBadResponse, len(v), i, dim)
		}
	}
	return nil
}
