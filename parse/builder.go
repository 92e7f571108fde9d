package parse

import "strings"

// builder accumulates a Document's text and sections. Every extractor uses it
// so that the Section invariants hold by construction.
type builder struct {
	sb   strings.Builder
	secs []Section
}

// add appends text as one section with s's Kind, Page, PageLabel, Headings
// and Header (s.Start and s.End are ignored). Invalid UTF-8 is replaced with
// U+FFFD; empty text adds nothing. A separator is the caller's business:
// include "\n" or "\n\n" at the end of text where one belongs.
func (b *builder) add(text string, s Section) {
	text = strings.ToValidUTF8(text, "\uFFFD")
	if text == "" {
		return
	}
	s.Start = b.sb.Len()
	b.sb.WriteString(text)
	s.End = b.sb.Len()
	if n := len(b.secs); n > 0 {
		p := &b.secs[n-1]
		if p.End == s.Start && p.Kind == s.Kind && s.Kind == Paragraph && p.Page == s.Page &&
			p.PageLabel == s.PageLabel && equalPath(p.Headings, s.Headings) {
			p.End = s.End
			return
		}
	}
	b.secs = append(b.secs, s)
}

// len is the number of bytes of text so far.
func (b *builder) len() int { return b.sb.Len() }

// text is the text so far.
func (b *builder) text() string { return b.sb.String() }

// document returns the finished Document.
func (b *builder) document(typ string, pages int) *Document {
	return &Document{Type: typ, Text: b.sb.String(), Sections: b.secs, Pages: pages}
}

func equalPath(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
