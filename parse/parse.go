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

	// overBudget is the text budget a parser's output exceeded; Parse
	// turns such a Document into an invalid_file error.
	overBudget int64
}

// Options bounds the work Parse may do. The zero value means the defaults.
//
// Memory: a file costs about its size (archives, PDFs and Word files are
// read whole; text files are decoded whole), plus the bytes decompressed
// from it (at most MaxDecompressedBytes, counted as they are inflated),
// plus the extracted text and its sections (at most MaxTextBytes, counted
// as they are produced). With the defaults a single file stays well under
// 1 GiB. Files over a limit fail with an invalid_file *Error that names the
// limit; binary and unsupported files are rejected from their first bytes
// and files whose size is known up front (an *os.File, a *bytes.Reader,
// ...) from their size, without reading the rest.
type Options struct {
	MaxFileSize          int64 // default 512 MB
	MaxDecompressedBytes int64 // per archive or stream; default 256 MiB
	// MaxTextBytes bounds the extracted text (and its sections, at about
	// 100 bytes each) of one file. Default DefaultMaxTextBytes. A text
	// file larger than 2×MaxTextBytes is refused before it is decoded.
	MaxTextBytes int64
	// Memory, when set, is shared by every Parse that uses these Options
	// (a store's ingestion workers): each Parse reserves its estimated
	// peak memory from it first and waits while the total would pass it.
	Memory              *Budget
	MaxCompressionRatio int           // per compressed stream; default 200
	MaxZipEntries       int           // default 10,000
	MaxXMLDepth         int           // default 256
	MaxPages            int           // from the real page tree; default 10,000
	Timeout             time.Duration // per file, on top of ctx; default 60 s
	Password            string        // for encrypted PDFs
}

// Parse reads a whole file named name from r and extracts its text.
func Parse(ctx context.Context, name string, r io.Reader, opts *Options) (*Document, error) {
	return parse(ctx, name, r, opts)
}
