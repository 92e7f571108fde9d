package chunk

import (
	"context"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/parse"
)

// Break levels: where auto prefers to end a chunk, best last.
const (
	levelNone      = iota
	levelToken     // any token boundary on a character boundary
	levelLine      // start of a line (a table row, a code line)
	levelSentence  // after . ! ? (or 。！？) and spaces, outside tables and code
	levelParagraph // after a blank line, or at the start of a section
	levelHeading   // at the start of a heading section
)

// auto cuts chunks of at most maxTok tokens whose ends fall on the best
// structural break available, and whose starts overlap the previous chunk
// by about overlap tokens. See the package documentation for the rules.
// d.text must not be empty (Split returns nil for an empty document).
func (d *document) auto(ctx context.Context, maxTok, overlap int) ([]Chunk, error) {
	start, prevEnd := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		prefix := d.tablePrefix(start, maxTok)
		budget := maxTok
		if prefix != "" {
			budget -= d.enc.count(prefix)
		}
		var end, n int
		for {
			end = d.chooseEnd(start, prevEnd, budget, maxTok)
			n = d.count(prefix, start, end)
			if n <= maxTok {
				break
			}
			// Re-tokenized on its own the span came out longer than the
			// document's tokens said; shrink the budget and choose again.
			budget -= max(1, n-maxTok)
			if budget >= 1 {
				continue
			}
			if prefix != "" {
				prefix, budget = "", maxTok
			} else if start < prevEnd {
				start, budget = prevEnd, maxTok
			} else {
				break // unreachable for maxTok >= 4: one character is at most 4 tokens
			}
		}
		d.emit(prefix, start, end, n)
		if end == len(d.text) {
			return d.out, nil
		}
		start, prevEnd = d.overlapStart(start, end, overlap, maxTok), end
	}
}

// chooseEnd returns the end of the chunk that starts at start and may use
// budget document tokens. The end lies after prevEnd (so every chunk adds
// text) and is the latest of the best breaks in the second half of the
// window; when that half holds only token breaks, the latest line-or-better
// break between prevEnd and the second half is taken instead, so that a
// table row or a code block that fits is never cut.
func (d *document) chooseEnd(start, prevEnd, budget, maxTok int) int {
	from := max(start, prevEnd)
	t0 := d.tokensBefore(start) // the token holding start
	if t0+budget >= len(d.ends) {
		return len(d.text)
	}
	hi := alignBack(d.text, int(d.ends[t0+budget-1]))
	if hi <= from {
		return nextRune(d.text, from)
	}
	lo := max(alignBack(d.text, d.tokStart(t0+budget/2)), from+1)
	lv := d.breakLevels(from, hi, maxTok)
	best, bestAt := levelNone, -1
	for p := hi; p >= lo; p-- {
		if l := int(lv[p-from]); l > best {
			best, bestAt = l, p
		}
	}
	if best < levelLine {
		fb, fbAt := levelNone, -1
		for p := lo - 1; p > from; p-- {
			if l := int(lv[p-from]); l >= levelLine && l > fb {
				fb, fbAt = l, p
			}
		}
		if fbAt > 0 {
			return fbAt
		}
	}
	if bestAt < 0 {
		return hi
	}
	return bestAt
}

// overlapStart returns where the chunk after [start, end) begins: about
// overlap document tokens before end, moved forward (never back) to the
// first of the best line-or-better breaks within overlap/2 tokens; inside
// a table or a code block, when that slack holds no line-or-better break,
// to the first one after it (before end), so that a row or a line is not
// cut. The overlap also shrinks when needed
// to fit a code block that begins at end.
func (d *document) overlapStart(start, end, overlap, maxTok int) int {
	if overlap <= 0 {
		return end
	}
	tEnd := d.tokensBefore(end)
	tp := max(tEnd-overlap, d.tokensBefore(start)+1)
	if i := d.sectionAt(end); i < len(d.sections) {
		if sec := &d.sections[i]; sec.Kind == parse.CodeBlock && sec.Start == end && d.fits(sec, maxTok) {
			// Leave room for the block and a few tokens of re-tokenization.
			tp = max(tp, d.tokensBefore(sec.End)+4-maxTok)
		}
	}
	p0 := alignFwd(d.text, d.tokStart(tp))
	if p0 >= end || p0 <= start {
		return end
	}
	slackEnd := min(alignBack(d.text, d.tokStart(tp+overlap/2)), end-1)
	// Inside a table or a code block the search may continue, at line
	// level, up to end; the levels of that stretch are computed with the
	// slack's, in one pass.
	hi := slackEnd
	if i := d.sectionAt(p0); i < len(d.sections) && d.sections[i].Start < p0 &&
		(d.sections[i].Kind == parse.Table || d.sections[i].Kind == parse.CodeBlock) {
		hi = end - 1
	}
	if hi <= p0 {
		return p0
	}
	lv := d.breakLevels(p0-1, hi, maxTok)
	best, bestAt := levelLine-1, p0
	for p := p0; p <= slackEnd; p++ {
		if l := int(lv[p-(p0-1)]); l > best {
			best, bestAt = l, p
			if l == levelHeading {
				break
			}
		}
	}
	if best < levelLine {
		// Nothing at line level or better within the slack: in a table or
		// a code block, take the first line-or-better break before end.
		for p := max(slackEnd+1, p0); p <= hi; p++ {
			if lv[p-(p0-1)] >= levelLine {
				return p
			}
		}
	}
	return bestAt
}

// fits reports whether a section's document tokens fit in one chunk.
func (d *document) fits(sec *parse.Section, maxTok int) bool {
	return d.tokensBetween(sec.Start, sec.End) <= maxTok-4
}

// breakLevels returns, for each position p in [from, hi], the level of a
// break at p in lv[p-from] (lv[0] is always levelNone). A break at p ends a
// chunk just before text[p].
func (d *document) breakLevels(from, hi, maxTok int) []uint8 {
	n := hi - from + 1
	if cap(d.levels) < n {
		d.levels = make([]uint8, n)
	}
	lv := d.levels[:n]
	clear(lv)
	text := d.text
	set := func(p int, l uint8) {
		if p > from && p <= hi && lv[p-from] < l {
			lv[p-from] = l
		}
	}
	// Token boundaries.
	for t := d.tokensBefore(from); t < len(d.ends) && int(d.ends[t]) <= hi; t++ {
		if p := int(d.ends[t]); p < len(text) && utf8.RuneStart(text[p]) {
			set(p, levelToken)
		}
	}
	// Lines, paragraphs and sentences.
	for i := from; i < hi; i++ {
		switch b := text[i]; b {
		case '\n':
			l := uint8(levelLine)
			j := i - 1
			for j >= 0 && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r') {
				j--
			}
			if j < 0 || text[j] == '\n' {
				l = levelParagraph
			}
			set(i+1, l)
		case '.', '!', '?', 0xE3, 0xEF:
			if p := sentenceEnd(text, i); p > 0 && p <= hi {
				if k := d.sectionAt(p - 1); k >= len(d.sections) || d.sections[k].Start > p-1 ||
					d.sections[k].Kind != parse.Table && d.sections[k].Kind != parse.CodeBlock {
					set(p, levelSentence)
				}
			}
		}
	}
	// Section starts, then suppressions: never right after a heading, never
	// inside a code block that fits in a chunk.
	first := d.sectionAt(from)
	for k := first; k < len(d.sections) && d.sections[k].Start <= hi; k++ {
		if sec := &d.sections[k]; sec.Kind == parse.Heading {
			set(sec.Start, levelHeading)
		} else {
			set(sec.Start, levelParagraph)
		}
	}
	for k := first; k < len(d.sections) && d.sections[k].Start <= hi; k++ {
		sec := &d.sections[k]
		switch {
		case sec.Kind == parse.Heading:
			if sec.End > from && sec.End <= hi {
				lv[sec.End-from] = levelNone
			}
		case sec.Kind == parse.CodeBlock && d.fits(sec, maxTok):
			for p := max(sec.Start+1, from+1); p < sec.End && p <= hi; p++ {
				lv[p-from] = levelNone
			}
		}
	}
	return lv
}

// sentenceEnd returns the position after the sentence terminator at
// text[i], its closing quotes or brackets, and the spaces after it; or 0
// when text[i] does not end a sentence. An ASCII terminator must be
// followed by a space; a CJK one (。！？) need not be.
func sentenceEnd(text string, i int) int {
	j := i + 1
	cjk := false
	if b := text[i]; b >= utf8.RuneSelf {
		r, w := utf8.DecodeRuneInString(text[i:])
		if r != '。' && r != '！' && r != '？' {
			return 0
		}
		j, cjk = i+w, true
	}
	for j < len(text) {
		r, w := utf8.DecodeRuneInString(text[j:])
		if r != '"' && r != '\'' && r != ')' && r != ']' && r != '”' && r != '’' && r != '»' && r != '」' && r != '』' && r != '）' {
			break
		}
		j += w
	}
	k := j
	for k < len(text) && (text[k] == ' ' || text[k] == '\t' || text[k] == '\n' || text[k] == '\r') {
		k++
	}
	if k == j && !cjk || k >= len(text) {
		return 0
	}
	return k
}
