package parse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// parse is Parse: sniff, bound, read, detect by content then extension,
// dispatch. Binary and unsupported files are refused from their first
// sniffLen bytes, and files whose size is known and over a limit from their
// size: neither is read further.
func parse(ctx context.Context, name string, r io.Reader, opts *Options) (doc *Document, err error) {
	o := opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if r == nil {
		return nil, invalid(name, nil, "no content")
	}
	size := knownSize(r)
	if size > o.MaxFileSize {
		return nil, invalid(name, nil, "larger than the %d-byte limit", o.MaxFileSize)
	}
	cr := &ctxReader{ctx: ctx, r: r}
	readErr := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("parse %s: %w", name, ctx.Err())
		}
		return fmt.Errorf("parse %s: read: %w", name, err)
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(cr, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, readErr(err)
	}
	head = head[:n]
	typ := Detect(name, head)
	switch {
	case typ == typePDF, typ == typeZip, typ == "docx", typ == "pptx", typ == "xlsx", typ == typeDOC:
	case typ == "":
		return nil, unsupported(name, "extension %q is not supported", filepath.Ext(name))
	case typ == typeBinary:
		return nil, unsupported(name, "binary content that is not text or a supported document format")
	case !isTextType(typ):
		return nil, unsupported(name, "%s files are not supported", typ)
	}
	limit, what := o.MaxFileSize, ""
	if isTextType(typ) && 2*o.MaxTextBytes < limit {
		limit, what = 2*o.MaxTextBytes, fmt.Sprintf(" for %s files (twice Options.MaxTextBytes)", typ)
	}
	if size > limit {
		return nil, invalid(name, nil, "larger than the %d-byte limit%s", limit, what)
	}
	if o.Memory != nil && size >= 0 {
		got, err := o.Memory.acquire(ctx, estimate(typ, size, &o))
		if err != nil {
			return nil, fmt.Errorf("parse %s: waiting for memory: %w", name, err)
		}
		defer o.Memory.release(got)
	}
	var buf bytes.Buffer
	if size >= 0 {
		buf.Grow(int(size) + 1)
	}
	buf.Write(head)
	if n == sniffLen {
		if _, err := buf.ReadFrom(io.LimitReader(cr, limit+1-int64(n))); err != nil {
			return nil, readErr(err)
		}
	}
	data := buf.Bytes()
	if int64(len(data)) > limit {
		return nil, invalid(name, nil, "larger than the %d-byte limit%s", limit, what)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	if o.Memory != nil && size < 0 {
		got, err := o.Memory.acquire(ctx, estimate(typ, int64(len(data)), &o))
		if err != nil {
			return nil, fmt.Errorf("parse %s: waiting for memory: %w", name, err)
		}
		defer o.Memory.release(got)
	}
	// Parsers must not panic on user bytes; if one does anyway, the caller
	// gets an error for this file rather than a crashed process.
	defer func() {
		if p := recover(); p != nil {
			doc, err = nil, invalid(name, fmt.Errorf("%v", p), "parser failed")
		}
		if doc != nil && doc.overBudget > 0 {
			doc, err = nil, invalid(name, nil, "extracted text is larger than the %d-byte limit (Options.MaxTextBytes)", doc.overBudget)
		}
	}()
	switch typ {
	case typePDF:
		return parsePDF(ctx, name, data, &o)
	case typeZip, "docx", "pptx", "xlsx":
		return parseZip(ctx, name, data, &o)
	case typeDOC:
		return parseOLE(ctx, name, data, &o)
	}
	return parseText(ctx, name, typ, data, &o)
}

// knownSize returns the bytes r will yield when r can tell without being
// read (an *os.File, a *bytes.Reader or *strings.Reader), else -1.
func knownSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface {
		Stat() (fs.FileInfo, error)
		io.Seeker
	}:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return max(fi.Size()-off, 0)
	}
	return -1
}

// estimate is the memory Parse reserves from Options.Memory for a file of
// typ and size: the bytes read, and for text their decoding and extraction;
// for archives and PDFs also what they may decompress and extract.
func estimate(typ string, size int64, o *Options) int64 {
	if isTextType(typ) {
		return 3*size + 1<<20
	}
	ratio := int64(o.MaxCompressionRatio)
	return size + min(o.MaxDecompressedBytes, ratio*size) + min(o.MaxTextBytes, ratio*size) + 1<<20
}

// ctxReader stops a slow read when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func isTextType(typ string) bool {
	switch typ {
	case typeText, typeMarkdown, typeRST, typeLaTeX, typeHTML, typeXML, typeJSON, typeJSONL,
		typeCSV, typeTSV, typeYAML, typeConfig, typeCode:
		return true
	}
	return false
}

// errTooDeep reports nesting beyond Options.MaxXMLDepth.
var errTooDeep = errors.New("nesting too deep")

// parseText decodes data to UTF-8 and extracts it as format typ.
func parseText(ctx context.Context, name, typ string, data []byte, o *Options) (*Document, error) {
	var declared string
	switch typ {
	case typeHTML:
		declared = htmlCharset(data)
	case typeXML:
		declared = xmlEncoding(data)
	}
	text, _ := decodeText(data, declared)
	text = cleanText(text)
	if looksBinary(text) {
		return nil, unsupported(name, "binary content that is not text")
	}
	b := &builder{}
	b.setLimit(o)
	var err error
	switch typ {
	case typeMarkdown:
		err = markdown(ctx, b, text)
	case typeRST:
		err = rst(ctx, b, text)
	case typeLaTeX:
		err = latex(ctx, b, text)
	case typeHTML:
		err = htmlText(ctx, b, text, o)
	case typeXML:
		err = xmlText(ctx, b, text, o)
	case typeJSON:
		err = jsonText(ctx, b, text, o)
	case typeJSONL:
		err = jsonlText(ctx, b, text, o)
	case typeCSV:
		err = csvText(ctx, b, text, ',')
	case typeTSV:
		err = csvText(ctx, b, text, '\t')
	case typeYAML:
		err = yamlText(ctx, b, text)
	case typeConfig:
		err = configText(ctx, b, text)
	case typeCode:
		err = codeText(ctx, b, text)
	default:
		b.add(text, Section{})
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, fmt.Errorf("parse %s: %w", name, ctx.Err())
	case errors.Is(err, errTooDeep):
		return nil, invalid(name, err, "nesting deeper than %d levels", o.MaxXMLDepth)
	default:
		return nil, invalid(name, err, "cannot read %s", typ)
	}
	return b.document(typ, 0), nil
}

// cleanText drops what no reader wants in extracted text: a leading BOM and
// NUL characters. It keeps byte offsets meaningful by changing nothing else.
func cleanText(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// looksBinary reports whether more than a tenth of the first 8 KB of s are
// control characters other than whitespace: binary data without NULs that
// decoded "successfully" as some legacy encoding.
func looksBinary(s string) bool {
	s = s[:min(len(s), sniffLen)]
	var n, bad int
	for _, r := range s {
		n++
		if (r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' && r != '\v' && r != 0x1b) ||
			(r >= 0x7f && r < 0xa0) || r == utf8.RuneError {
			bad++
		}
	}
	return n > 0 && bad*10 > n
}

// Extractors that repeat context on every line (a CSV header before each
// value, a JSON key path before each scalar) could turn a small file into a
// huge text: a 60 KB header over a million one-byte rows. They keep the
// repetition only while their output stays within outputBudget of the
// input, and then fall back to the bare values.
func outputBudget(inputLen int) int { return 4*inputLen + 1<<20 }

// ticker checks ctx every 256 calls, so loops stay cheap and cancellable.
type ticker struct {
	ctx context.Context
	n   int
}

func (t *ticker) err() error {
	t.n++
	if t.n&255 == 0 {
		return t.ctx.Err()
	}
	return nil
}

// headingStack tracks a heading path by level.
type headingStack struct {
	levels []int
	titles []string
}

// push records a heading at level and returns the new path (a fresh slice
// that the caller may keep).
func (h *headingStack) push(level int, title string) []string {
	for len(h.levels) > 0 && h.levels[len(h.levels)-1] >= level {
		h.levels = h.levels[:len(h.levels)-1]
		h.titles = h.titles[:len(h.titles)-1]
	}
	h.levels = append(h.levels, level)
	h.titles = append(h.titles, title)
	return h.path()
}

// path returns a copy of the current path, nil when empty.
func (h *headingStack) path() []string {
	if len(h.titles) == 0 {
		return nil
	}
	return append([]string(nil), h.titles...)
}

// lineEnd returns the end of the line starting at off, past its newline.
func lineEnd(s string, off int) int {
	if i := strings.IndexByte(s[off:], '\n'); i >= 0 {
		return off + i + 1
	}
	return len(s)
}

// trimEOL strips a trailing "\n" or "\r\n".
func trimEOL(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return strings.TrimSuffix(s, "\r")
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// configText reads INI and TOML-like files: "[section]" lines are headings.
func configText(ctx context.Context, b *builder, text string) error {
	t := &ticker{ctx: ctx}
	var hs headingStack
	var path []string
	start := 0
	for off := 0; off < len(text); {
		if err := t.err(); err != nil {
			return err
		}
		end := lineEnd(text, off)
		line := strings.TrimSpace(text[off:end])
		if len(line) > 2 && line[0] == '[' && line[len(line)-1] == ']' && !strings.ContainsAny(line, "=\"") {
			b.add(text[start:off], Section{Headings: path})
			title := strings.TrimSpace(strings.Trim(line, "[]"))
			path = hs.push(1, title)
			end = skipBlankLines(text, end)
			b.add(text[off:end], Section{Kind: Heading, Headings: path})
			start = end
		}
		off = end
	}
	b.add(text[start:], Section{Headings: path})
	return nil
}
