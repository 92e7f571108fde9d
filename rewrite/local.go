package rewrite

import (
	"context"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/analysis"
)

// Local is a Rewriter that needs no network: it strips conversational
// filler, splits compound questions into sub-queries and corrects misspelled
// words against a Vocabulary. It is deterministic and safe for concurrent
// use.
type Local struct {
	vocab Vocabulary
}

// NewLocal returns a local rewriter correcting spelling against vocab; a
// nil vocab disables spelling correction.
func NewLocal(vocab Vocabulary) *Local { return &Local{vocab: vocab} }

// Spelling-correction bounds.
const (
	// minCorrectLen is the shortest word (in runes) Local corrects.
	minCorrectLen = 4
	// longWordLen is the length from which an edit distance of 2 is allowed
	// (1 below it).
	longWordLen = 8
	// maxCandidates bounds the terms fetched from the Vocabulary per word.
	maxCandidates = 10000
)

// Rewrite returns the queries to run for query: first the whole query with
// filler removed, then, for a compound question, each sub-question; every
// query spelling-corrected; duplicates removed; at most MaxQueries. When
// nothing is left after removing filler the query is kept as typed (trimmed).
// It returns ErrEmptyQuery for a blank query and ctx's error when ctx is done.
func (l *Local) Rewrite(ctx context.Context, query string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, ErrEmptyQuery
	}
	var cores []string
	parts := splitCompound(strings.Fields(q))
	for _, part := range parts {
		if len(parts) > 1 && isInterjection(part) {
			continue
		}
		if core := stripFiller(part); len(core) > 0 {
			cores = append(cores, strings.Join(core, " "))
		}
	}
	var out []string
	switch len(cores) {
	case 0:
		out = []string{strings.Join(strings.Fields(q), " ")}
	case 1:
		out = cores
	default:
		out = append([]string{strings.Join(cores, " ")}, cores...)
	}
	if l.vocab != nil {
		fix := map[string]string{}
		for i, s := range out {
			out[i] = l.correct(s, fix)
		}
	}
	out = dedupe(out, MaxQueries)
	if len(out) == 0 {
		out = []string{q}
	}
	return out, nil
}

// norm lower-cases a word and trims surrounding punctuation, mapping curly
// apostrophes to straight ones.
func norm(w string) string {
	w = strings.ToLower(strings.ReplaceAll(w, "’", "'"))
	return strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' })
}

// splitCompound cuts words into sub-questions at "?", ";", "!" followed by
// more words, at sentence ends, and before "and" or "also" introducing a new
// question ("X and also Y", "X and how Y").
func splitCompound(words []string) [][]string {
	var parts [][]string
	start := 0
	cut := func(end int) {
		if end > start {
			parts = append(parts, words[start:end])
		}
		start = end
	}
	for i := 0; i < len(words)-1; i++ {
		w := words[i]
		last, _ := utf8.DecodeLastRuneInString(w)
		switch {
		case last == '?' || last == ';' || last == '!':
			cut(i + 1)
		case last == '.' && sentenceEnd(w, words[i+1]):
			cut(i + 1)
		case i > start && (norm(w) == "and" || norm(w) == "also" || norm(w) == "plus") && newClause(norm(words[i+1])):
			cut(i)
		}
	}
	cut(len(words))
	return parts
}

// isInterjection reports whether a sentence of a longer query is an
// interjection (a greeting, a sign-off, thanks: "Greetings.", "Hello
// again!", "Regards."): at most two words, closed by '.' or '!', not a
// question. It asks for nothing, so it is neither a query of its own nor
// part of the whole one. Grammar, not a list of phrasings.
func isInterjection(part []string) bool {
	if len(part) > 2 {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(part[len(part)-1])
	return last == '.' || last == '!'
}

// sentenceEnd reports whether w, ending in '.', closes a sentence before
// next: not an abbreviation ("e.g.", "Dr.", "v1.2.") and next is capitalized.
func sentenceEnd(w, next string) bool {
	core := strings.TrimRight(w, ".")
	if utf8.RuneCountInString(core) <= 3 || strings.ContainsRune(core, '.') {
		return false
	}
	r, _ := utf8.DecodeRuneInString(next)
	return unicode.IsUpper(r)
}

func newClause(next string) bool {
	switch next {
	case "also", "additionally", "what", "what's", "whats", "how", "why", "where", "when", "who",
		"which", "whether", "tell", "explain", "describe", "can", "could", "is", "are", "does", "do":
		return true
	}
	return false
}

// Filler phrases, lower case, space separated. Leading ones are removed from
// the start of a query repeatedly; connectors only right after a leading one
// ("tell me" + "about"); trailing ones from the end.
// fillers holds the phrase tables, built on first use.
var fillers = sync.OnceValue(func() (f struct{ leading, connector, trailing []phrase }) {
	f.leading = phrases(
		"hi", "hello", "hey", "hey there", "hi there", "ok", "okay", "so", "well", "um", "uh", "yo",
		"please", "pls", "plz", "kindly", "and", "also", "and also", "additionally",
		"can you", "could you", "would you", "will you", "can u", "could u", "would u",
		"can you please", "could you please", "would you please", "would you mind",
		"would you be able to", "are you able to", "is it possible to",
		"tell me", "tell us", "let me know", "show me", "give me", "find me", "get me", "fetch",
		"search for", "look up", "lookup", "look for", "find", "search", "help me understand",
		"help me", "teach me", "remind me", "walk me through",
		"i'd like to know", "i would like to know", "id like to know", "i'd love to know",
		"i want to know", "i wanna know", "i need to know", "i'd like to learn",
		"i would like to learn", "i want to learn", "i'd like to understand",
		"i want to understand", "i'd like", "i would like", "i want", "i need",
		"i'm looking for", "im looking for", "i am looking for", "looking for",
		"i'm interested in", "i am interested in", "im interested in",
		"i was wondering", "i wonder", "i'm curious", "i am curious", "im curious",
		"what do you know", "what can you tell me", "what can you tell us", "what is known",
		"what's known", "whats known", "what do we know", "what is there to know",
		"do you know", "do you have", "have you got", "do you have any information",
		"everything you know", "all you know", "whatever you know",
		"explain", "describe", "summarize", "summarise", "elaborate", "define",
		"give an overview of", "give me an overview of", "provide an overview of",
		"provide information", "provide details",
	)
	f.connector = phrases(
		"about", "on", "regarding", "concerning", "re", "of", "to me", "for me", "us", "me",
		"anything about", "something about", "everything about", "more about", "more on",
		"a bit about", "a little about", "a little bit about", "some information about",
		"any information about", "some info about", "any info about", "information about",
		"information on", "info about", "info on", "details about", "details on",
		"details of", "more details about", "more details on", "more information about",
		"more information on", "an overview of", "a summary of", "overview of", "summary of",
		"in detail", "briefly",
	)
	f.trailing = phrases(
		"please", "pls", "plz", "thanks", "thank you", "thank you very much", "thanks a lot",
		"many thanks", "thx", "ty", "cheers", "for me", "if you can", "if possible",
		"if you could", "if you would", "in detail", "briefly", "in simple terms",
		"please and thank you", "thanks in advance",
	)
	return f
})

// phrase is a filler phrase as normalized words.
type phrase []string

func phrases(ps ...string) []phrase {
	out := make([]phrase, len(ps))
	for i, p := range ps {
		out[i] = strings.Fields(p)
	}
	return out
}

// longestMatch returns the length in words of the longest phrase matching
// normalized words at the start (fromEnd false) or the end (fromEnd true).
func longestMatch(ws []string, ps []phrase, fromEnd bool) int {
	best := 0
	for _, p := range ps {
		if len(p) > len(ws) || len(p) <= best {
			continue
		}
		off := 0
		if fromEnd {
			off = len(ws) - len(p)
		}
		ok := true
		for j, w := range p {
			if ws[off+j] != w {
				ok = false
				break
			}
		}
		if ok {
			best = len(p)
		}
	}
	return best
}

// stripFiller removes conversational filler from one sub-question and
// returns the remaining words (original spelling, outer punctuation of the
// query trimmed). It may return nothing.
func stripFiller(words []string) []string {
	ws := make([]string, 0, len(words))
	kept := make([]string, 0, len(words))
	for _, w := range words {
		n := norm(w)
		if n == "" {
			if strings.HasPrefix(w, ",") && len(kept) > 0 && !strings.HasSuffix(kept[len(kept)-1], ",") {
				kept[len(kept)-1] += "," // a detached comma still ends a clause
			}
			continue
		}
		if n == "please" || n == "pls" || n == "plz" || n == "kindly" {
			continue // filler anywhere
		}
		ws = append(ws, n)
		kept = append(kept, w)
	}
	f := fillers()
	stripped := false
	for len(ws) > 0 {
		if n := longestMatch(ws, f.leading, false); n > 0 {
			ws, kept, stripped = ws[n:], kept[n:], true
			continue
		}
		if stripped {
			if n := longestMatch(ws, f.connector, false); n > 0 && n < len(ws) {
				ws, kept = ws[n:], kept[n:]
				continue
			}
		}
		break
	}
	ws, kept = stripFrame(ws, kept)
	for len(ws) > 0 {
		n := longestMatch(ws, f.trailing, true)
		if n == 0 {
			break
		}
		ws, kept = ws[:len(ws)-n], kept[:len(kept)-n] // may empty "thank you!"
	}
	if len(kept) == 0 {
		return nil
	}
	out := append([]string(nil), kept...)
	out[0] = strings.TrimLeftFunc(out[0], isTrimmable)
	out[len(out)-1] = strings.TrimRightFunc(out[len(out)-1], isTrimmable)
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	if len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return out
}

// Closed word classes of English that mark the speaker's request rather
// than its topic: personal and indefinite pronouns, and the prepositions
// that introduce a topic. They are grammar, not phrasings: the frame
// "<request with a pronoun> <topic preposition> TOPIC" is cut whatever its
// words, so phrasings the filler lists do not hold are handled too.
func isPronoun(w string) bool {
	switch w {
	case "i", "i'm", "im", "i've", "ive", "i'd", "id", "i'll", "me", "my", "mine", "myself",
		"you", "you're", "you've", "you'd", "your", "yours", "u", "we", "we're", "we've", "us",
		"our", "ours", "anything", "something", "everything", "whatever", "anyone", "someone",
		"anybody", "somebody":
		return true
	}
	return false
}

func isTopicPreposition(w string) bool {
	switch w {
	case "about", "regarding", "concerning", "on", "re", "covering", "around", "surrounding":
		return true
	}
	return false
}

// isModal reports whether w is a modal verb: in a closing clause it marks
// a request about the exchange rather than the topic.
func isModal(w string) bool {
	switch w {
	case "would", "could", "can", "will", "should", "might", "may", "shall":
		return true
	}
	return false
}

// stripFrame cuts a request frame: the words up to the first topic
// preposition when one of the first three words of a clause (the
// sub-question, or what follows a comma or "but") is a pronoun ("I am hoping to locate material
// regarding X" → X), and a closing clause after a comma, or after "and" or
// "but", of at most maxClosing words, that opens with a pronoun, a modal
// or "if" ("X, if that's alright", "X and would appreciate some pointers").
// It never leaves fewer than one word.
func stripFrame(ws, kept []string) ([]string, []string) {
	const maxClosing = 6
	pronoun, clause := false, 0
	for i, w := range ws {
		if i > 0 && pronoun && isTopicPreposition(w) && i+1 < len(ws) {
			ws, kept = ws[i+1:], kept[i+1:]
			break
		}
		if i-clause < 3 && isPronoun(w) { // the frame opens a clause
			pronoun = true
		}
		if w == "but" || strings.HasSuffix(kept[i], ",") {
			clause = i + 1
		}
	}
	// A short closing clause that opens with a pronoun, a modal or "if".
	for i := max(1, len(ws)-maxClosing); i < len(ws); i++ {
		comma := strings.HasSuffix(kept[i-1], ",")
		j := i
		if !comma {
			if ws[i] != "and" && ws[i] != "but" {
				continue
			}
			j++
		}
		if j < len(ws) && (isPronoun(ws[j]) || isModal(ws[j]) || ws[j] == "if") {
			ws, kept = ws[:i], kept[:i]
			kept[i-1] = strings.TrimRight(kept[i-1], ",")
			break
		}
	}
	return ws, kept
}

// isTrimmable is the punctuation trimmed from a query's ends.
func isTrimmable(r rune) bool {
	switch r {
	case '?', '!', '.', ',', ';', ':', '¿', '¡', '…':
		return true
	}
	return unicode.IsSpace(r)
}

// correct replaces misspelled words of q using fix as a per-call cache.
func (l *Local) correct(q string, fix map[string]string) string {
	words := strings.Fields(q)
	changed := false
	for i, w := range words {
		// Keep the word's surrounding punctuation.
		start := strings.IndexFunc(w, unicode.IsLetter)
		if start < 0 {
			continue
		}
		end := strings.LastIndexFunc(w, unicode.IsLetter)
		_, size := utf8.DecodeRuneInString(w[end:])
		end += size
		core := w[start:end]
		if !eligible(core) {
			continue
		}
		lw := strings.ToLower(core)
		rep, ok := fix[lw]
		if !ok {
			rep = l.suggest(lw)
			fix[lw] = rep
		}
		if rep != "" && rep != lw {
			words[i] = w[:start] + rep + w[end:]
			changed = true
		}
	}
	if !changed {
		return q
	}
	return strings.Join(words, " ")
}

// eligible reports whether a word may be spelling-corrected: only letters,
// long enough, not an acronym or a stop word.
func eligible(w string) bool {
	n, upper := 0, 0
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return false
		}
		if unicode.IsUpper(r) {
			upper++
		}
		n++
	}
	if n < minCorrectLen || upper > 1 {
		return false
	}
	return !analysis.IsStopWord(analysis.Fold(w))
}

// suggest returns the replacement for an unknown word w, or "" when w is
// known or nothing is close enough. Best: smallest edit distance (with
// transpositions), then highest frequency, then byte order.
//
// The vocabulary may hold surface forms ("retrieval") or Porter stems
// ("retriev", as a stemmed BM25 index does). So w is known when w or its
// stem is in it, and a candidate term is compared with both w and w's stem;
// a stem that matches gets w's stripped suffix back ("retreival" → stem
// "retreiv" ≈ "retriev" → "retrieval").
func (l *Local) suggest(w string) string {
	if l.vocab.Frequency(w) > 0 {
		return ""
	}
	sw, suffix := w, ""
	if isASCII(w) {
		sw = analysis.Stem(w)
		if sw != w && l.vocab.Frequency(sw) > 0 {
			return ""
		}
		if strings.HasPrefix(w, sw) {
			suffix = w[len(sw):]
		}
	}
	rw := []rune(w)
	maxD := 1
	if len(rw) >= longWordLen {
		maxD = 2
	}
	_, size := utf8.DecodeRuneInString(w)
	var (
		best     string
		bestD    = maxD + 1
		bestFreq uint64
	)
	for _, t := range l.vocab.Terms(w[:size], maxCandidates) {
		if t == w || t == sw {
			continue
		}
		rep := t
		if isASCII(t) && analysis.Stem(t) == t {
			// Perhaps a stem of a stemmed index: show a word.
			rep = surface(t, w, suffix)
		}
		d := maxD + 1
		if abs(len(t)-len(w)) <= 2*maxD { // cheap byte-length reject
			d = dist(w, rw, t, maxD)
		}
		if sw != w && abs(len(t)-len(sw)) <= 2*maxD {
			if ds := dist(sw, nil, t, maxD); ds < d {
				d, rep = ds, surface(t, w, suffix)
			}
		}
		if d > maxD || d > bestD {
			continue
		}
		f := l.vocab.Frequency(t)
		if f == 0 {
			continue
		}
		if d < bestD || f > bestFreq || (f == bestFreq && rep < best) {
			best, bestD, bestFreq = rep, d, f
		}
	}
	return best
}

// surface returns a word whose stem is t, for showing a correction made
// against a stemmed vocabulary as a real word: of t with the typed word w's
// own ending or a common English ending, those that stem back to t, the
// one closest to w by edit distance ("technolgy" → "technology", not the
// stem "technolog"; "schedular" → "scheduler").
func surface(t, w, suffix string) string {
	tails := []string{suffix, ""}
	for n := max(1, len(t)-1); n <= len(t)+1 && n < len(w); n++ {
		tails = append(tails, w[n:])
	}
	tails = append(tails, "e", "y", "s", "er", "ing", "ion", "ation", "al", "ity", "ment", "ness", "ic", "ical", "ive")
	best, bestD := t, len(w)+len(t)+1
	rw := []rune(w)
	for _, tail := range tails {
		c := t + tail
		if analysis.Stem(c) != t {
			continue
		}
		if d := dist(w, rw, c, bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// dist is the edit distance between a (with runes ra, computed when nil) and
// b, or a value above limit.
func dist(a string, ra []rune, b string, limit int) int {
	if len(a) < maxFastLen && len(b) < maxFastLen && isASCII(a) && isASCII(b) {
		return distanceASCII(a, b, limit)
	}
	if ra == nil {
		ra = []rune(a)
	}
	return distance(ra, []rune(b), limit)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// maxFastLen bounds the words distanceASCII handles with stack rows.
const maxFastLen = 64

// distanceASCII is distance for ASCII strings shorter than maxFastLen,
// without allocating: it fills only the band |i-j| <= limit of the matrix.
func distanceASCII(a, b string, limit int) int {
	if abs(len(a)-len(b)) > limit {
		return limit + 1
	}
	big := uint8(min(limit+1, 255))
	var rows [3][maxFastLen]uint8
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev2[j], prev[j], cur[j] = big, big, big
		if j <= limit {
			prev[j] = uint8(j)
		}
	}
	// INVARIANT: a cell outside every band filled so far still holds big,
	// since bands only move right; cells left of the band are reset below.
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-limit), min(len(b), i+limit)
		rowMin := big
		if lo == 1 {
			cur[0] = uint8(min(i, int(big)))
			rowMin = cur[0]
		} else {
			cur[lo-1] = big
		}
		for j := lo; j <= hi; j++ {
			cost := uint8(1)
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			v = min(v, big)
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if int(rowMin) > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return int(prev[len(b)])
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// distance is the optimal-string-alignment edit distance between a and b
// (insertions, deletions, substitutions, adjacent transpositions), or a
// value above limit as soon as it must exceed limit.
func distance(a, b []rune, limit int) int {
	if abs(len(a)-len(b)) > limit {
		return limit + 1
	}
	// Three rows: two back (for transpositions), previous, current.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
