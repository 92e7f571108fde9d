package chunk

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/parse"
)

// Encoding names a tiktoken encoding.
const (
	CL100K = "cl100k_base" // the default, as OpenAI's vector stores
	O200K  = "o200k_base"
)

// Chunk is one piece of a document. Ranges index the document's Text.
//
// INVARIANT: Text == Prefix + Document.Text[Start:End]. Prefix is empty
// except in a chunk that continues a table split across chunks, where it is
// the table's header row and a newline (see the package documentation).
type Chunk struct {
	Index              int      // 0-based position in the document
	Text               string   // the chunk's text: Prefix + Document.Text[Start:End]
	Tokens             int      // exact token count of Text
	Start, End         int      // byte range of the document span
	CharStart, CharEnd int      // the same range in Unicode code points
	PageStart, PageEnd int      // 1-based pages covered; 0 when the document has none
	Headings           []string // heading path at the chunk's start
	Prefix             string   // repeated table header row, or ""
}

// Chunker splits documents with one tiktoken encoding. A *Chunker is safe
// for concurrent use.
type Chunker struct {
	enc *encoder
}

// New returns a Chunker for encoding, CL100K when empty. The BPE table is
// read from the files compiled into the binary (tiktoken-go-loader), once
// per process, and shared by every Chunker of that encoding.
func New(encoding string) (*Chunker, error) {
	if encoding == "" {
		encoding = CL100K
	}
	if encoding != CL100K && encoding != O200K {
		return nil, fmt.Errorf("%w %q (want %s or %s)", ErrUnknownEncoding, encoding, CL100K, O200K)
	}
	e, err := loadEncoder(encoding)
	if err != nil {
		return nil, err
	}
	return &Chunker{enc: e}, nil
}

// Encoding returns the name of the chunker's encoding.
func (c *Chunker) Encoding() string { return c.enc.name }

// Count returns the number of tokens in text, as tiktoken's
// encode_ordinary would (special tokens are counted as ordinary text).
// Invalid UTF-8 bytes are encoded as single raw bytes.
func (c *Chunker) Count(text string) int {
	return c.enc.count(text)
}

// Split cuts doc into chunks with strategy s (see Strategy and the package
// documentation). It returns nil for an empty document. The Headings of the
// returned chunks are copies; nothing returned aliases doc except Text
// strings, which are substrings of doc.Text where Prefix is empty.
func (c *Chunker) Split(ctx context.Context, doc *parse.Document, s Strategy) ([]Chunk, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.Normalize()
	if doc == nil || doc.Text == "" {
		return nil, nil
	}
	d, err := c.prepare(ctx, doc)
	if err != nil {
		return nil, err
	}
	if s.Type == Static {
		return d.static(ctx, s.MaxTokens, s.OverlapTokens)
	}
	return d.auto(ctx, s.MaxTokens, s.OverlapTokens)
}

// document is a tokenized document being chunked.
type document struct {
	enc      *encoder
	text     string
	ends     []int32 // end offset of every token of text
	pieces   []piece // pre-token pieces of text
	sections []parse.Section
	out      []Chunk
	// Cursors for code point offsets; chunk starts and ends only grow.
	startCur, endCur runeCursor
	levels           []uint8 // scratch for breakLevels
}

func (c *Chunker) prepare(ctx context.Context, doc *parse.Document) (*document, error) {
	d := &document{enc: c.enc, text: doc.Text}
	// Check ctx every 64 KB or so; a piece may run past the mark.
	const stride = 1 << 16
	for i := 0; i < len(d.text); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		stop := min(i+stride, len(d.text))
		for i < stop {
			j := nextPiece(d.text, i, c.enc.o200k)
			before := len(d.ends)
			if j-i <= longPiece {
				c.enc.pieceTokens(d.text[i:j], &d.ends, i)
				d.pieces = append(d.pieces, piece{end: int32(j), tokens: int32(len(d.ends) - before)})
			} else {
				d.approxTokens(i, j)
				d.pieces = append(d.pieces, piece{end: int32(j), tokens: -1})
			}
			i = j
		}
	}
	// Keep only well-formed sections so that bad input cannot cause panics.
	last := 0
	for _, s := range doc.Sections {
		if s.Start < last || s.End <= s.Start || s.End > len(d.text) {
			continue
		}
		d.sections = append(d.sections, s)
		last = s.End
	}
	return d, nil
}

// longPiece is the length above which a pre-token piece is not merged
// whole when the document is tokenized, and segment the length of the
// parts it is merged in instead. See approxTokens.
const (
	longPiece = 4096
	segment   = 1024
)

// approxTokens appends token ends for the long piece text[i:j], merging it
// in segments of about segment bytes cut at character boundaries. Such
// pieces (a megabyte of one letter, a base64 blob without line breaks) are
// the only ones whose document token boundaries differ from tiktoken's: by
// a few tokens per segment, all at segment edges. The boundaries only guide
// where chunks are cut; every chunk's Tokens is still counted exactly, and
// no chunk exceeds its budget. Merging a whole piece is O(n log n) with
// poor locality; segments keep the work per byte small and cache-resident.
func (d *document) approxTokens(i, j int) {
	for i < j {
		k := j
		if j-i > 2*segment {
			k = alignBack(d.text, i+segment)
			if k <= i {
				k = alignFwd(d.text, i+segment)
			}
		}
		d.enc.pieceTokens(d.text[i:k], &d.ends, i)
		i = k
	}
}

// tokStart returns the start offset of token t.
func (d *document) tokStart(t int) int {
	if t <= 0 {
		return 0
	}
	if t > len(d.ends) {
		return len(d.text)
	}
	return int(d.ends[t-1])
}

// tokensBefore returns the number of tokens that end at or before pos.
func (d *document) tokensBefore(pos int) int {
	return sort.Search(len(d.ends), func(i int) bool { return int(d.ends[i]) > pos })
}

// tokensBetween returns the number of document tokens that touch [a, b).
func (d *document) tokensBetween(a, b int) int {
	if b <= a {
		return 0
	}
	return d.tokensBefore(b-1) + 1 - d.tokensBefore(a)
}

// count returns the exact token count of prefix + text[a:b]. Pieces of the
// span that are also pieces of the document reuse the document's counts.
func (d *document) count(prefix string, a, b int) int {
	if prefix != "" {
		return d.enc.count(prefix + d.text[a:b])
	}
	s := d.text[:b]
	k := sort.Search(len(d.pieces), func(i int) bool { return int(d.pieces[i].end) > a })
	n := 0
	for i := a; i < b; {
		j := nextPiece(s, i, d.enc.o200k)
		for k < len(d.pieces) && d.pieceStart(k) < i {
			k++
		}
		if k < len(d.pieces) && d.pieceStart(k) == i && int(d.pieces[k].end) == j && d.pieces[k].tokens >= 0 {
			n += int(d.pieces[k].tokens)
		} else {
			n += d.enc.pieceTokens(s[i:j], nil, 0)
		}
		i = j
	}
	return n
}

func (d *document) pieceStart(k int) int {
	if k == 0 {
		return 0
	}
	return int(d.pieces[k-1].end)
}

// sectionAt returns the index of the first section that ends after pos.
func (d *document) sectionAt(pos int) int {
	return sort.Search(len(d.sections), func(i int) bool { return d.sections[i].End > pos })
}

// emit appends the chunk prefix + text[start:end] with tokens tokens.
func (d *document) emit(prefix string, start, end, tokens int) {
	ch := Chunk{
		Index:  len(d.out),
		Text:   prefix + d.text[start:end],
		Tokens: tokens,
		Start:  start,
		End:    end,
		Prefix: prefix,
	}
	ch.CharStart = d.startCur.advance(d.text, start)
	ch.CharEnd = d.endCur.advance(d.text, end)
	for i := d.sectionAt(start); i < len(d.sections) && d.sections[i].Start < end; i++ {
		sec := &d.sections[i]
		if ch.Headings == nil && len(sec.Headings) > 0 {
			ch.Headings = slices.Clone(sec.Headings)
		}
		if sec.Page > 0 {
			if ch.PageStart == 0 || sec.Page < ch.PageStart {
				ch.PageStart = sec.Page
			}
			ch.PageEnd = max(ch.PageEnd, sec.Page)
		}
	}
	d.out = append(d.out, ch)
}

// runeCursor converts growing byte offsets to code point offsets in
// amortized linear time.
type runeCursor struct{ byteOff, runeOff int }

func (r *runeCursor) advance(s string, to int) int {
	if to < r.byteOff { // not expected; recount from the start
		*r = runeCursor{}
	}
	r.runeOff += utf8.RuneCountInString(s[r.byteOff:to])
	r.byteOff = to
	return r.runeOff
}

// alignBack moves i back to the start of the UTF-8 sequence it is in.
func alignBack(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

// alignFwd moves i forward to the next UTF-8 sequence start (or len(s)).
func alignFwd(s string, i int) int {
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return i
}

// nextRune returns the offset just after the character at i.
func nextRune(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return i + w
}

// static cuts OpenAI's fixed windows: chunk k holds document tokens
// [k*step, k*step+maxTok) with step = maxTok-overlap. Window edges inside a
// multi-byte character move back to its start so that every chunk is valid
// text; if that (or re-tokenizing the window on its own) makes a window
// exceed maxTok tokens, its end moves back a token at a time. d.text must
// not be empty (Split returns nil for an empty document).
func (d *document) static(ctx context.Context, maxTok, overlap int) ([]Chunk, error) {
	step := maxTok - overlap
	prevEnd := 0
	for first := 0; ; first += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := alignBack(d.text, d.tokStart(first))
		if first >= len(d.ends) || start > prevEnd && len(d.out) > 0 {
			// Only after a window was shortened: continue where it ended.
			start = prevEnd
			first = d.tokensBefore(start)
		}
		last := min(first+maxTok, len(d.ends))
		end, n := 0, 0
		for ; ; last-- {
			end = len(d.text)
			if last < len(d.ends) {
				end = alignBack(d.text, int(d.ends[last-1]))
			}
			if end <= start {
				end = nextRune(d.text, start)
			}
			n = d.count("", start, end)
			if n <= maxTok || last <= first+1 {
				break
			}
		}
		d.emit("", start, end, n)
		prevEnd = end
		if end == len(d.text) {
			return d.out, nil
		}
	}
}

// tablePrefix returns the header row to repeat before a chunk that starts
// at pos inside a table, after the table's first line, or "".
func (d *document) tablePrefix(pos, maxTok int) string {
	i := d.sectionAt(pos)
	if i >= len(d.sections) {
		return ""
	}
	sec := &d.sections[i]
	if sec.Kind != parse.Table || sec.Header == "" || pos <= sec.Start {
		return ""
	}
	body := d.text[sec.Start:pos]
	body = strings.TrimLeft(body, "\r\n")
	if !strings.Contains(body, "\n") || strings.HasPrefix(d.text[pos:], sec.Header) {
		return "" // still in the first line, or the span starts with the header
	}
	prefix := strings.ToValidUTF8(sec.Header, "\uFFFD") + "\n"
	if d.enc.count(prefix) > maxTok/4 {
		return "" // too large to repeat
	}
	return prefix
}
