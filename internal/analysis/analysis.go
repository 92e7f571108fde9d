package analysis

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	bleve "github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/token/stop"
	uniseg "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	porterstemmer "github.com/blevesearch/go-porterstemmer"
)

// stopWords is Lucene's EnglishAnalyzer stop set (ENGLISH_STOP_WORDS_SET),
// the one the reference BM25 runs use: the engine's single stop-word list.
var stopWords = [...]string{
	"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in",
	"into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the",
	"their", "then", "there", "these", "they", "this", "to", "was", "will",
	"with",
}

// StopWords returns the stop words, lower-cased and folded. The caller owns
// the slice.
func StopWords() []string { return append([]string(nil), stopWords[:]...) }

// IsStopWord reports whether a lower-cased, folded token is a stop word.
func IsStopWord(w string) bool { return stopSet[w] }

// stopSet is the stop words as a set, shared by IsStopWord and the
// analyzer's stop filter (which only reads it).
var stopSet = func() bleve.TokenMap {
	tm := bleve.NewTokenMap()
	for _, w := range stopWords {
		tm.AddToken(w)
	}
	return tm
}()

// foldTable maps the lower-cased letters of U+00C0..U+024F (Latin-1
// Supplement, Latin Extended-A and -B) and U+1E00..U+1EFF (Latin Extended
// Additional) to their base letter, or to themselves when they have none.
type foldTable struct {
	lo  [0x250 - 0xC0]rune
	ext [0x100]rune
}

var folds = sync.OnceValue(func() *foldTable {
	t := &foldTable{}
	base := func(r rune) rune {
		switch r {
		case 'ø':
			return 'o'
		case 'ł':
			return 'l'
		case 'đ':
			return 'd'
		case 'ħ':
			return 'h'
		case 'ı':
			return 'i'
		}
		d := norm.NFD.String(string(r))
		b, _ := utf8.DecodeRuneInString(d)
		if b < utf8.RuneSelf && unicode.IsLetter(b) {
			return unicode.ToLower(b)
		}
		return r
	}
	for i := range t.lo {
		t.lo[i] = base(unicode.ToLower(rune(0xC0 + i)))
	}
	for i := range t.ext {
		t.ext[i] = base(unicode.ToLower(rune(0x1E00 + i)))
	}
	return t
})

// FoldRune lower-cases r and, for a Latin letter with diacritics, returns
// its base letter (é → e, Ł → l). Other runes are only lower-cased. A
// combining mark (category Mn) maps to -1: callers drop it, which folds
// decomposed accents ("e" + U+0301) like precomposed ones.
func FoldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r >= 0xC0 && r < 0x250:
		return folds().lo[r-0xC0]
	case r >= 0x1E00 && r < 0x1F00:
		return folds().ext[r-0x1E00]
	case r >= 0x300 && r < 0x370:
		return -1 // combining diacritical marks
	}
	return unicode.ToLower(r)
}

// Fold returns s NFKC-normalized, lower-cased and accent-folded (see
// [FoldRune]). ASCII input costs one pass and, when already lower case,
// no allocation.
func Fold(s string) string {
	ascii, lower := true, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			lower = false
		}
	}
	if ascii && lower {
		return s
	}
	if !ascii {
		s = norm.NFKC.String(s)
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if f := FoldRune(r); f >= 0 {
			b = utf8.AppendRune(b, f)
		}
	}
	return string(b)
}

// IsCJK reports whether r is a Han, Hiragana, Katakana or Hangul character:
// the scripts written without spaces, which are cut into bigrams.
func IsCJK(r rune) bool {
	switch {
	case r < 0x1100:
		return false
	case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF, // CJK ideographs
		r >= 0x3040 && r <= 0x30FF,                             // Hiragana, Katakana
		r >= 0xAC00 && r <= 0xD7AF, r >= 0x1100 && r <= 0x11FF, // Hangul
		r >= 0xF900 && r <= 0xFAFF, r >= 0x20000 && r <= 0x2FA1F:
		return true
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// Stem returns the Porter stem of a lower-cased, folded token. Tokens that
// are not plain ASCII letters, and tokens of two letters or fewer, are
// returned unchanged: the Porter rules are English.
func Stem(tok string) string {
	if len(tok) <= 2 {
		return tok
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 'a' || c > 'z' {
			return tok
		}
	}
	return string(porterstemmer.StemWithoutLowerCasing([]rune(tok)))
}

// foldFilter applies Fold to every token.
type foldFilter struct{}

func (foldFilter) Filter(in bleve.TokenStream) bleve.TokenStream {
	for _, t := range in {
		for _, c := range t.Term {
			if c >= utf8.RuneSelf {
				t.Term = []byte(Fold(string(t.Term)))
				break
			}
		}
	}
	return in
}

// wordFilter drops tokens with no letter or digit: UAX #29 makes a word of
// a run of connector punctuation ("_____", a fill-in-the-blank), which
// Lucene's StandardTokenizer, like a reader, does not.
type wordFilter struct{}

func (wordFilter) Filter(in bleve.TokenStream) bleve.TokenStream {
	out := in[:0]
	for _, t := range in {
		for _, r := range string(t.Term) {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

// NewAnalyzer returns the full pipeline as a bleve analyzer: Unicode word
// segmentation (UAX #29, keeping words with a letter or digit), full/half-width folding, English possessive
// removal, lower-casing, NFKC and Latin accent folding, stop words, bigrams
// over runs of CJK characters, and Porter stemming (which leaves non-Latin
// tokens unchanged). It is built here rather than named in bleve's
// registry, so nothing is looked up by name or registered at import time.
// The analyzer is safe for concurrent use.
func NewAnalyzer() bleve.Analyzer {
	return &bleve.DefaultAnalyzer{
		Tokenizer: uniseg.NewUnicodeTokenizer(),
		TokenFilters: []bleve.TokenFilter{
			wordFilter{},
			cjk.NewCJKWidthFilter(),
			en.NewPossessiveFilter(),
			lowercase.NewLowerCaseFilter(),
			foldFilter{},
			stop.NewStopTokensFilter(stopSet),
			cjk.NewCJKBigramFilter(false),
			porter.NewPorterStemmer(),
		},
	}
}

var shared = sync.OnceValue(NewAnalyzer)

// Terms returns the analyzed terms of text in order, with repeats: what a
// query or a document field becomes in the lexical index.
func Terms(text string) []string {
	ts := shared().Analyze([]byte(text))
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t.Term)
	}
	return out
}
