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
