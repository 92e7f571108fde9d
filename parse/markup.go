package parse

import (
	"context"
	"strings"
	"unicode/utf8"
)

// The markup readers keep the file's text verbatim (so offsets point into
// what the user wrote) and mark its structure with sections.

// mdEmitter accumulates the current markdown block.
type mdEmitter struct {
	b      *builder
	text   string
	start  int
	kind   Kind
	header string
	path   []string
}

// flush adds text[start:end] as the current block and starts a new one.
func (e *mdEmitter) flush(end int) {
	if end > e.start {
		s := Section{Kind: e.kind, Headings: e.path}
		if e.kind == Table {
			s.Header = e.header
		}
		e.b.add(e.text[e.start:end], s)
	}
	e.start = end
}

// begin ends the current block at off and starts one of kind.
func (e *mdEmitter) begin(off int, kind Kind) {
	e.flush(off)
	e.kind, e.header = kind, ""
}

// markdown reads CommonMark-ish markdown: ATX and setext headings, fenced
// code, pipe tables, list items and YAML front matter.
func markdown(ctx context.Context, b *builder, text string) error {
	t := &ticker{ctx: ctx}
	e := &mdEmitter{b: b, text: text}
	var hs headingStack
	off := 0
	// Front matter: a leading "---" block is one paragraph, not a setext heading.
	if strings.HasPrefix(text, "---\n") || strings.HasPrefix(text, "---\r\n") {
		for o := lineEnd(text, 0); o < len(text); {
			end := lineEnd(text, o)
			if l := strings.TrimSpace(text[o:end]); l == "---" || l == "..." {
				e.flush(end)
				off = end
				break
			}
			o = end
		}
	}
	var (
		fence      string // the open fence marker, "" outside code
		paraStart  = -1   // offset of the current paragraph's first line
		paraLines  int
		prevBlank  = true
		listIndent int
	)
	for off < len(text) {
		if err := t.err(); err != nil {
			return err
		}
		end := lineEnd(text, off)
		line := trimEOL(text[off:end])
		trimmed := strings.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		blank := trimmed == ""

		if fence != "" {
			if indent < 4 && strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]+" \t") == "" {
				// The block stays open so that blank lines after it trail it.
				fence = ""
				paraStart, prevBlank = -1, true
			}
			off = end
			continue
		}
		switch {
		case blank:
			// Blank lines trail the block before them.
			paraStart = -1
		case indent < 4 && isFence(trimmed) != "":
			fence = isFence(trimmed)
			e.begin(off, CodeBlock)
		case indent < 4 && atxLevel(trimmed) > 0:
			level := atxLevel(trimmed)
			title := strings.TrimSpace(trimmed[level:])
			title = strings.TrimSpace(strings.TrimRight(title, "#"))
			e.begin(off, Heading)
			e.path = hs.push(level, title)
			paraStart = -1
		case indent < 4 && paraStart >= 0 && paraLines == 1 && e.kind == Paragraph && setextLevel(trimmed) > 0:
			level := setextLevel(trimmed)
			title := strings.TrimSpace(text[paraStart:off])
			e.begin(paraStart, Heading)
			e.path = hs.push(level, title)
			paraStart = -1
		case e.kind == Table && !prevBlank && strings.Contains(line, "|"):
			// another row
		case strings.Contains(line, "|") && isDelimiterRow(trimEOL(text[end:lineEnd(text, end)])):
			e.begin(off, Table)
			e.header = strings.Join(splitRow(trimmed), " | ")
			next := lineEnd(text, end)
			off = next
			prevBlank = false
			continue
		case indent < 4 && listMarker(trimmed) > 0:
			e.begin(off, ListItem)
			listIndent = indent + listMarker(trimmed)
			paraStart = -1
		case e.kind == ListItem && (!prevBlank || indent >= min(listIndent, 4) && indent > 0):
			// continuation of the item
		default:
			if e.kind != Paragraph {
				e.begin(off, Paragraph)
			}
			if paraStart < 0 {
				paraStart, paraLines = off, 0
			}
			paraLines++
		}
		prevBlank = blank
		off = end
	}
	e.flush(len(text))
	return nil
}

// isFence returns the fence marker ("```" or "~~~", possibly longer) that
// opens a code block on line s, or "".
func isFence(s string) string {
	for _, c := range []string{"`", "~"} {
		n := len(s) - len(strings.TrimLeft(s, c))
		if n >= 3 {
			if c == "`" && strings.Contains(s[n:], "`") {
				return ""
			}
			return s[:n]
		}
	}
	return ""
}

// atxLevel returns 1..6 for an ATX heading line, else 0.
func atxLevel(s string) int {
	n := len(s) - len(strings.TrimLeft(s, "#"))
	if n < 1 || n > 6 {
		return 0
	}
	if rest := s[n:]; rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return 0
	}
	return n
}

// setextLevel returns 1 for a "===" underline, 2 for "---", else 0.
func setextLevel(s string) int {
	s = strings.TrimRight(s, " \t")
	switch {
	case s != "" && strings.Trim(s, "=") == "":
		return 1
	case s != "" && strings.Trim(s, "-") == "":
		return 2
	}
	return 0
}

// isDelimiterRow reports whether s is a pipe table's delimiter row, like
// "|---|:---:|" or "--- | ---".
func isDelimiterRow(s string) bool {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "-") || !strings.Contains(s, "|") {
		return false
	}
	cells := splitRow(s)
	if len(cells) == 0 {
		return false
	}
	for _, c := range cells {
		c = strings.Trim(c, ":")
		if c == "" || strings.Trim(c, "-") != "" {
			return false
		}
	}
	return true
}

// splitRow splits a pipe table row into trimmed cells.
func splitRow(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "|")
	if strings.HasSuffix(s, "|") && !strings.HasSuffix(s, `\|`) {
		s = s[:len(s)-1]
	}
	parts := strings.Split(s, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// listMarker returns the width of a list marker ("- ", "* ", "+ ", "1. ",
// "1) ") at the start of s, or 0.
func listMarker(s string) int {
	if len(s) >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') && (s[1] == ' ' || s[1] == '\t') {
		if setextLevel(s) > 0 || strings.Trim(s, "-* \t") == "" {
			return 0 // a thematic break
		}
		return 2
	}
	i := 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && (s[i+1] == ' ' || s[i+1] == '\t') {
		return i + 2
	}
	return 0
}

// rst reads reStructuredText: a title line underlined (and optionally
// overlined) with punctuation is a heading; levels follow the order in which
// underline styles first appear.
func rst(ctx context.Context, b *builder, text string) error {
	t := &ticker{ctx: ctx}
	var offs []int // line starts
	for off := 0; off < len(text); off = lineEnd(text, off) {
		offs = append(offs, off)
	}
	offs = append(offs, len(text))
	line := func(i int) string { return trimEOL(text[offs[i]:offs[i+1]]) }
	n := len(offs) - 1
	var hs headingStack
	var path []string
	styles := map[string]int{}
	start := 0
	for i := 0; i < n; i++ {
		if err := t.err(); err != nil {
			return err
		}
		title := line(i)
		if isBlank(title) || i+1 >= n || title[0] == ' ' || title[0] == '\t' {
			continue
		}
		under := line(i + 1)
		c, ok := adornment(under)
		if !ok || utf8.RuneCountInString(strings.TrimRight(under, " \t")) < min(utf8.RuneCountInString(strings.TrimSpace(title)), 3) {
			continue
		}
		if _, isAdorn := adornment(title); isAdorn {
			continue
		}
		first := i
		style := string(c)
		if i > 0 {
			if oc, ok := adornment(line(i - 1)); ok && oc == c && offs[i-1] >= start {
				first, style = i-1, style+"o"
			}
		}
		level, seen := styles[style]
		if !seen {
			level = len(styles) + 1
			styles[style] = level
		}
		b.add(text[start:offs[first]], Section{Headings: path})
		path = hs.push(level, strings.TrimSpace(title))
		i++
		for i+1 < n && isBlank(line(i+1)) {
			i++
		}
		b.add(text[offs[first]:offs[i+1]], Section{Kind: Heading, Headings: path})
		start = offs[i+1]
	}
	b.add(text[start:], Section{Headings: path})
	return nil
}

// adornment reports whether s is an RST section adornment line: one
// punctuation character repeated, at least 3 times (or 2 for short titles).
func adornment(s string) (byte, bool) {
	s = strings.TrimRight(s, " \t")
	if len(s) < 2 {
		return 0, false
	}
	c := s[0]
	if !strings.ContainsRune("=-~^\"'`#*+:._<>!$%&(),/;?@[]{}|\\", rune(c)) {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if s[i] != c {
			return 0, false
		}
	}
	return c, true
}

// latexLevels gives the heading level of each sectioning command.
var latexLevels = map[string]int{
	"part": 1, "chapter": 2, "section": 3, "subsection": 4, "subsubsection": 5, "paragraph": 6,
}

// latex reads LaTeX source: sectioning commands are headings and verbatim
// environments are code. The text is the source itself.
func latex(ctx context.Context, b *builder, text string) error {
	t := &ticker{ctx: ctx}
	var hs headingStack
	var path []string
	start := 0
	endVerbatim := ""
	for off := 0; off < len(text); {
		if err := t.err(); err != nil {
			return err
		}
		end := lineEnd(text, off)
		line := strings.TrimSpace(text[off:end])
		if endVerbatim != "" {
			if strings.Contains(line, endVerbatim) {
				b.add(text[start:end], Section{Kind: CodeBlock, Headings: path})
				start, endVerbatim = end, ""
			}
			off = end
			continue
		}
		if env := verbatimEnv(line); env != "" {
			b.add(text[start:off], Section{Headings: path})
			start, endVerbatim = off, `\end{`+env+`}`
			if strings.Contains(line, endVerbatim) {
				b.add(text[start:end], Section{Kind: CodeBlock, Headings: path})
				start, endVerbatim = end, ""
			}
			off = end
			continue
		}
		// A heading's argument may run over a few lines.
		for extra := 0; extra < 4 && end < len(text) && braceDepth(line) > 0; extra++ {
			end = lineEnd(text, end)
			line = strings.TrimSpace(text[off:end])
		}
		if level, title, ok := latexHeading(line); ok {
			b.add(text[start:off], Section{Headings: path})
			path = hs.push(level, title)
			end = skipBlankLines(text, end)
			b.add(text[off:end], Section{Kind: Heading, Headings: path})
			start = end
		} else {
			end = lineEnd(text, off)
		}
		off = end
	}
	kind := Paragraph
	if endVerbatim != "" {
		kind = CodeBlock
	}
	b.add(text[start:], Section{Kind: kind, Headings: path})
	return nil
}

// verbatimEnv returns the name of a verbatim-like environment begun on line.
func verbatimEnv(line string) string {
	for _, env := range []string{"verbatim", "Verbatim", "lstlisting", "minted", "alltt", "verbatim*"} {
		if strings.HasPrefix(line, `\begin{`+env+`}`) {
			return env
		}
	}
	return ""
}

// latexHeading parses "\section*[short]{Title}" at the start of line.
func latexHeading(line string) (int, string, bool) {
	if !strings.HasPrefix(line, `\`) {
		return 0, "", false
	}
	i := 1
	for i < len(line) && (line[i] >= 'a' && line[i] <= 'z') {
		i++
	}
	level, ok := latexLevels[line[1:i]]
	if !ok {
		return 0, "", false
	}
	rest := strings.TrimPrefix(line[i:], "*")
	if strings.HasPrefix(rest, "[") {
		j := strings.IndexByte(rest, ']')
		if j < 0 {
			return 0, "", false
		}
		rest = rest[j+1:]
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "{") {
		return 0, "", false
	}
	depth := 0
	for j := 0; j < len(rest); j++ {
		switch rest[j] {
		case '\\':
			j++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return level, latexPlain(rest[1:j]), true
			}
		}
	}
	return level, latexPlain(rest[1:]), true
}

// latexDrop says which brace argument of a command is not title text: 1 for
// the first ("\href{url}{text}", "\label{x}"), 2 for the second
// ("\texorpdfstring{tex}{plain}" keeps the first).
var latexDrop = map[string]int{
	"href": 1, "label": 1, "index": 1, "footnote": 1, "cite": 1, "ref": 1, "eqref": 1,
	"pageref": 1, "texorpdfstring": 2,
}

// latexPlain strips simple markup from a heading title: "\emph{x}" -> "x".
func latexPlain(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '{', '}':
		case '\\':
			j := i + 1
			for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
				j++
			}
			if j == i+1 && j < len(s) {
				sb.WriteByte(s[j]) // an escaped character: \& \%
				j++
			} else if arg, ok := latexDrop[s[i+1:j]]; ok {
				k := j
				if arg == 2 {
					k = braceEnd(s, k) // keep the first argument: drop the second after it
					sb.WriteString(latexPlain(s[j:k]))
				}
				j = braceEnd(s, k)
			}
			i = j - 1
		case '~':
			sb.WriteByte(' ')
		default:
			sb.WriteByte(c)
		}
	}
	return strings.Join(strings.Fields(sb.String()), " ")
}

// braceEnd returns the index just past the brace group starting at i (after
// spaces), or i when there is none.
func braceEnd(s string, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) || s[i] != '{' {
		return i
	}
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(s)
}

// skipBlankLines returns the offset after any blank lines starting at off.
func skipBlankLines(text string, off int) int {
	for off < len(text) {
		end := lineEnd(text, off)
		if !isBlank(text[off:end]) {
			break
		}
		off = end
	}
	return off
}

// braceDepth returns how many braces s leaves open, for lines that start a
// sectioning command; other lines report 0.
func braceDepth(s string) int {
	if !strings.HasPrefix(s, `\`) {
		return 0
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
		}
	}
	return depth
}
