package parse

import (
	"context"
	"io"
	"time"
)

// Kind says what a Section holds; the chunker prefers to cut between kinds.
type Kind int

const (
	Paragraph Kind = iota // running text
	Heading               // a heading line; its text is the last element of Headings
	Table                 // table rows, one per line; Header holds the header row
	CodeBlock             // a code block or a source file's text
	ListItem              // a list item
)

// Section is a run of Document.Text with one page and one heading path.
//
// INVARIANT: sections are in order, do not overlap, and lie inside Text;
// Start and End are byte offsets on UTF-8 boundaries.
type Section struct {
	Start, End int
	Kind       Kind
	Page       int      // 1-based page or slide number; 0 when the format has no pages
	PageLabel  string   // a name for the page where it has one (an xlsx sheet name)
	Headings   []string // heading path, outermost first; nil outside any heading
	Header     string   // for Kind == Table: the header row, repeated when a table is split
}

// Document is a parsed file. Text is always valid UTF-8.
type Document struct {
	Type     string // detected type: "text", "markdown", "pdf", "docx", ...
	Text     string
	Sections []Section
	Pages    int // pages, slides or sheets; 0 when the format has no pages
}

// Options bounds the work Parse may do. The zero value means the defaults.
type Options struct {
	MaxFileSize          int64         // default 512 MB
	MaxDecompressedBytes int64         // per archive or stream; default 1 GiB
	MaxCompressionRatio  int           // per compressed stream; default 200
	MaxZipEntries        int           // default 10,000
	MaxXMLDepth          int           // default 256
	MaxPages             int           // from the real page tree; default 10,000
	Timeout              time.Duration // per file, on top of ctx; default 60 s
	Password             string        // for encrypted PDFs
}

// Parse reads a whole file named name from r and extracts its text.
func Parse(ctx context.Context, name string, r io.Reader, opts *Options) (*Document, error) {
	return parse(ctx, name, r, opts)
}
