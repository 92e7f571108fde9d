package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/pdf"
	"github.com/quarrylabs/quarry/internal/pdfium"
)

// maxTreeDepth bounds the nesting of the page tree.
const maxTreeDepth = 64

var (
	pdfiumOnce   sync.Once
	pdfiumEngine *pdfium.Engine
	pdfiumSize   = max(4, 2*runtime.NumCPU()) // store.Open sets its ingestion workers
)

// SetPDFWorkers sets how many PDFs are read at once (one PDFium instance
// each, up to 1 GiB of sandbox memory apiece while it reads; an instance
// kept for the next file holds at most 128 MiB, for at most 30 s unused);
// parsers beyond it wait. It
// should match the ingestion workers and takes effect only before the first
// PDF is parsed. The default is max(4, 2×CPUs); store.Open sets it to its
// ingestion workers.
func SetPDFWorkers(n int) {
	if n > 0 {
		pdfiumSize = n
	}
}

func engine() *pdfium.Engine {
	pdfiumOnce.Do(func() { pdfiumEngine = pdfium.New(pdfium.Config{Instances: pdfiumSize}) })
	return pdfiumEngine
}

// parsePDF extracts a PDF's text page by page.
//
// The engine is PDFium in WebAssembly (internal/pdfium): text per page in
// PDFium's text order, headings from the outline where its titles appear on
// their pages, else from lines set clearly larger than the body text (see
// emitPDF). Encrypted files open with the empty user password or
// o.Password. Files PDFium refuses (not encrypted, just unreadable to it) or
// reads no text from go to the older reader in internal/pdf, which repairs
// some broken files and enforces the decompression limits; its errors are
// the ones reported then. PDFium has no decompression limits of its own, so
// checkPDFStreams screens the file first and sends the files it flags to the
// old reader, which reads them within the limits or rejects them.
func parsePDF(ctx context.Context, name string, data []byte, o *Options) (doc *Document, err error) {
	// Producers and mail gateways leave junk before the header; offsets in
	// such files count from the header.
	if i := bytes.Index(data[:min(len(data), 1024)], []byte("%PDF-")); i > 0 {
		data = data[i:]
	}
	if err := checkPDFStreams(data, o); err != nil {
		// Possibly a bomb: the old reader meters exactly and decides.
		return parsePDFLegacy(ctx, name, data, o)
	}
	var pw *string
	if o.Password != "" {
		pw = &o.Password
	}
	d, perr := engine().Extract(ctx, data, pw, o.MaxPages)
	switch {
	case ctx.Err() != nil:
		return nil, invalid(name, ctx.Err(), "PDF took too long to parse")
	case errors.Is(perr, pdfium.ErrTooManyPages):
		return nil, invalid(name, nil, "PDF has more than %d pages", o.MaxPages)
	case errors.Is(perr, pdfium.ErrPassword):
		if o.Password != "" {
			return nil, invalid(name, nil, "PDF is encrypted and the password is wrong")
		}
		return nil, invalid(name, nil, "PDF is encrypted and needs a password")
	case errors.Is(perr, pdfium.ErrSecurity):
		return nil, invalid(name, perr, "PDF is encrypted with an unsupported method")
	case perr == nil:
		var b builder
		emitPDF(&b, pdfiumLines(d), outlineHeadings(d))
		if strings.TrimSpace(b.sb.String()) != "" {
			return b.document("pdf", len(d.Pages)), nil
		}
	}
	// PDFium refused the file or found no text in it: the old reader may
	// still read some (it repairs files PDFium gives up on); if it fails
	// too, its error says why.
	doc, err = parsePDFLegacy(ctx, name, data, o)
	if err != nil && perr == nil && !strings.Contains(err.Error(), "no text layer") {
		// PDFium opened the file and found no text; the old reader only
		// failed to open it.
		return nil, invalid(name, nil, "PDF has no text layer (scanned or image-only pages need OCR)")
	}
	return doc, err
}

// pdfiumLines turns PDFium's lines into pdfLines: cleaned, blank lines
// where the line gap is wider than usual, hyphenated breaks joined.
func pdfiumLines(d *pdfium.Document) [][]pdfLine {
	pages := make([][]pdfLine, len(d.Pages))
	for i, p := range d.Pages {
		var out []pdfLine
		var last *pdfium.Line
		for j := range p.Lines {
			l := &p.Lines[j]
			s := cleanLine(l.Text)
			if s == "" {
				continue
			}
			size := l.Size
			if size <= 0 || !finite(size) {
				size = 1
			}
			if last != nil && joinWord(&out[len(out)-1].text, s) {
				last = l
				continue
			}
			brk := ""
			if last != nil {
				brk = "\n"
				if gap := last.Top - l.Top; gap > 1.9*max(size, last.Size) || gap < -2*max(size, last.Size) {
					brk = "\n\n"
				}
			}
			out = append(out, pdfLine{text: s, size: size, bold: l.Weight >= 600, brk: brk})
			last = l
		}
		for k := range out {
			out[k].text = strings.ReplaceAll(out[k].text, "\u00ad", "")
		}
		pages[i] = out
	}
	return pages
}

// outlineHeadings returns, per page, the outline titles pointing at the page
// with their depth, keyed by their cleaned text.
func outlineHeadings(d *pdfium.Document) map[int]map[string]int {
	m := map[int]map[string]int{}
	for _, b := range d.Outline {
		t := strings.ToLower(cleanLine(b.Title))
		if b.Page < 0 || b.Page >= len(d.Pages) || t == "" {
			continue
		}
		if m[b.Page] == nil {
			m[b.Page] = map[string]int{}
		}
		if _, ok := m[b.Page][t]; !ok {
			m[b.Page][t] = b.Level
		}
	}
	return m
}

// parsePDFLegacy is the older reader, a patched copy of
// github.com/ledongthuc/pdf in internal/pdf: it meters every decoded stream
// against o.MaxDecompressedBytes and o.MaxCompressionRatio and checks ctx on
// every stream read. Pages come from a cycle-safe walk of the real page
// tree, never from the declared /Count. A panic inside the reader becomes an
// invalid_file error.
func parsePDFLegacy(ctx context.Context, name string, data []byte, o *Options) (doc *Document, err error) {
	defer func() {
		if x := recover(); x != nil {
			doc, err = nil, invalid(name, fmt.Errorf("%v", x), "malformed PDF")
		}
	}()
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
	emitPDF(&b, pageLines, nil)
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
		if last != nil && joinWord(&out[len(out)-1].text, s) {
			last = l
			continue
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
	bold bool    // set in a bold font (weight 600 or more)
	brk  string  // what separates it from the line before: "", "\n" or "\n\n"
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func endsSpace(sb *strings.Builder) bool {
	s := sb.String()
	return s == "" || s[len(s)-1] == ' '
}

func startsSpace(s string) bool { return s != "" && (s[0] == ' ' || s[0] == '\t') }

// hyphenJoin reports whether text ends with a letter and a hyphen and next
// joinWord appends line s to prev when prev ends inside a word, reporting
// whether it did: a soft hyphen marks a break inside a word, and "exam-" +
// "ple" (see hyphenJoin) drops the hyphen; neither gets a line break.
func joinWord(prev *string, s string) bool {
	switch {
	case strings.HasSuffix(*prev, "\u00ad"):
		*prev = strings.TrimSuffix(*prev, "\u00ad") + s
	case hyphenJoin(*prev, s):
		*prev = (*prev)[:len(*prev)-1] + s
	default:
		return false
	}
	return true
}

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

// emitPDF adds the pages' lines to b as sections. When outline (page index
// to lower-cased outline titles and their depth) names lines on their pages,
// those lines are the headings, nested by outline depth. Otherwise lines set
// clearly larger than the body text (the size most characters use), short
// and with letters, become Heading sections nested by size, and so do short
// bold lines opening a paragraph in a document whose body is not bold. The
// text under a heading carries its heading path.
func emitPDF(b *builder, pages [][]pdfLine, outline map[int]map[string]int) {
	byOutline := false
	for i, ls := range pages {
		for _, l := range ls {
			if _, ok := outline[i][strings.ToLower(l.text)]; ok {
				byOutline = true
			}
		}
	}
	boldChars, allChars := 0, 0
	for _, ls := range pages {
		for _, l := range ls {
			n := utf8.RuneCountInString(l.text)
			allChars += n
			if l.bold {
				boldChars += n
			}
		}
	}
	boldBody := boldChars*2 > allChars
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
	// rank orders headings: outline depth, or font size (a bold heading at
	// body size ranks just above the body).
	rank := func(page int, l pdfLine) (float64, bool) {
		if byOutline {
			lvl, ok := outline[page][strings.ToLower(l.text)]
			return 1000 - float64(lvl), ok
		}
		if body <= 0 || utf8.RuneCountInString(l.text) > 120 || seenOn[l.text] > 2 {
			return 0, false
		}
		if l.size >= 1.15*body {
			return l.size, true
		}
		if l.bold && !boldBody && l.size >= body-0.25 && utf8.RuneCountInString(l.text) <= 80 && l.brk != "\n" {
			return l.size + 0.1, true
		}
		return 0, false
	}
	isHeading := func(page int, l pdfLine) bool {
		if _, ok := rank(page, l); !ok {
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
			if !isHeading(i, l) {
				if para.Len() > 0 {
					para.WriteString(l.brk)
				}
				para.WriteString(l.text)
				continue
			}
			flush()
			// A heading set on several lines is one heading.
			text := l.text
			for j+1 < len(ls) && ls[j+1].brk == "\n" && math.Abs(ls[j+1].size-l.size) < 0.5 && isHeading(i, ls[j+1]) && len(text) < 200 {
				j++
				text += " " + ls[j].text
			}
			r, _ := rank(i, l)
			for len(stack) > 0 && stack[len(stack)-1].size <= r+0.25 {
				stack = stack[:len(stack)-1]
			}
			if len(stack) >= 6 {
				stack = stack[:5]
			}
			stack = append(stack, head{r, text})
			b.add(text+"\n\n", Section{Kind: Heading, Page: page, Headings: path()})
		}
		flush()
	}
}
