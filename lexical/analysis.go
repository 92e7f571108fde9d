package lexical

import (
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/token/stop"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
)

// stopWords is Lucene's EnglishAnalyzer stop set (ENGLISH_STOP_WORDS_SET),
// the one the reference runs use.
var stopWords = [...]string{
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in",
	"into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the",
	"their", "then", "there", "these", "they", "this", "to", "was", "will",
	"with",
}

// newAnalyzer builds the text analyzer used for every text field and for
// queries: Unicode word segmentation (UAX #29), full/half-width folding,
// English possessive removal, lower-casing, English stop words, bigrams over
// runs of CJK ideographs, hiragana and katakana, and Porter stemming (which
// leaves non-Latin tokens unchanged).
//
// The analyzer is built here rather than named in bleve's registry: the
// index stores already-analyzed fields, so nothing is looked up by name.
func newAnalyzer() analysis.Analyzer {
	tm := analysis.NewTokenMap()
	for _, w := range stopWords {
		tm.AddToken(w)
	}
	return &analysis.DefaultAnalyzer{
		Tokenizer: unicode.NewUnicodeTokenizer(),
		TokenFilters: []analysis.TokenFilter{
			cjk.NewCJKWidthFilter(),
			en.NewPossessiveFilter(),
			lowercase.NewLowerCaseFilter(),
			stop.NewStopTokensFilter(tm),
			cjk.NewCJKBigramFilter(false),
			porter.NewPorterStemmer(),
		},
	}
}

// fixedAnalyzer hands bleve a token stream analyzed beforehand, so text is
// analyzed once per Apply even though its length is needed before the batch.
type fixedAnalyzer analysis.TokenStream

func (f fixedAnalyzer) Analyze([]byte) analysis.TokenStream { return analysis.TokenStream(f) }

// Terms returns the analyzed terms of text in order, with repeats: what a
// query or a document field becomes after analysis. Useful to callers that
// want to see why a query matched or not.
func Terms(text string) []string {
	ts := newAnalyzer().Analyze([]byte(text))
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t.Term)
	}
	return out
}
