package parse

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxField bounds one CSV field or JSON string in the output; longer ones
// are cut (on a rune boundary) and marked with "…".
const maxField = 64 << 10

// clip cuts s to maxField bytes.
func clip(s string) string {
	if len(s) <= maxField {
		return s
	}
	i := maxField
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// csvText reads CSV or TSV: every row becomes a line "Header: value |
// Header: value" inside one Table section whose Header is the header row.
// The header is the first record, unless the last leading "#" comment line
// has as many fields as the first record (then it is the header, as in
// "# Word 1<TAB>Word 2<TAB>Score"), or the first two records both have a
// number in the same column (then there is no header and rows read
// "a | b | c"). Leading comment lines are kept as a paragraph. A malformed
// tail is kept as plain text.
func csvText(ctx context.Context, b *builder, text string, comma rune) error {
	t := &ticker{ctx: ctx}
	off, lastComment := 0, ""
	for off < len(text) && (text[off] == '#' || text[off] == '\n' || text[off] == '\r') {
		end := lineEnd(text, off)
		if text[off] == '#' {
			lastComment = strings.TrimSpace(strings.TrimLeft(text[off:end], "#"))
		}
		off = end
	}
	b.add(text[:off], Section{})
	header, noHeader := csvHeader(text[off:], lastComment, comma)
	budget := outputBudget(len(text))
	r := csv.NewReader(strings.NewReader(text[off:]))
	r.Comma = comma
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	var sb strings.Builder
	rest := len(text)
	for {
		if err := t.err(); err != nil {
			return err
		}
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			rest = off + int(r.InputOffset())
			break
		}
		for i := range rec {
			rec[i] = clip(rec[i])
		}
		if header == nil && !noHeader {
			header = rec
			continue
		}
		labels := header
		if sb.Len() > budget {
			labels = nil
		}
		writeRow(&sb, labels, rec)
	}
	if sb.Len() == 0 && header != nil {
		writeRow(&sb, nil, header)
		header = nil
	}
	b.add(sb.String(), Section{Kind: Table, Header: strings.Join(header, " | ")})
	if rest < len(text) {
		b.add("\n"+text[rest:], Section{})
	}
	return nil
}

// csvHeader decides the header of CSV text (see csvText): it returns the
// header taken from a comment, or noHeader when the first record is data.
// A nil header with noHeader false means "the first record".
func csvHeader(text, comment string, comma rune) (header []string, noHeader bool) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord = comma, true, -1
	first, err := r.Read()
	if err != nil {
		return nil, false
	}
	if comment != "" {
		var c []string
		if comma == '\t' {
			c = strings.Split(comment, "\t")
		} else {
			c = strings.Split(comment, string(comma))
		}
		if len(c) == len(first) && len(c) > 1 {
			for i := range c {
				c[i] = strings.TrimSpace(c[i])
			}
			return c, true
		}
	}
	second, err := r.Read()
	if err != nil {
		return nil, false
	}
	for i := range min(len(first), len(second)) {
		if isNumber(first[i]) && isNumber(second[i]) {
			return nil, true
		}
	}
	return nil, false
}

// isNumber reports whether s looks like a decimal number.
func isNumber(s string) bool {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && !dot:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return s != "."
}

// jsonWalk streams the JSON value in text and calls emit for every scalar
// with its key path ("a.b[2].c"). Nesting beyond maxDepth is errTooDeep.
func jsonWalk(ctx context.Context, text string, maxDepth int, emit func(path []jsonStep, value string)) error {
	t := &ticker{ctx: ctx}
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var stack []jsonStep
	// advance marks the current container's element as done.
	advance := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	for {
		if err := t.err(); err != nil {
			return err
		}
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
			if k, ok := tok.(string); ok {
				stack[n-1].key, stack[n-1].wantKey = k, false
				continue
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(stack) >= maxDepth {
					return errTooDeep
				}
				stack = append(stack, jsonStep{array: v == '[', wantKey: v == '{'})
			default:
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				advance()
			}
			continue
		case string:
			emit(stack, clip(v))
		case json.Number:
			emit(stack, v.String())
		case bool:
			if v {
				emit(stack, "true")
			} else {
				emit(stack, "false")
			}
		case nil:
			emit(stack, "null")
		}
		advance()
	}
}

// jsonStep is one level of a JSON key path.
type jsonStep struct {
	array   bool
	index   int
	key     string
	wantKey bool
}

// jsonPath renders a key path: a.b[2].c.
func jsonPath(steps []jsonStep) string {
	var sb strings.Builder
	for _, s := range steps {
		if s.array {
			sb.WriteByte('[')
			sb.WriteString(itoa(s.index))
			sb.WriteByte(']')
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(s.key)
	}
	return sb.String()
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(buf[n:])
}

// jsonText reads a JSON document as one line per scalar, "path: value"
// (just the value once the output outgrows outputBudget);
// each top-level key of an object gets its own section with the key as its
// heading path. Text that is not valid JSON (comments, trailing commas) is
// read as plain text.
func jsonText(ctx context.Context, b *builder, text string, o *Options) error {
	if !json.Valid([]byte(text)) {
		b.add(text, Section{})
		return nil
	}
	var line strings.Builder
	budget := outputBudget(len(text))
	return jsonWalk(ctx, text, o.MaxXMLDepth, func(path []jsonStep, v string) {
		line.Reset()
		if b.len() > budget {
			path = nil // over budget: values only
		}
		if p := jsonPath(path); p != "" {
			line.WriteString(p)
			line.WriteString(": ")
		}
		line.WriteString(v)
		line.WriteByte('\n')
		var head []string
		if len(path) > 0 && !path[0].array {
			head = []string{path[0].key}
		}
		b.add(line.String(), Section{Headings: head})
	})
}

// jsonlText reads JSON Lines: each record becomes one line "path: value |
// path: value" in its own ListItem section. Lines that are not JSON are kept
// as they are.
func jsonlText(ctx context.Context, b *builder, text string, o *Options) error {
	t := &ticker{ctx: ctx}
	var rec strings.Builder
	budget := outputBudget(len(text))
	for off := 0; off < len(text); {
		if err := t.err(); err != nil {
			return err
		}
		end := lineEnd(text, off)
		line := strings.TrimSpace(text[off:end])
		off = end
		if line == "" {
			continue
		}
		if !json.Valid([]byte(line)) {
			b.add(line+"\n", Section{Kind: ListItem})
			continue
		}
		rec.Reset()
		err := jsonWalk(ctx, line, o.MaxXMLDepth, func(path []jsonStep, v string) {
			if rec.Len() > 0 {
				rec.WriteString(" | ")
			}
			if b.len() > budget {
				path = nil // over budget: values only
			}
			if p := jsonPath(path); p != "" {
				rec.WriteString(p)
				rec.WriteString(": ")
			}
			rec.WriteString(strings.Join(strings.Fields(v), " "))
		})
		if err != nil {
			return err
		}
		rec.WriteByte('\n')
		b.add(rec.String(), Section{Kind: ListItem})
	}
	return nil
}

var xmlDecl = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)
})

// xmlEncoding returns the encoding named in an XML declaration, or "".
func xmlEncoding(data []byte) string {
	head := data[:min(len(data), 256)]
	if m := xmlDecl().FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

// xmlText reads XML as the character data of its elements: tags separate
// words and line breaks between tags separate lines. Entities beyond the predefined and HTML ones are not
// expanded (no DTD processing, so no entity bombs). Nesting beyond
// Options.MaxXMLDepth is an error; malformed XML is read as plain text.
func xmlText(ctx context.Context, b *builder, text string, o *Options) error {
	t := &ticker{ctx: ctx}
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil } // already UTF-8
	var out, cur strings.Builder
	depth := 0
	flushText := func() {
		if s := strings.Join(strings.Fields(cur.String()), " "); s != "" {
			out.WriteString(clip(s))
			out.WriteByte('\n')
		}
		cur.Reset()
	}
	for {
		if err := t.err(); err != nil {
			return err
		}
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.add(text, Section{})
			return nil
		}
		// Tags separate words; a line break between tags (pretty-printed
		// structure) ends a line of output, so mixed content such as
		// "<p>a <b>b</b>.</p>" stays on one line.
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > o.MaxXMLDepth {
				return errTooDeep
			}
			cur.WriteByte(' ')
		case xml.EndElement:
			depth--
			cur.WriteByte(' ')
		case xml.CharData:
			if bytes.IndexByte(tok, '\n') >= 0 && len(bytes.TrimSpace(tok)) == 0 {
				flushText()
			} else {
				cur.Write(tok)
			}
		}
	}
	flushText()
	b.add(out.String(), Section{})
	return nil
}

// yamlText reads YAML as text; each top-level key starts a section whose
// heading path is that key, so chunks can cite it.
func yamlText(ctx context.Context, b *builder, text string) error {
	t := &ticker{ctx: ctx}
	var path []string
	start := 0
	for off := 0; off < len(text); {
		if err := t.err(); err != nil {
			return err
		}
		end := lineEnd(text, off)
		if key, ok := yamlTopKey(text[off:end]); ok {
			b.add(text[start:off], Section{Headings: path})
			path, start = []string{key}, off
		} else if strings.HasPrefix(text[off:end], "---") {
			b.add(text[start:off], Section{Headings: path})
			path, start = nil, off
		}
		off = end
	}
	b.add(text[start:], Section{Headings: path})
	return nil
}

// yamlTopKey returns the key of a top-level mapping line "key: ...".
func yamlTopKey(line string) (string, bool) {
	if line == "" || strings.ContainsRune(" \t#-[{\r\n", rune(line[0])) {
		return "", false
	}
	i := strings.Index(line, ":")
	if i <= 0 || i+1 < len(line) && line[i+1] != ' ' && line[i+1] != '\n' && line[i+1] != '\r' && line[i+1] != '\t' {
		return "", false
	}
	return strings.Trim(strings.TrimSpace(line[:i]), `"'`), true
}
