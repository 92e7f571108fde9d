package rerank_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/rerank"
)

func BenchmarkSweepTmp(b *testing.B) {
	if os.Getenv("SWEEP") == "" {
		b.Skip()
	}
	for _, name := range []string{"vaswani", "cranfield"} {
		c := loadIR(b, shareddata.Path(b, "datasets/ir/"+name))
		for _, o := range []rerank.LocalOptions{
			{},
			{FirstStageWeight: 1, CoverageWeight: -1, ProximityWeight: -1, PhraseWeight: -1, MetadataWeight: -1},
			{CoverageWeight: -1},
			{ProximityWeight: -1},
			{PhraseWeight: -1},
			{FirstStageWeight: 0.7},
			{FirstStageWeight: 0.3},
			{FirstStageWeight: 1},
			{CoverageWeight: 0.5},
			{CoverageWeight: 0.15},
			{ProximityWeight: 0.2},
			{PhraseWeight: 0.2},
			{ProximityWeight: 0.2, PhraseWeight: 0.2},
			{DisableStemming: true},
		} {
			r := c.eval(b, rerank.NewLocal(o))
			fmt.Printf("%s %+v fused %.4f reranked %.4f\n", name, o, r.fused, r.reranked)
		}
	}
}
