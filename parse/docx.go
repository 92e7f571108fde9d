package parse

import (
	"context"
	"strconv"
	"strings"
)

// docxStyle is what the extractor needs of a paragraph style.
type docxStyle struct {
	name    string // lower case, e.g. "heading 1"
	basedOn string
	outline int // outline level from w:outlineLvl, 0-based; -1 when unset
	list    bool
}

// docxParser extracts a WordprocessingML document.
type docxParser struct {
	officeTicker
	za     *zipArchive
	styles map[string]docxStyle
	b      builder
	stack  []docxHeading // open headings, outermost first
	path   []string      // heading path for new sections; never mutated
	inList bool          // the last block was a list item
}

type docxHeading struct {
	level int
	text  string
}

func parseDOCX(ctx context.Context, za *zipArchive, main string, root *xnode) (*Document, error) {
	p := &docxParser{officeTicker: officeTicker{ctx: ctx}, za: za}
	p.b.setLimit(za.o)
	rels, err := za.readRels(ctx, main)
	if err != nil {
		return nil, err
	}
	for _, r := range rels {
		if relType(r.typ, "styles") && r.target != "" {
			st, err := za.readTree(ctx, r.target)
			if err != nil {
				return nil, err
			}
			p.styles = docxStyles(st)
		}
	}
	if err := p.blocks(root.child("body")); err != nil {
		return nil, err
	}
	// Notes, comments, headers and footers follow the body, each under a
	// label of its own so citations say where the text came from.
	extras := []struct{ rel, label, item string }{
		{"footnotes", "Footnotes", "footnote"},
		{"endnotes", "Endnotes", "endnote"},
		{"comments", "Comments", "comment"},
		{"header", "Headers and footers", ""},
		{"footer", "Headers and footers", ""},
	}
	seen := map[string]bool{}
	for _, x := range extras {
		for _, r := range rels {
			if !relType(r.typ, x.rel) || r.target == "" || seen[r.target] {
				continue
			}
			seen[r.target] = true
			t, err := za.readTree(ctx, r.target)
			if err != nil {
				return nil, err
			}
			if t == nil {
				continue
			}
			p.stack, p.path = nil, []string{x.label}
			if x.item == "" {
				// Headers and footers repeat per section; keep each text once.
				sub := &docxParser{officeTicker: p.officeTicker, za: za, styles: p.styles}
				if err := sub.blocks(t); err != nil {
					return nil, err
				}
				txt := sub.b.text()
				if txt == "" || seen["text:"+txt] {
					continue
				}
				seen["text:"+txt] = true
				if err := p.blocks(t); err != nil {
					return nil, err
				}
				continue
			}
			for _, k := range t.kids {
				if k.name != x.item {
					continue
				}
				if typ := k.attr("type"); typ == "separator" || typ == "continuationSeparator" || typ == "continuationNotice" {
					continue
				}
				if err := p.blocks(k); err != nil {
					return nil, err
				}
			}
		}
	}
	return p.b.document("docx", 0), nil
}

// docxStyles reads word/styles.xml.
func docxStyles(root *xnode) map[string]docxStyle {
	m := map[string]docxStyle{}
	if root == nil {
		return m
	}
	for _, s := range root.kids {
		if s.name != "style" {
			continue
		}
		st := docxStyle{
			name:    strings.ToLower(s.child("name").attrOrEmpty("val")),
			basedOn: s.child("basedOn").attrOrEmpty("val"),
			outline: -1,
		}
		if ppr := s.child("pPr"); ppr != nil {
			if ol := ppr.child("outlineLvl"); ol != nil {
				if v, err := strconv.Atoi(ol.attr("val")); err == nil {
					st.outline = v
				}
			}
			if np := ppr.child("numPr"); np != nil && np.child("numId").attrOrEmpty("val") != "0" {
				st.list = true
			}
		}
		m[s.attr("styleId")] = st
	}
	return m
}

// attrOrEmpty is attr on a possibly nil node.
func (n *xnode) attrOrEmpty(local string) string {
	if n == nil {
		return ""
	}
	return n.attr(local)
}

// headingLevel returns a style's heading level: 0 for a title, 1..9 for
// headings, -1 for body text. It follows basedOn a bounded number of times.
func (p *docxParser) headingLevel(id string) int {
	for i := 0; i < 10 && id != ""; i++ {
		st, ok := p.styles[id]
		if !ok {
			break
		}
		if st.name == "title" {
			return 0
		}
		if lv, ok := strings.CutPrefix(st.name, "heading "); ok {
			if n, err := strconv.Atoi(lv); err == nil && n >= 1 && n <= 9 {
				return n
			}
		}
		if st.outline >= 0 && st.outline <= 8 {
			return st.outline + 1
		}
		id = st.basedOn
	}
	// A document without styles.xml still names its built-in styles.
	if id == "Title" {
		return 0
	}
	if lv, ok := strings.CutPrefix(id, "Heading"); ok {
		if n, err := strconv.Atoi(lv); err == nil && n >= 1 && n <= 9 {
			return n
		}
	}
	return -1
}

func (p *docxParser) styleList(id string) bool {
	for i := 0; i < 10 && id != ""; i++ {
		st, ok := p.styles[id]
		if !ok {
			return false
		}
		if st.list {
			return true
		}
		id = st.basedOn
	}
	return false
}

// blocks extracts the block-level content of n: paragraphs, tables and the
// containers that wrap them.
func (p *docxParser) blocks(n *xnode) error {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if err := p.tick(); err != nil {
			return err
		}
		var err error
		switch k.name {
		case "p":
			err = p.paragraph(k)
		case "tbl":
			err = p.table(k)
		case "del", "moveFrom", "sdtPr", "sdtEndPr", "sectPr", "customXmlPr":
			// Deleted text is not the document's text; properties hold none.
		case "AlternateContent":
			err = p.blocks(altContent(k))
		default:
			// sdt, sdtContent, customXml, ins, moveTo, txbxContent, ...
			err = p.blocks(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// runs appends the text of a paragraph's inline content to sb and collects
// text boxes, which hold paragraphs of their own, into boxes.
func (p *docxParser) runs(n *xnode, sb *strings.Builder, boxes *[]*xnode) {
	for _, k := range n.kids {
		switch k.name {
		case "t":
			sb.WriteString(k.text)
		case "tab", "ptab":
			sb.WriteByte('\t')
		case "br", "cr":
			sb.WriteByte('\n')
		case "noBreakHyphen":
			sb.WriteByte('-')
		case "del", "moveFrom", "instrText", "delText", "delInstrText", "pPr", "rPr", "sdtPr", "sdtEndPr":
			// Deleted text, field codes and properties are not visible text.
		case "txbxContent":
			*boxes = append(*boxes, k)
		case "AlternateContent":
			if c := altContent(k); c != nil {
				p.runs(c, sb, boxes)
			}
		default:
			// r, hyperlink, ins, moveTo, fldSimple, smartTag, sdt,
			// sdtContent, drawing, pict, math, ...
			p.runs(k, sb, boxes)
		}
	}
}

// paragraphText returns a paragraph's visible text and its text boxes.
func (p *docxParser) paragraphText(n *xnode) (string, []*xnode) {
	var sb strings.Builder
	var boxes []*xnode
	p.runs(n, &sb, &boxes)
	return strings.TrimSpace(sb.String()), boxes
}

func (p *docxParser) paragraph(n *xnode) error {
	text, boxes := p.paragraphText(n)
	level, list, indent := -1, false, 0
	if ppr := n.child("pPr"); ppr != nil {
		style := ppr.child("pStyle").attrOrEmpty("val")
		level = p.headingLevel(style)
		if ol := ppr.child("outlineLvl"); ol != nil {
			if v, err := strconv.Atoi(ol.attr("val")); err == nil && v >= 0 && v <= 8 {
				level = v + 1
			}
		}
		if np := ppr.child("numPr"); np != nil {
			list = np.child("numId").attrOrEmpty("val") != "0"
			if v, err := strconv.Atoi(np.child("ilvl").attrOrEmpty("val")); err == nil && v > 0 && v <= 8 {
				indent = v
			}
		} else {
			list = p.styleList(style)
		}
	}
	if text != "" {
		p.emit(text, level, list, indent)
	}
	for _, b := range boxes {
		if err := p.blocks(b); err != nil {
			return err
		}
	}
	return nil
}

// emit adds one paragraph as a heading, list item (indented two spaces per
// nesting level) or body text.
func (p *docxParser) emit(text string, level int, list bool, indent int) {
	lead := ""
	if p.inList && (level >= 0 || !list) {
		lead = "\n" // end the list with a blank line
	}
	switch {
	case level >= 0:
		for len(p.stack) > 0 && p.stack[len(p.stack)-1].level >= level {
			p.stack = p.stack[:len(p.stack)-1]
		}
		p.stack = append(p.stack, docxHeading{level, text})
		path := make([]string, len(p.stack))
		for i, h := range p.stack {
			path[i] = h.text
		}
		p.path = path
		p.b.add(lead+text+"\n\n", Section{Kind: Heading, Headings: p.path})
		p.inList = false
	case list:
		p.b.add(lead+strings.Repeat("  ", indent)+"- "+text+"\n", Section{Kind: ListItem, Headings: p.path})
		p.inList = true
	default:
		p.b.add(lead+text+"\n\n", Section{Kind: Paragraph, Headings: p.path})
		p.inList = false
	}
}

// table adds a table as one Table section; nested tables are flattened into
// their cell's text.
func (p *docxParser) table(n *xnode) error {
	var rows [][]string
	var boxes []*xnode
	p.tableRows(n, &rows, &boxes)
	if text, header := officeTable(rows); text != "" {
		lead := ""
		if p.inList {
			lead = "\n"
		}
		p.b.add(lead+text, Section{Kind: Table, Headings: p.path, Header: header})
		p.inList = false
	}
	for _, b := range boxes {
		if err := p.blocks(b); err != nil {
			return err
		}
	}
	return nil
}

// tableRows collects the rows of a table, looking through the containers
// (sdt, customXml, tracked insertions) that may wrap rows and cells.
func (p *docxParser) tableRows(n *xnode, rows *[][]string, boxes *[]*xnode) {
	for _, k := range n.kids {
		switch k.name {
		case "tr":
			var cells []string
			p.rowCells(k, &cells, boxes)
			*rows = append(*rows, cells)
		case "tblPr", "tblGrid", "del", "sdtPr", "sdtEndPr":
		default:
			p.tableRows(k, rows, boxes)
		}
	}
}

func (p *docxParser) rowCells(n *xnode, cells *[]string, boxes *[]*xnode) {
	for _, k := range n.kids {
		switch k.name {
		case "tc":
			*cells = append(*cells, p.cellText(k, boxes))
			// A cell spanning columns leaves the columns it covers empty,
			// so later cells stay under their own headers.
			span, _ := strconv.Atoi(k.path("tcPr", "gridSpan").attrOrEmpty("val"))
			for i := 1; i < span && i < 64; i++ {
				*cells = append(*cells, "")
			}
		case "trPr", "tblPrEx", "del", "sdtPr", "sdtEndPr":
		default:
			p.rowCells(k, cells, boxes)
		}
	}
}

// cellText is the text of a cell's paragraphs and nested tables on one line.
func (p *docxParser) cellText(n *xnode, boxes *[]*xnode) string {
	var parts []string
	var walk func(n *xnode)
	walk = func(n *xnode) {
		for _, k := range n.kids {
			switch k.name {
			case "p":
				var sb strings.Builder
				p.runs(k, &sb, boxes)
				if s := officeCell(sb.String()); s != "" {
					parts = append(parts, s)
				}
			case "tbl":
				var rows [][]string
				p.tableRows(k, &rows, boxes)
				for _, r := range rows {
					if s := officeJoin(r); s != "" {
						parts = append(parts, s)
					}
				}
			case "tcPr", "del", "moveFrom", "sdtPr", "sdtEndPr":
			default:
				walk(k)
			}
		}
	}
	walk(n)
	return strings.Join(parts, " ")
}
