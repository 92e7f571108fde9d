package lexical

import (
	"github.com/blevesearch/bleve/v2/analysis"

	quarryanalysis "github.com/quarrylabs/quarry/internal/analysis"
)

// newAnalyzer is the engine's one text analyzer (internal/analysis), used
// for every text field and for queries: Unicode word segmentation, NFKC and
// Latin accent folding, lower-casing, English stop words, CJK bigrams and
// Porter stemming.
func newAnalyzer() analysis.Analyzer { return quarryanalysis.NewAnalyzer() }

// fixedAnalyzer hands bleve a token stream analyzed beforehand, so text is
// analyzed once per Apply even though its length is needed before the batch.
type fixedAnalyzer analysis.TokenStream

func (f fixedAnalyzer) Analyze([]byte) analysis.TokenStream { return analysis.TokenStream(f) }

// Terms returns the analyzed terms of text in order, with repeats: what a
// query or a document field becomes after analysis. Useful to callers that
// want to see why a query matched or not.
func Terms(text string) []string { return quarryanalysis.Terms(text) }
