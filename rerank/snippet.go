package rerank

import (
	"strings"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/analysis"
)

// BestSentence returns the byte range [start, end) of the sentence of text
// that best matches query: the one holding the most distinct query terms
// (compared after the engine's analysis: folded, stop words dropped,
// stemmed), ties going to the earlier sentence. Sentences end at '.', '!',
// '?' or '。！？' followed by space or the end, or at a blank line. When no
// sentence holds a query term it returns the first sentence. Long
// sentences are not cut: callers trim the range to the length they show.
// It is safe for concurrent use and does not retain its arguments.
func BestSentence(query, text string) (start, end int) {
	terms := map[string]struct{}{}
	var sc analysis.Scanner
	sc.Reset(query)
	for {
		tok, ok := sc.Next()
		if !ok {
			break
		}
		if w := string(tok); !analysis.IsStopWord(w) {
			terms[analysis.Stem(w)] = struct{}{}
		}
	}
	bestStart, bestEnd, best := -1, -1, 0
	for s, e := 0, 0; s < len(text); s = e {
		e = sentenceEnd(text, s)
		if strings.TrimSpace(text[s:e]) == "" {
			continue
		}
		if bestStart < 0 {
			bestStart, bestEnd = s, e
		}
		seen := map[string]struct{}{}
		sc.Reset(text[s:e])
		for {
			tok, ok := sc.Next()
			if !ok {
				break
			}
			if _, ok := terms[analysis.Stem(string(tok))]; ok {
				seen[analysis.Stem(string(tok))] = struct{}{}
			}
		}
		if len(seen) > best {
			bestStart, bestEnd, best = s, e, len(seen)
		}
	}
	if bestStart < 0 {
		return 0, 0
	}
	// Trim the surrounding white space.
	for bestStart < bestEnd {
		r, n := utf8.DecodeRuneInString(text[bestStart:])
		if !isSpace(r) {
			break
		}
		bestStart += n
	}
	for bestEnd > bestStart {
		r, n := utf8.DecodeLastRuneInString(text[:bestEnd])
		if !isSpace(r) {
			break
		}
		bestEnd -= n
	}
	return bestStart, bestEnd
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u3000' }

// sentenceEnd returns the end of the sentence starting at s.
func sentenceEnd(text string, s int) int {
	for i := s; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		i += n
		switch r {
		case '。', '！', '？':
			return i
		case '.', '!', '?':
			if i == len(text) {
				return i
			}
			if next, _ := utf8.DecodeRuneInString(text[i:]); isSpace(next) {
				return i
			}
		case '\n':
			if strings.HasPrefix(text[i:], "\n") || strings.HasPrefix(text[i:], "\r\n") {
				return i
			}
		}
	}
	return len(text)
}
