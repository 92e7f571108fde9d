package store

import (
	"context"
	"testing"

	"github.com/quarrylabs/quarry/embed"
)

type identityOnly struct{ id embed.Identity }

func (e identityOnly) Identity() embed.Identity { return e.id }
func (e identityOnly) Embed(context.Context, []string) ([][]float32, error) {
	return nil, nil
}

// TestDefaultHybridWeights checks the default embedding weight per
// embedder family: 0.1 for the hashing embedder, 0.2 for USE-lite, 1 else.
func TestDefaultHybridWeights(t *testing.T) {
	for provider, want := range map[string]float64{"local": 0.1, "use": 0.2, "openai": 1} {
		o := Options{Embedder: identityOnly{embed.Identity{Provider: provider, Model: "m", Dimensions: 8}}}
		o.ensureDefaults()
		if o.Hybrid != (HybridWeights{EmbeddingWeight: want, TextWeight: 1}) {
			t.Errorf("%s: default Hybrid = %+v, want %v and 1", provider, o.Hybrid, want)
		}
	}
}
