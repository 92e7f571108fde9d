package parse

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// parseZip extracts an Office Open XML file (docx, pptx, xlsx), chosen by the
// archive's content, not its name: the package relationships name the main
// part and its root element says which format it is.
func parseZip(ctx context.Context, name string, data []byte, o *Options) (*Document, error) {
	za, err := openZip(name, data, o)
	if err != nil {
		return nil, err
	}
	main, root, err := za.mainPart(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case main == "":
		return nil, unsupported(name, "zip archive is not a Word, PowerPoint or Excel file")
	case root.name == "document":
		return parseDOCX(ctx, za, main, root)
	case root.name == "presentation":
		return parsePPTX(ctx, za, main, root)
	case root.name == "workbook":
		return parseXLSX(ctx, za, main, root)
	}
	return nil, unsupported(name, "zip archive's main part <%s> is not a Word, PowerPoint or Excel document", root.name)
}

// mainPart finds the office document part: the target of the package's
// officeDocument relationship, else one of the usual part names. It returns
// "" when there is none.
func (za *zipArchive) mainPart(ctx context.Context) (string, *xnode, error) {
	rels, err := za.readRels(ctx, "")
	if err != nil {
		return "", nil, err
	}
	var cands []string
	for _, r := range rels {
		if relType(r.typ, "officeDocument") && r.target != "" {
			cands = append(cands, r.target)
		}
	}
	cands = append(cands, "word/document.xml", "ppt/presentation.xml", "xl/workbook.xml")
	for _, c := range cands {
		if !za.has(c) {
			continue
		}
		data, err := za.read(ctx, c)
		if err != nil {
			return "", nil, err
		}
		root, err := parseXMLTree(ctx, za.name, data, za.o)
		if err != nil {
			return "", nil, err
		}
		return c, root, nil
	}
	return "", nil, nil
}

// xnode is an element of a parsed XML part. Names are local names: OOXML's
// transitional and strict namespaces use the same local names.
type xnode struct {
	name  string
	attrs []xml.Attr
	kids  []*xnode
	text  string // character data of an element without children
}

// attr returns the value of the attribute with the given local name that is
// not in a relationships namespace ("id", not "r:id").
func (n *xnode) attr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space != relSpace && a.Name.Space != "xmlns" {
			return a.Value
		}
	}
	return ""
}

// rattr returns the value of the relationships-namespace attribute local
// ("r:id", "r:embed").
func (n *xnode) rattr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space == relSpace {
			return a.Value
		}
	}
	return ""
}

// child returns the first child named name, or nil.
func (n *xnode) child(name string) *xnode {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	return nil
}

// path follows a chain of first children by name; nil if any is missing.
func (n *xnode) path(names ...string) *xnode {
	for _, s := range names {
		n = n.child(s)
	}
	return n
}

// altContent returns the branch of an mc:AlternateContent element to read:
// the first Choice, else the Fallback. Reading both would duplicate text.
func altContent(n *xnode) *xnode {
	if c := n.child("Choice"); c != nil {
		return c
	}
	return n.child("Fallback")
}

// xmlStream is a token stream over an untrusted XML part that enforces
// MaxXMLDepth and checks ctx as it goes.
//
// It reads raw tokens, without the decoder's namespace translation (a third
// of the decoding time): names are matched by local name, and the one
// namespace that matters, relationships ("r:id" next to "id"), is resolved
// by remembering which prefixes were declared for it.
type xmlStream struct {
	ctx    context.Context
	name   string
	d      *xml.Decoder
	max    int
	depth  int
	n      int
	relPfx map[string]bool // prefixes declared for a relationships namespace
}

// relSpace is the Name.Space given to attributes in a relationships
// namespace.
const relSpace = "relationships"

func newXMLStream(ctx context.Context, name string, data []byte, o *Options) *xmlStream {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		e, err := htmlindex.Get(label)
		if err != nil {
			return nil, err
		}
		return e.NewDecoder().Reader(r), nil
	}
	return &xmlStream{ctx: ctx, name: name, d: d, max: o.MaxXMLDepth, relPfx: map[string]bool{}}
}

// next returns the next token; io.EOF at the end of a well-formed part, the
// context's error when it is done, else an invalid_file *Error.
func (s *xmlStream) next() (xml.Token, error) {
	s.n++
	if s.n&1023 == 0 {
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
	}
	tok, err := s.d.RawToken()
	if err == io.EOF {
		if s.depth != 0 {
			return nil, invalid(s.name, io.ErrUnexpectedEOF, "malformed XML")
		}
		return nil, io.EOF
	}
	if err != nil {
		return nil, invalid(s.name, err, "malformed XML")
	}
	switch t := tok.(type) {
	case xml.StartElement:
		for _, a := range t.Attr {
			if a.Name.Space == "xmlns" && strings.Contains(a.Value, relSpace) {
				s.relPfx[a.Name.Local] = true
			}
		}
		for i, a := range t.Attr {
			if a.Name.Space != "" && s.relPfx[a.Name.Space] {
				t.Attr[i].Name.Space = relSpace
			}
		}
		s.depth++
		if s.depth > s.max {
			return nil, invalid(s.name, nil, "XML nests deeper than the limit of %d", s.max)
		}
	case xml.EndElement:
		s.depth--
	}
	return tok, nil
}

// parseXMLTree parses an XML part into a tree of xnodes and returns its root
// element.
func parseXMLTree(ctx context.Context, name string, data []byte, o *Options) (*xnode, error) {
	s := newXMLStream(ctx, name, data, o)
	var stack []*xnode
	var root *xnode
	var text []byte // character data since the last tag: a leaf's text
	for {
		tok, err := s.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local}
			if len(t.Attr) > 0 {
				n.attrs = make([]xml.Attr, len(t.Attr))
				copy(n.attrs, t.Attr)
			}
			if len(stack) == 0 {
				if root != nil {
					return nil, invalid(name, nil, "XML part has more than one root element")
				}
				root = n
			} else {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			}
			stack = append(stack, n)
			text = text[:0]
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, invalid(name, nil, "malformed XML")
			}
			if n := stack[len(stack)-1]; len(n.kids) == 0 && len(text) > 0 {
				n.text = string(text)
			}
			stack = stack[:len(stack)-1]
			text = text[:0]
		case xml.CharData:
			text = append(text, t...)
		}
	}
	if root == nil {
		return nil, invalid(name, nil, "XML part has no root element")
	}
	return root, nil
}

// readTree reads and parses an optional part: a missing part is (nil, nil).
func (za *zipArchive) readTree(ctx context.Context, p string) (*xnode, error) {
	data, err := za.read(ctx, p)
	if errors.Is(err, errPartMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseXMLTree(ctx, za.name, data, za.o)
}

// officeTicker checks a context every so many calls, for long loops over
// already-parsed data.
type officeTicker struct {
	ctx context.Context
	n   int
}

func (t *officeTicker) tick() error {
	t.n++
	if t.n&255 == 0 {
		return t.ctx.Err()
	}
	return nil
}

// officeCell makes a table cell's text fit on one line.
func officeCell(s string) string {
	clean := s == "" || (s[0] != ' ' && s[len(s)-1] != ' ')
	for i := 0; clean && i < len(s); i++ {
		c := s[i]
		clean = c >= 0x20 && c < 0x80 && (c != ' ' || s[i+1] != ' ')
	}
	if clean {
		return s // the common case, without allocating
	}
	return strings.Join(strings.Fields(s), " ")
}

// officeTable renders rows as text that keeps each row with its header: the
// header row (the first row with two or more non-empty cells) as "H1 | H2", then one line per row
// as "H1: v1 | H2: v2". It returns the text, ending in a blank line, and the
// header line; both are "" when every row is empty. Rows with a single
// non-empty cell before the header row are titles, written as they are.
func officeTable(rows [][]string) (text, header string) {
	var hdr []string
	var sb strings.Builder
	for _, row := range rows {
		for i := range row {
			row[i] = officeCell(row[i])
		}
		if hdr == nil {
			switch officeCount(row) {
			case 0:
				continue
			case 1:
				// A lone cell above the header is a title, not a header.
				sb.WriteString(officeJoin(row))
				sb.WriteByte('\n')
				continue
			}
			hdr = row
			header = officeJoin(row)
			sb.WriteString(header)
			sb.WriteByte('\n')
			continue
		}
		if line := officeRow(hdr, row); line != "" {
			sb.WriteString(line)
			sb.WriteByte('\n')
		}
	}
	if sb.Len() == 0 {
		return "", ""
	}
	sb.WriteByte('\n')
	return sb.String(), header
}

// officeRow renders one row against the header cells.
func officeRow(hdr, row []string) string {
	var sb strings.Builder
	for i, v := range row {
		if v == "" {
			continue
		}
		if sb.Len() > 0 {
			sb.WriteString(" | ")
		}
		if i < len(hdr) && officeLabel(hdr[i], v) {
			sb.WriteString(hdr[i])
			sb.WriteString(": ")
		}
		sb.WriteString(v)
	}
	return sb.String()
}

// maxLabel is the longest header cell repeated as a label on every row:
// longer ones would multiply the text, to no one's benefit.
const maxLabel = 200

// officeLabel reports whether header cell h labels value v.
func officeLabel(h, v string) bool {
	return h != "" && h != v && len(h) <= maxLabel
}

// officeCount returns the number of non-empty cells in row.
func officeCount(row []string) int {
	n := 0
	for _, v := range row {
		if v != "" {
			n++
		}
	}
	return n
}

func officeJoin(row []string) string {
	var parts []string
	for _, v := range row {
		if v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " | ")
}
