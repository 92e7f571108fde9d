package rewrite

import (
	"context"
	"slices"
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
//
// Besides its phrase lists, Local judges words by the searched collection
// when the Vocabulary knows it (see words): a sentence or clause that
// addresses the exchange (it holds a personal pronoun or a modal) or is
// short, and tells less about the collection than the query's most
// informative one, is dropped ("…. Where do I start?", "X, recommendations
// welcome"); and, once spelling is corrected, words no document holds are
// left out, since they can match nothing and only blur the query's vector.
func (l *Local) Rewrite(ctx context.Context, query string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q := strings.TrimSpace(query)
	if q == "" {
		return nil, ErrEmptyQuery
	}
	ws := l.words()
	var cores [][]string
	parts := splitCompound(strings.Fields(spaceDashes(q)))
	for _, part := range parts {
		core, request := ws.stripFiller(part)
		if len(parts) > 1 && isInterjection(part) && !request {
			continue
		}
		if len(core) > 0 {
			cores = append(cores, core)
		}
	}
	cores = ws.dropTalk(cores)
	var out []string
	switch len(cores) {
	case 0:
		out = []string{strings.Join(strings.Fields(q), " ")}
	case 1:
		out = []string{strings.Join(cores[0], " ")}
	default:
		var all []string
		for _, c := range cores {
			all = append(all, c...)
		}
		out = []string{strings.Join(all, " ")}
		for _, c := range cores {
			out = append(out, strings.Join(c, " "))
		}
	}
	if l.vocab != nil {
		for i, s := range out {
			out[i] = ws.dropAbsent(l.correct(s, ws.fix))
		}
	}
	out = dedupe(out, MaxQueries)
	if len(out) == 0 {
		out = []string{q}
	}
	return out, nil
}

// spaceDashes sets dashes used as punctuation apart ("X—can someone",
// "X – thanks"), so that they end a clause like a comma.
func spaceDashes(q string) string {
	return strings.NewReplacer("—", " — ", "–", " – ").Replace(q)
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
// next: next is capitalized and w is not an abbreviation ("e.g.", "v1.2.",
// "al.", "vs.", "Dr.", "Fig."): no inner dot, and more than two letters,
// or three in lower case ("for.", "all." end sentences); a "." standing
// alone ends one.
func sentenceEnd(w, next string) bool {
	core := strings.TrimRight(w, ".")
	n := utf8.RuneCountInString(core)
	first, _ := utf8.DecodeRuneInString(core)
	if n == 0 || isClosed(strings.ToLower(core)) {
		return true // a detached ".", or "of." "me." closing a sentence
	}
	if n <= 2 || (n == 3 && !unicode.IsLower(first)) || strings.ContainsRune(core, '.') {
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
// query trimmed), which may be none, and whether it was a request: a
// leading filler phrase was removed and words remain ("Explain BM25.").
func (s *words) stripFiller(words []string) (core []string, request bool) {
	c := clause{}
	for _, w := range words {
		n := norm(w)
		if n == "" {
			if len(c.kept) > 0 && isClauseMark(w) {
				c.end[len(c.end)-1] = true // a detached comma or dash still ends a clause
			}
			continue
		}
		if n == "please" || n == "pls" || n == "plz" || n == "kindly" {
			if len(c.end) > 0 && isClauseMark(w) {
				c.end[len(c.end)-1] = true
			}
			continue // filler anywhere
		}
		c.ws = append(c.ws, n)
		c.kept = append(c.kept, w)
		c.end = append(c.end, isClauseMark(w))
		c.topic = append(c.topic, false)
	}
	f := fillers()
	stripped, connector, peeled, framed := false, false, false, false
	for len(c.ws) > 0 {
		if n := longestMatch(c.ws, f.leading, false); n > 0 {
			c, stripped = c.from(n), true
			continue
		}
		if stripped && !connector {
			if n := longestMatch(c.ws, f.connector, false); n > 0 && n < len(c.ws) {
				c, connector = c.from(n), true
				continue
			}
		}
		// Request frames opening a clause ("I am hoping to locate
		// material regarding X"); then a leading clause that talks to the
		// reader ("Good morning, …", "Question for you: …"), and look for
		// filler again.
		if !framed {
			n := len(c.ws)
			c, framed = s.cutFrames(c, (stripped && !connector) || peeled), true
			if len(c.ws) < n {
				continue
			}
		}
		if n := s.talkingLead(c); n > 0 {
			c, peeled, framed = c.from(n), true, false
			for len(c.ws) > 1 && isConjunction(c.ws[0]) {
				c = c.from(1)
			}
			continue
		}
		break
	}
	request = stripped && len(c.ws) > 0
	c = s.stripClosing(c)
	for len(c.ws) > 0 {
		n := longestMatch(c.ws, f.trailing, true)
		if n == 0 {
			break
		}
		c = c.upto(len(c.ws) - n) // may empty "thank you!"
	}
	if len(c.kept) == 0 {
		return nil, request
	}
	out := append([]string(nil), c.kept...)
	out[0] = strings.TrimLeftFunc(out[0], isTrimmable)
	out[len(out)-1] = strings.TrimRightFunc(out[len(out)-1], isTrimmable)
	if out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	if len(out) > 0 && out[0] == "" {
		out = out[1:]
	}
	return out, request
}

// clause is a run of a query's words: normalized (ws), as typed (kept),
// whether a clause ends after each (end: a comma, colon, semicolon or dash
// follows it), and whether each followed a request frame in its clause
// (topic: what a frame introduces is the topic).
type clause struct {
	ws, kept   []string
	end, topic []bool
}

func (c clause) from(i int) clause {
	return clause{c.ws[i:], c.kept[i:], c.end[i:], c.topic[i:]}
}

func (c clause) upto(i int) clause {
	c = clause{c.ws[:i], c.kept[:i], c.end[:i], c.topic[:i]}
	if i > 0 {
		c.kept[i-1] = strings.TrimRightFunc(c.kept[i-1], isTrimmable)
	}
	return c
}

// isClauseMark reports whether w ends in, or is, punctuation that ends a
// clause inside a sentence: a comma, colon, semicolon or dash.
func isClauseMark(w string) bool {
	if w == "-" || w == "—" || w == "–" || w == "--" {
		return true
	}
	last, _ := utf8.DecodeLastRuneInString(w)
	return last == ',' || last == ':' || last == ';'
}

// clauses returns the lengths of c's clauses, cut after a clause mark and
// before "but".
func (c clause) clauses() []int {
	var ns []int
	start := 0
	for i := range c.ws {
		if i > start && c.ws[i] == "but" {
			ns = append(ns, i-start)
			start = i
		}
		if c.end[i] || i == len(c.ws)-1 {
			ns = append(ns, i+1-start)
			start = i + 1
		}
	}
	return ns
}

// talkingLead returns the length of c's first clause when it talks to the
// reader rather than names the topic (see words.talking), else 0.
func (s *words) talkingLead(c clause) int {
	gs, framed := c.groups()
	if len(gs) > 1 && s.talking(gs, framed, maxShortClause)[0] {
		return len(gs[0])
	}
	return 0
}

// groups returns c's clauses' normalized words, and whether each follows
// a request frame.
func (c clause) groups() (gs [][]string, framed []bool) {
	at := 0
	for _, n := range c.clauses() {
		gs = append(gs, c.ws[at:at+n])
		framed = append(framed, c.topic[at])
		at += n
	}
	return gs, framed
}

// dropTalk removes the sub-questions that talk to the reader (see
// talking) when there are several.
func (s *words) dropTalk(cores [][]string) [][]string {
	if len(cores) < 2 {
		return cores
	}
	norms := make([][]string, len(cores))
	for i, c := range cores {
		for _, w := range c {
			if n := norm(w); n != "" {
				norms[i] = append(norms[i], n)
			}
		}
	}
	talk := s.talking(norms, nil, maxShortPart)
	out := cores[:0:0]
	for i, c := range cores {
		if !talk[i] {
			out = append(out, c)
		}
	}
	return out
}

// Talk bounds, in words.
const (
	// maxTalk is the longest clause or sentence that can talk.
	maxTalk = 8
	// maxShortClause is the longest clause that talks without a pronoun
	// or a modal, when it tells less than the most informative clause.
	maxShortClause = 3
	// maxShortPart is the same for a sentence.
	maxShortPart = 2
)

// talking reports which clauses or sentences (gs, normalized words) of a
// query are about the exchange rather than the topic. The topic, which
// never talks, is the first that follows a request frame (framed, when
// given; cutFrames) or else the one with the most open-class words (not isClosed),
// counted half for one that addresses the reader (addresses: a pronoun
// marks a request), and of equals the one that tells most about the
// collection (words.infoOf). Another of at most maxTalk words talks when
// it addresses the reader ("where do I start", "any material you could
// share", "can someone point me at the docs", "if that's alright"), or when it has at most short open-class
// words, fewer than the topic, and none tells as much as the topic's most
// informative word ("Dear assistant", "recommendations welcome", "Ideas?").
func (s *words) talking(gs [][]string, framed []bool, short int) []bool {
	main, most, mostInfo := 0, -1.0, -1.0
	addressed := make([]bool, len(gs))
	open := make([]int, len(gs))
	for i, g := range gs {
		addressed[i] = addresses(g)
		open[i] = openWords(g)
		v, info := float64(open[i]), s.infoOf(g)
		if addressed[i] {
			v /= 2
		}
		if i < len(framed) && framed[i] {
			v += 1000 // what a request frame introduced
		}
		if v > most || (v == most && info > mostInfo) {
			main, most, mostInfo = i, v, info
		}
	}
	best := s.maxInfo(gs[main])
	out := make([]bool, len(gs))
	for i, g := range gs {
		if i == main || len(g) > maxTalk {
			continue
		}
		out[i] = addressed[i] || (open[i] <= short && open[i] < open[main] && s.maxInfo(g) < best)
	}
	return out
}

// openWords counts the open-class words of normalized ws (not isClosed).
func openWords(ws []string) int {
	n := 0
	for _, w := range ws {
		if !isClosed(w) {
			n++
		}
	}
	return n
}

// addresses reports whether normalized words ws address the reader: they
// hold a personal or indefinite pronoun (not after an article: "the us"
// is a country), or open with "if" ("what can contour plowing reduce" does
// not).
func addresses(ws []string) bool {
	for j, w := range ws {
		if (isPronoun(w) && (j == 0 || (ws[j-1] != "the" && ws[j-1] != "a"))) || (j == 0 && w == "if") {
			return true
		}
	}
	return false
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
		"anybody", "somebody", "anywhere", "somewhere", "everywhere":
		return true
	}
	return false
}

func isTopicPreposition(w string) bool {
	switch w {
	case "about", "regarding", "concerning", "on", "re", "covering", "around", "surrounding",
		"into", "for", "with":
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

func isConjunction(w string) bool {
	switch w {
	case "but", "so", "and", "or", "then":
		return true
	}
	return false
}

// isClosed reports whether w belongs to a closed class of English (stop
// words, pronouns, modals, auxiliaries, determiners, question words,
// prepositions, conjunctions): such words say how a thing is asked, not
// what about, and carry no information in words.infoOf.
func isClosed(w string) bool {
	if isPronoun(w) || isModal(w) || isTopicPreposition(w) || isConjunction(w) ||
		analysis.IsStopWord(analysis.Fold(w)) {
		return true
	}
	switch w {
	case "what", "what's", "whats", "how", "how's", "why", "where", "where's", "when", "who",
		"who's", "whom", "whose", "which", "whether",
		"do", "does", "did", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has",
		"had", "having", "get", "got", "it's", "its", "there's", "that's", "here", "there",
		"again", "now", "then", "not", "no", "yes", "ok", "okay",
		"any", "some", "all", "each", "every", "this", "that", "these", "those", "other",
		"another", "much", "many", "more", "most", "few", "very", "just", "too", "also",
		"of", "in", "at", "by", "from", "to", "up", "out", "off", "over", "under", "than":
		return true
	}
	return false
}

// frameCut returns how many words of a clause's ws a request frame takes
// (see cutFrames), 0 for none. weak allows a frame of at most
// maxShortFrame words without a pronoun or -ing opening.
func (s *words) frameCut(ws []string, weak bool, limit int) int {
	for i := 1; i < len(ws)-1 && i <= limit; i++ {
		if !isTopicPreposition(ws[i]) {
			continue
		}
		if slices.Contains(ws[:i], "of") || s.maxInfo(ws[i+1:]) == 0 {
			return 0 // "systems of data coding for …" is a topic
		}
		if weak && i <= maxShortFrame && openWords(ws[:i]) <= 1 {
			return i + 1
		}
		lead := 0
		if isConjunction(ws[0]) {
			lead = 1 // "but what have we got regarding X"
		}
		sign := len(ws[lead]) >= 6 && strings.HasSuffix(ws[lead], "ing")
		for _, w := range ws[lead:min(lead+3, i)] {
			sign = sign || isPronoun(w)
		}
		// "on", "for" and "with" also join a topic's parts: a frame they
		// end leaves more of the clause than it takes, or its most
		// informative word ("I've been trying to figure out X for ages"
		// keeps X).
		weakPrep := ws[i] == "on" || ws[i] == "for" || ws[i] == "with"
		if sign && (!weakPrep || openWords(ws[i+1:]) >= openWords(ws[:i]) || s.maxInfo(ws[i+1:]) > s.maxInfo(ws[:i])) {
			return i + 1
		}
		return 0
	}
	return 0
}

// Request frames.
const (
	// maxShortFrame bounds a frame known only from the conversational
	// words before it, or following another frame.
	maxShortFrame = 3
	// maxFrame bounds the words before the topic preposition of a frame.
	maxFrame = 8
	// maxClosing bounds the words of a closing clause after "and"/"but".
	maxClosing = 6
)

// cutFrames cuts request frames, in each clause: the words up to the
// clause's first topic preposition, when it comes among the first
// maxFrame words, no "of" comes before it (an "of" marks a noun phrase,
// the topic's: "systems of data coding for X"), a word the collection
// holds comes after it, and there is a sign of a request: a pronoun among
// the clause's first three words (after a conjunction: "I am hoping to
// locate material regarding X" → X, "but what have we got regarding X"),
// an opening verb in -ing ("Trying to get up to speed with X"), or, for a
// frame of at most maxShortFrame words with one open-class word opening
// the query's first clause, conversational words removed before it (weak:
// "[help me find] documents about X"). A cut frame may be followed by short ones ("trouble you for
// sources on X"). A strong sign's frame ending in "on", "for" or "with"
// must leave at least as many open-class words as it takes, or the most
// informative one (words.info).
// It never leaves fewer than one word. Grammar decides
// here rather than word statistics: in a collection gathered around its
// queries (msmarco-5k) the topic's words are commoner than the frame's.
func (s *words) cutFrames(c clause, weak bool) clause {
	// Each clause may open with a frame; a cut frame may be followed by
	// short ones ("trouble you for sources on X").
	start := 0
	for _, m := range c.clauses() {
		cl := c.ws[start : start+m]
		cut := s.frameCut(cl, weak && start == 0, maxFrame)
		for k := cut; k > 0; {
			k = s.frameCut(cl[cut:], true, maxShortFrame)
			cut += k
		}
		if cut > 0 && cut < m {
			c = clause{
				append(append([]string(nil), c.ws[:start]...), c.ws[start+cut:]...),
				append(append([]string(nil), c.kept[:start]...), c.kept[start+cut:]...),
				append(append([]bool(nil), c.end[:start]...), c.end[start+cut:]...),
				append(append([]bool(nil), c.topic[:start]...), c.topic[start+cut:]...),
			}
			m -= cut
			for j := start; j < start+m; j++ {
				c.topic[j] = true
			}
		}
		start += m
	}
	return c
}

// stripClosing cuts a closing clause after "and" or "but" of at most
// maxClosing words that opens with a pronoun, a modal or "if" ("X and
// would appreciate some pointers"), or a closing clause after a comma or
// dash that talks to the reader (see words.talking).
func (s *words) stripClosing(c clause) clause {
	for i := max(1, len(c.ws)-maxClosing); i < len(c.ws); i++ {
		if c.ws[i] != "and" && c.ws[i] != "but" {
			continue
		}
		if j := i + 1; j < len(c.ws) && (isPronoun(c.ws[j]) || isModal(c.ws[j]) || c.ws[j] == "if") {
			return c.upto(i)
		}
	}
	// A closing clause after a comma or dash that talks to the reader.
	if gs, framed := c.groups(); len(gs) > 1 && s.talking(gs, framed, maxShortClause)[len(gs)-1] {
		return c.upto(len(c.ws) - len(gs[len(gs)-1]))
	}
	return c
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
	// In a query typed in capitals, capitals do not mark acronyms.
	caseless := strings.IndexFunc(q, unicode.IsLower) < 0
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
		if !eligible(core, caseless) {
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
// long enough, not an acronym (unless caseless: the query has no lower
// case), a stop word or another closed-class word.
func eligible(w string, caseless bool) bool {
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
	if n < minCorrectLen || (upper > 1 && !caseless) {
		return false
	}
	return !analysis.IsStopWord(analysis.Fold(w)) && !isClosed(strings.ToLower(w))
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
		if rep != t && dist(w, rw, rep, maxD) > maxD {
			continue // the shown word is farther from w than its stem is ("trying" ≉ "tr")
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
