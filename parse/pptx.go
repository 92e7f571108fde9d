package parse

import (
	"context"
	"strings"
)

// pptxParser extracts a PresentationML document.
type pptxParser struct {
	officeTicker
	za   *zipArchive
	seen map[string]bool // parts already read: a part named twice is read once
}

// pptxBlock is one shape's text on a slide, in reading order.
type pptxBlock struct {
	text   string
	kind   Kind
	header string
}

func parsePPTX(ctx context.Context, za *zipArchive, main string, root *xnode) (*Document, error) {
	p := &pptxParser{officeTicker: officeTicker{ctx: ctx}, za: za, seen: map[string]bool{}}
	rels, err := za.readRels(ctx, main)
	if err != nil {
		return nil, err
	}
	byID := map[string]string{}
	for _, r := range rels {
		if relType(r.typ, "slide") && r.target != "" {
			byID[r.id] = r.target
		}
	}
	var slides []string
	for _, s := range root.child("sldIdLst").kidsOrNil() {
		if t, ok := byID[s.rattr("id")]; ok && s.name == "sldId" {
			slides = append(slides, t)
		}
	}
	if len(slides) > za.o.MaxPages {
		return nil, invalid(za.name, nil, "presentation has %d slides, more than the limit of %d", len(slides), za.o.MaxPages)
	}
	var b builder
	b.setLimit(za.o)
	for i, part := range slides {
		page := i + 1
		if p.seen[part] {
			continue // a slide listed twice would multiply its text
		}
		p.seen[part] = true
		if int64(b.len()) > za.o.MaxDecompressedBytes {
			return nil, invalid(za.name, nil, "presentation text is longer than the %d-byte limit", za.o.MaxDecompressedBytes)
		}
		tree, err := za.readTree(ctx, part)
		if err != nil {
			return nil, err
		}
		if tree == nil {
			continue // a dangling relationship: the slide is simply absent
		}
		srels, err := za.readRels(ctx, part)
		if err != nil {
			return nil, err
		}
		var title string
		var blocks []pptxBlock
		if err := p.shapes(tree.path("cSld", "spTree"), srels, &title, &blocks, false); err != nil {
			return nil, err
		}
		var path []string
		if title != "" {
			path = []string{title}
			b.add(title+"\n\n", Section{Kind: Heading, Page: page, Headings: path})
		}
		for _, bl := range blocks {
			b.add(bl.text, Section{Kind: bl.kind, Page: page, Headings: path, Header: bl.header})
		}
		for _, r := range srels {
			if !relType(r.typ, "notesSlide") || r.target == "" || p.seen[r.target] {
				continue
			}
			p.seen[r.target] = true
			nt, err := za.readTree(ctx, r.target)
			if err != nil {
				return nil, err
			}
			if nt == nil {
				continue
			}
			var notes []pptxBlock
			var nt0 string
			if err := p.shapes(nt.path("cSld", "spTree"), nil, &nt0, &notes, true); err != nil {
				return nil, err
			}
			var sb strings.Builder
			for _, bl := range notes {
				sb.WriteString(bl.text)
			}
			if s := strings.TrimSpace(sb.String()); s != "" {
				b.add("Notes: "+s+"\n\n", Section{Kind: Paragraph, Page: page, Headings: path})
			}
			break
		}
	}
	return b.document("pptx", len(slides)), nil
}

func (n *xnode) kidsOrNil() []*xnode {
	if n == nil {
		return nil
	}
	return n.kids
}

// shapes walks a shape tree in document order. It sets *title from the
// first title placeholder and appends every other shape's text to blocks.
// On a notes slide only the notes body counts.
func (p *pptxParser) shapes(n *xnode, rels []relationship, title *string, blocks *[]pptxBlock, notes bool) error {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if err := p.tick(); err != nil {
			return err
		}
		switch k.name {
		case "sp":
			ph := k.path("nvSpPr", "nvPr", "ph")
			typ := ph.attrOrEmpty("type")
			if ph != nil && typ == "" {
				typ = "body" // a placeholder without a type is a body placeholder
			}
			if notes && typ != "body" {
				continue
			}
			if typ == "sldNum" || typ == "dt" || typ == "sldImg" {
				continue
			}
			text := textBody(k.child("txBody"))
			if text == "" {
				continue
			}
			if (typ == "title" || typ == "ctrTitle") && *title == "" {
				*title = strings.Join(strings.Fields(text), " ")
				continue
			}
			*blocks = append(*blocks, pptxBlock{text: text + "\n\n", kind: Paragraph})
		case "grpSp":
			if err := p.shapes(k, rels, title, blocks, notes); err != nil {
				return err
			}
		case "AlternateContent":
			if err := p.shapes(altContent(k), rels, title, blocks, notes); err != nil {
				return err
			}
		case "graphicFrame":
			if notes {
				continue
			}
			gd := k.path("graphic", "graphicData")
			if tbl := gd.child("tbl"); tbl != nil {
				var rows [][]string
				for _, tr := range tbl.kids {
					if tr.name != "tr" {
						continue
					}
					var cells []string
					for _, tc := range tr.kids {
						if tc.name == "tc" {
							cells = append(cells, textBody(tc.child("txBody")))
						}
					}
					rows = append(rows, cells)
				}
				if text, header := officeTable(rows); text != "" {
					*blocks = append(*blocks, pptxBlock{text: text, kind: Table, header: header})
				}
			}
			if ch := gd.child("chart"); ch != nil {
				text, err := p.chart(ch.rattr("id"), rels)
				if err != nil {
					return err
				}
				if text != "" {
					*blocks = append(*blocks, pptxBlock{text: text + "\n\n", kind: Paragraph})
				}
			}
		}
	}
	return nil
}

// textBody returns the paragraphs of a DrawingML text body, one per line.
func textBody(n *xnode) string {
	if n == nil {
		return ""
	}
	var lines []string
	for _, para := range n.kids {
		if para.name != "p" {
			continue
		}
		var sb strings.Builder
		drawingText(para, &sb)
		if s := strings.TrimSpace(sb.String()); s != "" {
			lines = append(lines, s)
		}
	}
	return strings.Join(lines, "\n")
}

func drawingText(n *xnode, sb *strings.Builder) {
	for _, k := range n.kids {
		switch k.name {
		case "t":
			sb.WriteString(k.text)
		case "br":
			sb.WriteByte('\n')
		case "tab":
			sb.WriteByte('\t')
		case "pPr", "rPr", "endParaRPr":
		default:
			drawingText(k, sb)
		}
	}
}

// chart returns a chart's title, series names and category labels, one per
// line, without repeats; "" for a chart already read.
func (p *pptxParser) chart(id string, rels []relationship) (string, error) {
	var part string
	for _, r := range rels {
		if r.id == id {
			part = r.target
		}
	}
	if part == "" || p.seen[part] {
		return "", nil
	}
	p.seen[part] = true
	tree, err := p.za.readTree(p.ctx, part)
	if err != nil || tree == nil {
		return "", err
	}
	var lines []string
	seen := map[string]bool{}
	var walk func(n *xnode, inStr bool)
	walk = func(n *xnode, inStr bool) {
		for _, k := range n.kids {
			switch {
			case k.name == "t" || (inStr && k.name == "v"):
				if s := strings.TrimSpace(k.text); s != "" && !seen[s] {
					seen[s] = true
					lines = append(lines, s)
				}
			case k.name == "externalData" || k.name == "txPr":
			default:
				walk(k, inStr || k.name == "strCache")
			}
		}
	}
	walk(tree, false)
	return strings.Join(lines, "\n"), nil
}
