package parse

import "strings"

// builder accumulates a Document's text and sections. Every extractor uses it
// so that the Section invariants hold by construction.
//
// It enforces the extracted-text budget as the text is produced: once the
// text would pass max bytes (DefaultMaxTextBytes when zero; Parse sets
// Options.MaxTextBytes) it keeps nothing more, and the Document it returns
// makes Parse fail the file with an invalid_file error naming the limit.
// Sections count too, at sectionCost bytes each, so that a flood of tiny
// table cells or slides is bounded as well.
type builder struct {
	sb   strings.Builder
	secs []Section
	max  int64
	over bool // the budget was exceeded
}

// sectionCost is what one Section counts against the text budget: about
// its size in memory with a short heading path.
const sectionCost = 96

// setLimit sets the budget from o.
func (b *builder) setLimit(o *Options) { b.max = o.MaxTextBytes }

// fits reports whether n more bytes of text and one more section stay
// within the budget, and records when they do not.
func (b *builder) fits(n int) bool {
	max := b.max
	if max <= 0 {
		max = DefaultMaxTextBytes
	}
	if b.over || int64(b.sb.Len())+int64(n)+int64(len(b.secs)+1)*sectionCost > max {
		b.over = true
		return false
	}
	return true
}

// add appends text as one section with s's Kind, Page, PageLabel, Headings
// and Header (s.Start and s.End are ignored). Invalid UTF-8 is replaced with
// U+FFFD; empty text adds nothing. A separator is the caller's business:
// include "\n" or "\n\n" at the end of text where one belongs.
func (b *builder) add(text string, s Section) {
	if text == "" || !b.fits(len(text)) {
		return
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	if !b.fits(len(text)) {
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
	if b.over {
		max := b.max
		if max <= 0 {
			max = DefaultMaxTextBytes
		}
		return &Document{Type: typ, overBudget: max}
	}
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
