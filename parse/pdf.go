package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/pdf"
)

// maxTreeDepth bounds the nesting of the page tree.
const maxTreeDepth = 64

// parsePDF extracts a PDF's text page by page.
//
// The PDF reader is a patched copy of github.com/ledongthuc/pdf in
// internal/pdf: it meters every decoded stream against
// o.MaxDecompressedBytes and o.MaxCompressionRatio and checks ctx on every
// stream read. Pages come from a cycle-safe walk of the real page tree, never
// from the declared /Count. A panic inside the reader becomes an invalid_file
// error. Each page gives one or more sections; lines set clearly larger than
// the body text become Heading sections (see emitPDF).
func parsePDF(ctx context.Context, name string, data []byte, o *Options) (doc *Document, err error) {
	defer func() {
		if x := recover(); x != nil {
			doc, err = nil, invalid(name, fmt.Errorf("%v", x), "malformed PDF")
		}
	}()
	// Producers and mail gateways leave junk before the header; offsets in
	// such files count from the header.
	if i := bytes.Index(data[:min(len(data), 1024)], []byte("%PDF-")); i > 0 {
		data = data[i:]
	}
	opt := pdf.Options{
		Context:              ctx,
		MaxDecompressedBytes: o.MaxDecompressedBytes,
		MaxCompressionRatio:  o.MaxCompressionRatio,
	}
	if o.Password != "" {
		opt.Passwords = []string{o.Password}
	}
	r, err := pdf.NewReaderOptions(bytes.NewReader(data), int64(len(data)), opt)
	if err != nil {
		return nil, pdfError(ctx, name, r, err, o)
	}
	pages, err := pageTree(ctx, r, o.MaxPages)
	if (err != nil || len(pages) == 0) && r.Err() == nil && !errors.Is(err, errTooManyPages) {
		// The cross-reference table opened but points at the wrong places:
		// rebuild it from the objects in the file and try again.
		if rerr := r.Repair(); rerr == nil {
			pages, err = pageTree(ctx, r, o.MaxPages)
		}
	}
	if err != nil {
		return nil, pdfError(ctx, name, r, err, o)
	}
	if len(pages) == 0 {
		return nil, invalid(name, nil, "PDF has no pages")
	}
	pageLines := make([][]pdfLine, len(pages))
	for i, p := range pages {
		if err := ctx.Err(); err != nil {
			return nil, pdfError(ctx, name, r, err, o)
		}
		// A page whose content is broken keeps what was read before the
		// fault; a page without text is still counted in Pages.
		texts, _ := p.Texts()
		if rerr := r.Err(); rerr != nil {
			return nil, pdfError(ctx, name, r, rerr, o)
		}
		pageLines[i] = layoutLines(texts)
	}
	var b builder
	emitPDF(&b, pageLines)
	if strings.TrimSpace(b.sb.String()) == "" {
		return nil, invalid(name, nil, "PDF has no text layer (scanned or image-only pages need OCR)")
	}
	return b.document("pdf", len(pages)), nil
}

// pdfError translates a reader failure into a *Error.
func pdfError(ctx context.Context, name string, r *pdf.Reader, err error, o *Options) error {
	if rerr := r.Err(); rerr != nil {
		err = rerr
	}
	if cerr := ctx.Err(); cerr != nil {
		return invalid(name, cerr, "PDF took too long to parse")
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return invalid(name, err, "PDF took too long to parse")
	case errors.Is(err, pdf.ErrLimit):
		return invalid(name, err, "PDF exceeds a decompression limit (compression bomb?)")
	case errors.Is(err, pdf.ErrInvalidPassword):
		if o.Password != "" {
			return invalid(name, nil, "PDF is encrypted and the password is wrong")
		}
		return invalid(name, nil, "PDF is encrypted and needs a password")
	case errors.Is(err, errTooManyPages):
		return invalid(name, nil, "PDF has more than %d pages", o.MaxPages)
	}
	if strings.Contains(err.Error(), "encrypt") {
		return invalid(name, err, "PDF is encrypted with an unsupported method")
	}
	return invalid(name, err, "malformed PDF")
}

var errTooManyPages = errors.New("too many pages")

// pageTree returns the leaves of the page tree in order. It follows /Kids,
// ignores the declared /Count, visits every node at most once and stops with
// errTooManyPages past max pages.
func pageTree(ctx context.Context, r *pdf.Reader, max int) (pages []pdf.Page, err error) {
	defer pdf.Recover(&err)
	type id struct {
		n uint32
		g uint16
	}
	seen := map[id]bool{}
	var walk func(v pdf.Value, depth int) error
	walk = func(v pdf.Value, depth int) error {
		if v.Kind() != pdf.Dict || depth > maxTreeDepth {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.Err(); err != nil {
			return err
		}
		n, g := v.ObjectID()
		k := id{n, g}
		if n != 0 {
			if seen[k] {
				return nil // a cycle or a shared node: count it once
			}
			seen[k] = true
		}
		kids := v.Key("Kids")
		typ := v.Key("Type").Name()
		if typ == "Pages" || typ != "Page" && kids.Kind() == pdf.Array {
			for i := 0; i < kids.Len(); i++ {
				if err := walk(kids.Index(i), depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if len(pages) >= max {
			return errTooManyPages
		}
		pages = append(pages, pdf.Page{V: v})
		return nil
	}
	root := r.Trailer().Key("Root").Key("Pages")
	if err := walk(root, 0); err != nil {
		return nil, err
	}
	return pages, nil
}

// line is a run of glyphs on one baseline.
type line struct {
	sb        strings.Builder
	dx, dy    float64 // baseline direction
	perp, end float64 // position across the baseline; pen position along it
	size      float64
}

// layoutLines turns a page's glyphs, in content-stream order, into lines and
// paragraphs. Positions are taken along and across each glyph's baseline, so
// rotated text reads like upright text. A new line starts where the baseline
// moves or turns or the pen jumps back; a space goes where glyphs are further
// apart than a fraction of the font size; a blank line separates lines
// further apart than usual; hyphenated line breaks are joined.
func layoutLines(texts []pdf.Text) []pdfLine {
	var lines []*line
	var cur *line
	var prev pdf.Text
	var prevAlong float64
	for _, t := range texts {
		if t.S == "" || !finite(t.X) || !finite(t.Y) || !finite(t.DX) || !finite(t.DY) {
			continue
		}
		size := math.Abs(t.FontSize)
		if size < 1 || !finite(size) {
			size = 1
		}
		along := t.X*t.DX + t.Y*t.DY
		perp := -t.X*t.DY + t.Y*t.DX
		if cur != nil {
			turned := math.Abs(t.DX-cur.dx)+math.Abs(t.DY-cur.dy) > 0.1
			if turned || math.Abs(perp-cur.perp) > 0.5*math.Max(size, cur.size) || along < cur.end-2*size {
				cur = nil
			}
		}
		if cur == nil {
			cur = &line{dx: t.DX, dy: t.DY, perp: perp, end: along, size: size}
			lines = append(lines, cur)
		} else {
			// Fake bold: the same glyph drawn again at almost the same place.
			if t.S == prev.S && t.W > 0 && math.Abs(along-prevAlong) < 0.2*size && math.Abs(t.Y-prev.Y)+math.Abs(t.X-prev.X) < 0.5*size {
				continue
			}
			gap := along - cur.end
			if gap > 0.18*size && !endsSpace(&cur.sb) && !startsSpace(t.S) {
				cur.sb.WriteByte(' ')
			}
		}
		cur.sb.WriteString(t.S)
		w := t.W
		if w <= 0 || !finite(w) {
			w = 0.5 * size * float64(utf8.RuneCountInString(t.S))
		}
		if e := along + w; e > cur.end || along >= cur.end-2*size {
			cur.end = e
		}
		cur.size = math.Max(cur.size, size)
		prev, prevAlong = t, along
	}
	var out []pdfLine
	var last *line
	for _, l := range lines {
		s := cleanLine(l.sb.String())
		if s == "" {
			continue
		}
		if last != nil {
			p := &out[len(out)-1]
			switch {
			case strings.HasSuffix(p.text, "\u00ad"):
				// A soft hyphen marks a break inside a word.
				p.text = strings.TrimSuffix(p.text, "\u00ad") + s
				last = l
				continue
			case hyphenJoin(p.text, s):
				// "exam-" + "ple": drop the hyphen, no break.
				p.text = p.text[:len(p.text)-1] + s
				last = l
				continue
			}
		}
		brk := ""
		if last != nil {
			brk = "\n"
			if last.dx != l.dx || last.dy != l.dy || math.Abs(last.perp-l.perp) > 1.9*math.Max(l.size, last.size) {
				brk = "\n\n"
			}
		}
		out = append(out, pdfLine{text: s, size: l.size, brk: brk})
		last = l
	}
	for i := range out {
		out[i].text = strings.ReplaceAll(out[i].text, "\u00ad", "")
	}
	return out
}

// pdfLine is one line of a page's text.
type pdfLine struct {
	text string
	size float64 // largest font size on the line
	brk  string  // what separates it from the line before: "", "\n" or "\n\n"
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func endsSpace(sb *strings.Builder) bool {
	s := sb.String()
	return s == "" || s[len(s)-1] == ' '
}

func startsSpace(s string) bool { return s != "" && (s[0] == ' ' || s[0] == '\t') }

// hyphenJoin reports whether text ends with a letter and a hyphen and next
// starts with a lower-case letter.
func hyphenJoin(text, next string) bool {
	if !strings.HasSuffix(text, "-") {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(text[:len(text)-1])
	n, _ := utf8.DecodeRuneInString(next)
	return unicode.IsLetter(r) && unicode.IsLower(n)
}

// cleanLine maps control characters and odd spaces to spaces, collapses runs
// of spaces, trims the line and spells out typographic ligatures (ﬁ → fi),
// as pdftotext does, so that "finish" finds a PDF's "ﬁnish".
func cleanLine(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || r == 0xFEFF {
			continue // an unmapped glyph or a stray byte-order mark
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if r >= 0xFB00 && r <= 0xFB06 {
			b.WriteString(ligatures[r-0xFB00])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ligatures spells out U+FB00..U+FB06 (their NFKC forms).
var ligatures = [...]string{"ff", "fi", "fl", "ffi", "ffl", "st", "st"}

// emitPDF adds the pages' lines to b as sections. Lines set clearly larger
// than the body text (the size most characters use), short and with letters
// become Heading sections, nested by size; the text under them carries
// their heading path.
func emitPDF(b *builder, pages [][]pdfLine) {
	chars := map[int]int{}
	for _, ls := range pages {
		for _, l := range ls {
			chars[int(math.Round(l.size*2))] += utf8.RuneCountInString(l.text)
		}
	}
	body, most := 0.0, -1
	for k, n := range chars {
		if n > most || n == most && float64(k)/2 < body {
			body, most = float64(k)/2, n
		}
	}
	// Large text repeated on several pages is a running header, not a heading.
	seenOn := map[string]int{}
	for _, ls := range pages {
		for _, l := range ls {
			if l.size >= 1.15*body {
				seenOn[l.text]++
			}
		}
	}
	isHeading := func(l pdfLine) bool {
		if body <= 0 || l.size < 1.15*body || utf8.RuneCountInString(l.text) > 120 || seenOn[l.text] > 2 {
			return false
		}
		letters := 0
		for _, r := range l.text {
			if unicode.IsLetter(r) {
				letters++
			}
		}
		return letters >= 2
	}
	type head struct {
		size float64
		text string
	}
	var stack []head
	path := func() []string {
		if len(stack) == 0 {
			return nil
		}
		p := make([]string, len(stack))
		for i, h := range stack {
			p[i] = h.text
		}
		return p
	}
	for i, ls := range pages {
		page := i + 1
		var para strings.Builder
		flush := func() {
			if para.Len() > 0 {
				para.WriteString("\n\n")
				b.add(para.String(), Section{Kind: Paragraph, Page: page, Headings: path()})
				para.Reset()
			}
		}
		for j := 0; j < len(ls); j++ {
			l := ls[j]
			if !isHeading(l) {
				if para.Len() > 0 {
					para.WriteString(l.brk)
				}
				para.WriteString(l.text)
				continue
			}
			flush()
			// A heading set on several lines is one heading.
			text := l.text
			for j+1 < len(ls) && ls[j+1].brk == "\n" && math.Abs(ls[j+1].size-l.size) < 0.5 && isHeading(ls[j+1]) && len(text) < 200 {
				j++
				text += " " + ls[j].text
			}
			for len(stack) > 0 && stack[len(stack)-1].size <= l.size+0.25 {
				stack = stack[:len(stack)-1]
			}
			if len(stack) >= 6 {
				stack = stack[:5]
			}
			stack = append(stack, head{l.size, text})
			b.add(text+"\n\n", Section{Kind: Heading, Page: page, Headings: path()})
		}
		flush()
	}
}
