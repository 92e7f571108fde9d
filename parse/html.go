package parse

import (
	"bytes"
	"context"
	"strings"

	"golang.org/x/net/html"
)

// HTML is read with the golang.org/x/net/html tokenizer, not its tree
// builder: the token stream is linear in the input, needs no depth limit, and
// is enough for text extraction. The extractor keeps headings (h1-h6, as a
// heading path), paragraphs, list items, <pre> code blocks and tables (one
// line per row, "Header: value | Header: value" when the table has a header
// row), decodes entities and drops scripts, styles, navigation, footers,
// forms' buttons and other page furniture.

// htmlSkip lists elements whose content is never document text.
var htmlSkip = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true, "head": true, "title": true,
	"nav": true, "footer": true, "aside": true, "svg": true, "math": true, "iframe": true,
	"object": true, "button": true, "select": true, "textarea": true, "canvas": true, "audio": true,
	"video": true, "map": true, "dialog": true,
}

// htmlVoid lists elements that have no end tag.
var htmlVoid = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

// htmlRoot lists elements never dropped for their attributes: a class on
// <body> says nothing about the page's content.
var htmlRoot = map[string]bool{"html": true, "body": true, "main": true, "article": true}

// noiseAttrs reports whether a start tag's attributes mark page furniture:
// ARIA roles for navigation, banners and footers, the hidden attribute, or
// class names such as "navbar" and "sidebar".
func noiseAttrs(z *html.Tokenizer) bool {
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		switch string(k) {
		case "role":
			switch strings.ToLower(string(v)) {
			case "navigation", "banner", "contentinfo", "search", "menu", "menubar", "toolbar":
				return true
			}
		case "hidden":
			return true
		case "aria-hidden":
			if string(v) == "true" {
				return true
			}
		case "class":
			for _, c := range strings.Fields(strings.ToLower(string(v))) {
				switch c {
				case "navbar", "nav", "sidebar", "breadcrumb", "breadcrumbs", "menu", "skip-link",
					"site-footer", "site-header", "cookie-banner", "toc-sidebar":
					return true
				}
			}
		}
	}
	return false
}

// htmlBlock lists elements that start and end a block of text.
var htmlBlock = map[string]bool{
	"p": true, "div": true, "section": true, "article": true, "main": true, "header": true,
	"blockquote": true, "dl": true, "dd": true, "dt": true, "hr": true, "figure": true,
	"figcaption": true, "address": true, "ul": true, "ol": true, "details": true, "summary": true,
	"form": true, "fieldset": true, "legend": true, "caption": true, "center": true, "body": true,
	"html": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
}

// htmlCharset finds a <meta charset> or <meta http-equiv content-type>
// declaration in the first 1024 bytes, as the HTML standard's prescan does.
func htmlCharset(data []byte) string {
	head := data[:min(len(data), 1024)]
	z := html.NewTokenizer(bytes.NewReader(head))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return ""
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		name, hasAttr := z.TagName()
		if string(name) != "meta" {
			continue
		}
		var content string
		var httpEquiv bool
		for hasAttr {
			var k, v []byte
			k, v, hasAttr = z.TagAttr()
			switch strings.ToLower(string(k)) {
			case "charset":
				return strings.TrimSpace(string(v))
			case "http-equiv":
				httpEquiv = strings.EqualFold(string(v), "content-type")
			case "content":
				content = string(v)
			}
		}
		if httpEquiv {
			lc := strings.ToLower(content)
			if i := strings.Index(lc, "charset="); i >= 0 {
				cs := strings.Trim(content[i+len("charset="):], `"' `)
				if j := strings.IndexAny(cs, `;"' `); j >= 0 {
					cs = cs[:j]
				}
				return cs
			}
		}
	}
}

// htmlExtractor is the state of one HTML extraction.
type htmlExtractor struct {
	b    *builder
	hs   headingStack
	path []string

	buf       strings.Builder // the pending block's text
	space     bool            // buf ends in collapsible whitespace
	kind      Kind            // the pending block's kind
	heading   int             // level of the open h1-h6, 0 if none
	anchor    int             // 1 + buf's length at an <a> open in a heading, 0 if none
	pre       int             // depth of open <pre> elements
	li        int             // depth of open <li> elements
	lists     []int           // open lists: -1 for <ul>, else the last <ol> item number
	marker    string          // the open list item's marker, until its first text is out
	skip      string          // the element being skipped, "" if none
	skipDepth int

	budget     int // see outputBudget
	tableDepth int
	rows       [][]string // rows of the outermost open table
	headerRow  int        // index of the header row in rows, -1 if none
	inHead     bool       // inside <thead>
	cell       *strings.Builder
	cellSpace  bool
	cellIsTH   bool
	rowAllTH   bool
}

// htmlText extracts text from an HTML document already decoded to UTF-8.
func htmlText(ctx context.Context, b *builder, text string, o *Options) error {
	t := &ticker{ctx: ctx}
	z := html.NewTokenizer(strings.NewReader(text))
	e := &htmlExtractor{b: b, headerRow: -1, budget: outputBudget(len(text))}
	for {
		if err := t.err(); err != nil {
			return err
		}
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.TextToken:
			if e.skip == "" {
				e.text(string(z.Text()))
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			if hasAttr && e.skip == "" && tt == html.StartTagToken && !htmlVoid[tag] && !htmlRoot[tag] && noiseAttrs(z) {
				e.skip, e.skipDepth = tag, 1
				continue
			}
			e.start(tag, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			name, _ := z.TagName()
			e.end(string(name))
		}
	}
	if e.tableDepth > 0 {
		e.tableDepth = 1
		e.endTable()
	}
	e.flush()
	return nil
}

// text appends character data to the open cell or block.
func (e *htmlExtractor) text(s string) {
	if e.cell != nil {
		e.cellSpace = appendCollapsed(e.cell, s, e.cellSpace)
		return
	}
	if e.pre > 0 {
		if e.buf.Len() == 0 {
			s = strings.TrimPrefix(s, "\n")
		}
		e.buf.WriteString(s)
		e.space = false
		return
	}
	e.space = appendCollapsed(&e.buf, s, e.space)
}

// appendCollapsed writes s to sb with runs of whitespace collapsed to one
// space and leading whitespace dropped; space says whether sb ends in a
// pending space, and the result says whether it does after s.
func appendCollapsed(sb *strings.Builder, s string, space bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' {
			space = true
			i++
			continue
		}
		if c == 0xc2 && i+1 < len(s) && s[i+1] == 0xa0 { // U+00A0 no-break space
			space = true
			i += 2
			continue
		}
		if space && sb.Len() > 0 {
			sb.WriteByte(' ')
		}
		space = false
		j := i + 1
		for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' && s[j] != '\f' && s[j] != 0xc2 {
			j++
		}
		sb.WriteString(s[i:j])
		i = j
	}
	return space
}

func (e *htmlExtractor) start(name string, selfClosing bool) {
	if e.skip != "" {
		if name == e.skip {
			e.skipDepth++
		}
		if e.skip != "head" || !(name == "body" || htmlBlock[name] || name == "li" || name == "pre" || name == "table") {
			return
		}
		// Content in an unclosed <head>: the body has begun.
		e.skip, e.skipDepth = "", 0
	}
	if htmlSkip[name] && !selfClosing {
		e.skip, e.skipDepth = name, 1
		return
	}
	if e.tableDepth > 0 && e.tableStart(name) {
		return
	}
	switch {
	case name == "br":
		if e.cell != nil {
			e.cellSpace = true
		} else if e.pre > 0 {
			e.buf.WriteByte('\n')
		} else {
			e.buf.WriteByte('\n')
			e.space = false
		}
	case name == "pre":
		if e.pre == 0 {
			e.flush()
			e.kind = CodeBlock
		}
		e.pre++
	case name == "li":
		e.flush()
		e.kind = ListItem
		e.li++
		if n := len(e.lists); n > 0 && e.lists[n-1] >= 0 {
			e.lists[n-1]++
			e.marker = itoa(e.lists[n-1]) + ". "
		} else {
			e.marker = "- "
		}
	case name == "ul" || name == "ol":
		e.flush()
		if len(e.lists) < 1000 {
			if name == "ol" {
				e.lists = append(e.lists, 0)
			} else {
				e.lists = append(e.lists, -1)
			}
		}
	case len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6':
		e.flush()
		e.heading = int(name[1] - '0')
	case name == "a" && e.heading > 0:
		e.anchor = e.buf.Len() + 1
	case name == "table":
		e.flush()
		e.tableDepth = 1
		e.rows, e.headerRow, e.inHead = nil, -1, false
	case name == "td" || name == "th":
		// a cell outside any table: treat as a block
		e.flush()
	case htmlBlock[name]:
		e.flush()
	}
}

func (e *htmlExtractor) end(name string) {
	if e.skip != "" {
		if name == e.skip {
			e.skipDepth--
			if e.skipDepth == 0 {
				e.skip = ""
			}
		}
		return
	}
	if e.tableDepth > 0 && e.tableEnd(name) {
		return
	}
	switch {
	case name == "pre":
		if e.pre > 0 {
			e.pre--
			if e.pre == 0 {
				e.flush()
			}
		}
	case name == "li":
		e.flush()
		if e.li > 0 {
			e.li--
		}
	case name == "ul" || name == "ol":
		e.flush()
		if n := len(e.lists); n > 0 {
			e.lists = e.lists[:n-1]
		}
	case len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6':
		e.flush()
	case name == "a" && e.anchor > 0:
		// A link in a heading whose whole text is a glyph ("¶", "#") is a
		// permalink (Sphinx, pkgsite, GitHub), not part of the title.
		if s := e.buf.String(); e.anchor-1 <= len(s) && isPermalink(s[e.anchor-1:]) {
			keep := s[:e.anchor-1]
			e.buf.Reset()
			e.buf.WriteString(keep)
		}
		e.anchor = 0
	case htmlBlock[name]:
		e.flush()
	}
}

// isPermalink reports whether s is only permalink glyphs and spaces (and not
// empty of glyphs).
func isPermalink(s string) bool {
	n := 0
	for _, r := range s {
		switch r {
		case '¶', '#', '§', '🔗', '⚓', '\uf0c1':
			n++
		case ' ', '\u00a0':
		default:
			return false
		}
	}
	return n > 0
}

// trimPermalinks removes permalink glyphs left at the end of a heading
// title when they were not in a link of their own: "¶", "§", "🔗" and "⚓"
// attached or apart ("Contents¶"), "#" only apart ("Crypto #"), since
// "C#" is a name.
func trimPermalinks(title string) string {
	for {
		t := strings.TrimRight(title, " ¶§🔗⚓\uf0c1")
		if strings.HasSuffix(t, " #") {
			t = strings.TrimRight(t[:len(t)-1], " ")
		}
		if t == title {
			return t
		}
		title = t
	}
}

// tableStart handles a start tag inside a table; it reports whether it did.
func (e *htmlExtractor) tableStart(name string) bool {
	switch name {
	case "table":
		e.tableDepth++
		if e.cell != nil {
			e.cellSpace = true
		}
		return true
	case "tr":
		if e.tableDepth == 1 {
			e.endRow()
			e.rows = append(e.rows, nil)
			e.rowAllTH = true
		} else if e.cell != nil {
			e.cellSpace = true
		}
		return true
	case "td", "th":
		if e.tableDepth == 1 {
			e.endCell()
			if len(e.rows) == 0 {
				e.rows = append(e.rows, nil)
				e.rowAllTH = true
			}
			e.cell = &strings.Builder{}
			e.cellSpace = false
			e.cellIsTH = name == "th"
		} else if e.cell != nil {
			e.cellSpace = true
		}
		return true
	case "thead":
		e.inHead = e.tableDepth == 1
		return true
	case "tbody", "tfoot", "caption", "colgroup", "col":
		return true
	}
	if e.cell != nil {
		// Block elements inside a cell separate words.
		if htmlBlock[name] || name == "br" || name == "li" {
			e.cellSpace = true
		}
		return true
	}
	return false
}

// tableEnd handles an end tag inside a table; it reports whether it did.
func (e *htmlExtractor) tableEnd(name string) bool {
	switch name {
	case "table":
		e.tableDepth--
		if e.tableDepth == 0 {
			e.tableDepth = 1
			e.endTable()
		} else if e.cell != nil {
			e.cellSpace = true
		}
		return true
	case "td", "th":
		if e.tableDepth == 1 {
			e.endCell()
		} else if e.cell != nil {
			e.cellSpace = true
		}
		return true
	case "tr":
		if e.tableDepth == 1 {
			e.endRow()
		} else if e.cell != nil {
			e.cellSpace = true
		}
		return true
	case "thead":
		if e.tableDepth == 1 {
			e.endRow()
			e.inHead = false
		}
		return true
	}
	if e.cell != nil && htmlBlock[name] {
		e.cellSpace = true
	}
	return e.cell != nil
}

func (e *htmlExtractor) endCell() {
	if e.cell == nil {
		return
	}
	if len(e.rows) == 0 {
		e.rows = append(e.rows, nil)
	}
	r := &e.rows[len(e.rows)-1]
	*r = append(*r, e.cell.String())
	if !e.cellIsTH && !e.inHead {
		e.rowAllTH = false
	}
	e.cell = nil
}

// endRow closes the open row; the first row made only of <th> cells (or in
// <thead>) becomes the header.
func (e *htmlExtractor) endRow() {
	e.endCell()
	n := len(e.rows)
	if n == 0 {
		return
	}
	if len(e.rows[n-1]) == 0 {
		e.rows = e.rows[:n-1]
		return
	}
	if e.headerRow < 0 && e.rowAllTH && n == 1 {
		e.headerRow = 0
	}
	e.rowAllTH = false
}

// endTable writes the outermost table as one Table section.
func (e *htmlExtractor) endTable() {
	e.endRow()
	e.tableDepth = 0
	rows := e.rows
	e.rows = nil
	var header []string
	if e.headerRow == 0 && len(rows) > 0 {
		header, rows = rows[0], rows[1:]
	}
	e.headerRow, e.inHead = -1, false
	var sb strings.Builder
	for _, r := range rows {
		labels := header
		if e.b.len()+sb.Len() > e.budget {
			labels = nil
		}
		writeRow(&sb, labels, r)
	}
	if sb.Len() == 0 && len(header) > 0 {
		writeRow(&sb, nil, header)
		header = nil
	}
	if sb.Len() == 0 {
		return
	}
	sb.WriteByte('\n')
	e.b.add(sb.String(), Section{Kind: Table, Headings: e.path, Header: strings.Join(header, " | ")})
}

// writeRow writes one table row as a line: "H1: a | H2: b" with a header,
// "a | b" without. Empty cells are left out.
func writeRow(sb *strings.Builder, header, row []string) {
	n := 0
	for i, c := range row {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if n > 0 {
			sb.WriteString(" | ")
		}
		if i < len(header) && strings.TrimSpace(header[i]) != "" {
			sb.WriteString(strings.TrimSpace(header[i]))
			sb.WriteString(": ")
		}
		sb.WriteString(c)
		n++
	}
	if n > 0 {
		sb.WriteByte('\n')
	}
}

// flush ends the pending block and adds it to the document.
func (e *htmlExtractor) flush() {
	s := e.buf.String()
	e.buf.Reset()
	e.space = false
	kind, level := e.kind, e.heading
	e.kind, e.heading, e.anchor = Paragraph, 0, 0
	if kind == CodeBlock {
		s = strings.TrimRight(s, " \t\r\n")
		if strings.TrimSpace(s) == "" {
			return
		}
		e.b.add(s+"\n\n", Section{Kind: CodeBlock, Headings: e.path})
		return
	}
	s = tidyLines(s)
	if s == "" {
		return
	}
	switch {
	case level > 0:
		title := trimPermalinks(strings.Join(strings.Fields(s), " "))
		if title == "" {
			return
		}
		e.path = e.hs.push(level, title)
		e.b.add(title+"\n\n", Section{Kind: Heading, Headings: e.path})
	case kind == ListItem || e.li > 0:
		e.b.add(e.marker+s+"\n", Section{Kind: ListItem, Headings: e.path})
		e.marker = ""
	default:
		e.b.add(s+"\n\n", Section{Headings: e.path})
	}
}

// tidyLines trims each line of s and drops empty ones.
func tidyLines(s string) string {
	if !strings.Contains(s, "\n") {
		return strings.TrimSpace(s)
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
