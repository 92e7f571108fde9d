package chunk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/parse"
)

// checkChunks verifies every documented invariant of chunks cut from doc
// with budget maxTok/overlap, returning the first violation. static says
// which strategy produced them.
func checkChunks(c *Chunker, doc *parse.Document, chunks []Chunk, maxTok, overlap int, static bool) error {
	text := doc.Text
	if text == "" {
		if len(chunks) != 0 {
			return fmt.Errorf("%d chunks for an empty document", len(chunks))
		}
		return nil
	}
	if len(chunks) == 0 {
		return fmt.Errorf("no chunks for %d bytes", len(text))
	}
	d, err := c.prepare(context.Background(), doc)
	if err != nil {
		return err
	}
	if chunks[0].Start != 0 || chunks[len(chunks)-1].End != len(text) {
		return fmt.Errorf("chunks cover [%d,%d), want [0,%d)", chunks[0].Start, chunks[len(chunks)-1].End, len(text))
	}
	for i, ch := range chunks {
		if ch.Index != i {
			return fmt.Errorf("chunk %d: Index = %d", i, ch.Index)
		}
		if ch.Start < 0 || ch.End <= ch.Start || ch.End > len(text) {
			return fmt.Errorf("chunk %d: bad range [%d,%d)", i, ch.Start, ch.End)
		}
		if ch.Text != ch.Prefix+text[ch.Start:ch.End] {
			return fmt.Errorf("chunk %d: Text %q != Prefix %q + text[%d:%d] %q", i, ch.Text, ch.Prefix, ch.Start, ch.End, text[ch.Start:ch.End])
		}
		if !utf8.ValidString(ch.Text) {
			return fmt.Errorf("chunk %d: invalid UTF-8 %q", i, ch.Text)
		}
		if n := c.Count(ch.Text); ch.Tokens != n {
			return fmt.Errorf("chunk %d: Tokens = %d, Count(Text) = %d", i, ch.Tokens, n)
		}
		if ch.Tokens > maxTok {
			return fmt.Errorf("chunk %d: %d tokens > max %d (%q)", i, ch.Tokens, maxTok, ch.Text)
		}
		if cs := utf8.RuneCountInString(text[:ch.Start]); ch.CharStart != cs {
			return fmt.Errorf("chunk %d: CharStart = %d, want %d", i, ch.CharStart, cs)
		}
		if ce := ch.CharStart + utf8.RuneCountInString(text[ch.Start:ch.End]); ch.CharEnd != ce {
			return fmt.Errorf("chunk %d: CharEnd = %d, want %d", i, ch.CharEnd, ce)
		}
		// Pages and headings, by brute force over the sections.
		var ps, pe int
		var hs []string
		for _, s := range d.sections {
			if s.End <= ch.Start || s.Start >= ch.End {
				continue
			}
			if hs == nil && len(s.Headings) > 0 {
				hs = s.Headings
			}
			if s.Page > 0 {
				if ps == 0 || s.Page < ps {
					ps = s.Page
				}
				pe = max(pe, s.Page)
			}
		}
		if ch.PageStart != ps || ch.PageEnd != pe || !slices.Equal(ch.Headings, hs) {
			return fmt.Errorf("chunk %d: pages %d-%d headings %q, want %d-%d %q", i, ch.PageStart, ch.PageEnd, ch.Headings, ps, pe, hs)
		}
		if ch.Prefix != "" {
			if static {
				return fmt.Errorf("chunk %d: static chunk with prefix %q", i, ch.Prefix)
			}
			k := d.sectionAt(ch.Start)
			if k >= len(d.sections) || d.sections[k].Kind != parse.Table || d.sections[k].Start >= ch.Start ||
				ch.Prefix != d.sections[k].Header+"\n" {
				return fmt.Errorf("chunk %d: prefix %q outside a table continuation", i, ch.Prefix)
			}
		}
		if i == 0 {
			continue
		}
		prev := chunks[i-1]
		if ch.Start <= prev.Start || ch.End <= prev.End || ch.Start > prev.End {
			return fmt.Errorf("chunk %d [%d,%d) does not follow chunk %d [%d,%d)", i, ch.Start, ch.End, i-1, prev.Start, prev.End)
		}
		if static {
			step := maxTok - overlap
			if want := alignBack(text, d.tokStart(i*step)); ch.Start != want && ch.Start != prev.End {
				return fmt.Errorf("static chunk %d starts at %d, want %d (token %d)", i, ch.Start, want, i*step)
			}
		} else if n := d.tokensBetween(ch.Start, prev.End); n > overlap+1 {
			return fmt.Errorf("chunk %d overlaps chunk %d by %d tokens, more than %d+1", i, i-1, n, overlap)
		}
	}
	return nil
}

// docFromText builds a document whose sections follow simple markup, one
// section per line group: "#" lines are headings, "|" lines a table whose
// first line is its header, "```" fences a code block, "\f" starts a page.
func docFromText(text string) *parse.Document {
	doc := &parse.Document{Type: "text", Text: text}
	page := 1
	var path []string
	add := func(start, end int, kind parse.Kind, header string) {
		if end > start {
			doc.Sections = append(doc.Sections, parse.Section{Start: start, End: end, Kind: kind, Page: page, Headings: path, Header: header})
		}
	}
	lineEnd := func(i int) int {
		if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
			return i + j + 1
		}
		return len(text)
	}
	for i := 0; i < len(text); {
		e := lineEnd(i)
		line := text[i:e]
		switch {
		case strings.HasPrefix(line, "\f"):
			page++
			add(i, e, parse.Paragraph, "")
		case strings.HasPrefix(line, "#"):
			level := len(line) - len(strings.TrimLeft(line, "#"))
			if level > len(path) {
				level = len(path) + 1
			}
			path = append(slices.Clone(path[:level-1]), strings.TrimSpace(strings.TrimLeft(line, "#")))
			add(i, e, parse.Heading, "")
		case strings.HasPrefix(line, "|"):
			for e < len(text) && strings.HasPrefix(text[e:], "|") {
				e = lineEnd(e)
			}
			add(i, e, parse.Table, strings.TrimRight(line, "\r\n"))
		case strings.HasPrefix(line, "```"):
			for e < len(text) && !strings.HasPrefix(text[e:], "```") {
				e = lineEnd(e)
			}
			if e < len(text) {
				e = lineEnd(e)
			}
			add(i, e, parse.CodeBlock, "")
		default:
			for e < len(text) && !strings.ContainsAny(text[e:e+1], "#|`\f") && text[e] != '\n' {
				e = lineEnd(e)
			}
			for e < len(text) && text[e] == '\n' {
				e++
			}
			add(i, e, parse.Paragraph, "")
		}
		i = e
	}
	return doc
}
