package rewrite

import (
	"math"
	"strings"

	"github.com/quarrylabs/quarry/internal/analysis"
)

// words judges a query's words by the searched collection, for one Rewrite
// call: how many chunks hold each (its document frequency in the
// Vocabulary) and so how much it tells about the collection. It is what
// lets the rewriter tell a conversational clause from the topic without a
// list of phrasings, on the collection being searched: "speed" is content
// in an aerodynamics collection and "manager" is absent from it.
type words struct {
	l     *Local
	vocab Vocabulary
	fix   map[string]string // spelling corrections (Local.correct's cache)
	n     float64           // chunks the frequencies count; 0 when unknown
	df    map[string]uint64
}

func (l *Local) words() *words {
	s := &words{l: l, vocab: l.vocab, df: map[string]uint64{}, fix: map[string]string{}}
	if sv, ok := l.vocab.(SizedVocabulary); ok {
		s.n = float64(sv.Size())
	}
	return s
}

// freq returns the number of chunks holding normalized word w: as typed,
// or as the lexical index analyzes it (folded, stemmed, split at inner
// punctuation: "on-call" is known when "call" is). Without a Vocabulary
// every word counts as held once.
func (s *words) freq(w string) uint64 {
	if s.vocab == nil {
		return 1
	}
	if f, ok := s.df[w]; ok {
		return f
	}
	f := s.vocab.Frequency(w)
	if f == 0 {
		for _, t := range analysis.Terms(w) {
			f = max(f, s.vocab.Frequency(t))
		}
	}
	s.df[w] = f
	return f
}

// info is how much normalized word w tells about the collection: 0 for a
// closed-class word (isClosed) or one no chunk holds (a word one edit
// from its spelling correction counts as the correction), else its inverse
// document frequency log(1 + N/df), or 1 when the Vocabulary does not know
// N (is not a SizedVocabulary) or there is none.
func (s *words) info(w string) float64 {
	if isClosed(w) {
		return 0
	}
	f := s.freq(w)
	if f == 0 && eligible(w, false) {
		// A misspelled word tells what its correction tells, if it is
		// one edit away ("apologies" is not "analogies" misspelled).
		rep, ok := s.fix[w]
		if !ok {
			rep = s.l.suggest(w)
			s.fix[w] = rep
		}
		if rep != "" && dist(w, nil, rep, 1) <= 1 {
			f = s.freq(rep)
		}
	}
	if f == 0 {
		return 0
	}
	if s.n == 0 {
		return 1
	}
	return math.Log(1 + s.n/float64(f))
}

// infoOf sums info over normalized words.
func (s *words) infoOf(ws []string) float64 {
	var v float64
	for _, w := range ws {
		v += s.info(w)
	}
	return v
}

// dropAbsent removes from q the words no chunk holds (see freq; stop
// and other closed-class words, numbers and punctuation are kept), unless no word
// of q would be left that a chunk holds: such a word matches nothing, so
// it adds nothing to the keyword ranking and only blurs the query's
// vector. It runs after spelling correction, so a misspelled word is
// corrected, not dropped, when the Vocabulary has a close term.
func (s *words) dropAbsent(q string) string {
	if s.vocab == nil {
		return q
	}
	fs := strings.Fields(q)
	out := fs[:0:0]
	known := false
	for _, w := range fs {
		n := norm(w)
		if n == "" || isClosed(n) || !hasLetter(n) {
			out = append(out, w)
			continue
		}
		if s.freq(n) > 0 {
			known = true
			out = append(out, w)
		}
	}
	if !known || len(out) == len(fs) {
		return q
	}
	out[0] = strings.TrimLeftFunc(out[0], isTrimmable)
	out[len(out)-1] = strings.TrimRightFunc(out[len(out)-1], isTrimmable)
	return strings.Join(out, " ")
}

func hasLetter(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool { return 'a' <= r && r <= 'z' || r > 127 }) >= 0
}

// maxInfo is the largest info of normalized words.
func (s *words) maxInfo(ws []string) float64 {
	var v float64
	for _, w := range ws {
		v = max(v, s.info(w))
	}
	return v
}
