/*
Package parse detects a file's type and extracts its text with the structure
that chunking and citations need: pages, heading paths and the kind of each
run of text (paragraph, heading, table, code, list item).

# Basics

	doc, err := parse.Parse(ctx, "guide.md", r, nil) // nil Options: the defaults
	for _, s := range doc.Sections {
		fmt.Println(s.Kind, s.Headings, doc.Text[s.Start:s.End])
	}

Parse reads the whole file (at most Options.MaxFileSize bytes) and decides its
type by content first and by name second:

  - "%PDF-" at the very start, or later within the first 1024 bytes and
    followed by "obj" within the first 8 KB: PDF, whatever the name (a PDF
    named .txt is read as a PDF; text that merely mentions "%PDF-1.7" near
    its top stays text);
  - a zip archive (PK\x03\x04): docx, pptx or xlsx, chosen by the archive's
    content, so a .docx renamed .zip, or with no extension, still reads;
  - an OLE2 compound file (D0 CF 11 E0 A1 B1 1A E1): legacy Word .doc;
  - known binary formats (images, audio, video, executables, archives other
    than OOXML, fonts, SQLite, ...) and data with NUL bytes that is not
    UTF-16: rejected with ErrUnsupported;
  - anything else is text, read as the format its extension names. A name
    without an extension is sniffed: HTML, XML, JSON, JSON Lines, markdown
    (a leading "# "), code (a "#!" line), else plain text.

Detect exposes that decision; Supported answers the cheaper question "would
Parse try a file with this name" from the extension alone.

# Text formats

Document.Type names the format read:

	text      .txt .text .log          one paragraph section
	markdown  .md .markdown            ATX and setext headings, fenced code, pipe tables, list items
	rst       .rst                     underlined (and overlined) headings, levels by first use
	latex     .tex .latex              \part ... \paragraph headings, verbatim environments as code
	html      .html .htm .xhtml        see below
	xml       .xml                     element text, one line per element
	json      .json                    one "a.b[2].c: value" line per scalar; top-level keys as headings
	jsonl     .jsonl .ndjson           one "path: value | path: value" line per record, each a ListItem
	csv, tsv  .csv .tsv                one Table section; rows as "Header: value | Header: value"
	yaml      .yaml .yml               the text; each top-level key starts a section headed by it
	config    .ini .toml .cfg .conf    the text; "[section]" lines are headings
	code      .go .py .js .ts .c ...   CodeBlock sections, cut before top-level definitions

Markdown, reStructuredText, LaTeX, YAML, config files and code keep the file's
text verbatim, so offsets point into what the user wrote; HTML, XML, JSON and
CSV are rewritten into readable text.

HTML is read with the golang.org/x/net/html tokenizer: headings h1-h6 build
the heading path, <pre> is a CodeBlock, <li> a ListItem, and a table becomes
one Table section with a row per line (its Header is the header row, taken
from <thead> or a first row of <th> cells). Entities are decoded. Scripts,
styles, <head>, <nav>, <footer>, <aside>, forms' controls and elements marked
as navigation (role="navigation", class="navbar", ...) or hidden are dropped.

# Encodings

Document.Text is always valid UTF-8. Text files may be UTF-8 (a BOM is
dropped), UTF-16 or UTF-32 with a BOM, UTF-16 without a BOM (detected from
the pattern of NUL bytes), or a legacy encoding: an HTML <meta charset> or
XML encoding declaration is honoured, and otherwise a scoring detector picks
among GB18030 (GBK), Big5, Shift_JIS, EUC-JP, EUC-KR and Windows-1252 by how
plausible each decoding looks (see encoding.go for the heuristic). Bytes that
no candidate maps become U+FFFD; NUL characters are dropped.

# Limits and defaults

Options bounds every parse; zero fields take the defaults:

	MaxFileSize           512 MB   larger input is ErrInvalid
	MaxDecompressedBytes  1 GiB    per archive member or stream (PDF, Office)
	MaxCompressionRatio   200      per compressed stream (PDF, Office)
	MaxZipEntries         10,000   (Office)
	MaxXMLDepth           256      element nesting in XML and Office XML, and
	                               array/object nesting in JSON
	MaxPages              10,000   (PDF)
	Timeout               60 s     per file, on top of ctx

Every extraction loop checks ctx, so a cancelled or timed-out parse returns
promptly with an error wrapping ctx.Err(). HTML needs no depth limit: it is
read as a token stream with counters, never as a tree. CSV fields and JSON
strings longer than 64 KB are cut. XML entities are not expanded beyond the
predefined and HTML ones (no DTD processing).

# Errors

Parse returns a *Error whose Code is CodeUnsupported (ErrUnsupported: a format
Parse does not read, binary data, an unknown extension) or CodeInvalid
(ErrInvalid: too large, nesting too deep, a damaged file); test with
errors.Is. Reading r and context errors are returned wrapped, not as *Error.
Malformed XML and JSON (comments, trailing commas) are read as plain text
rather than rejected.

# Caveats

Parse never panics on user bytes: extractors are fuzzed (FuzzHTML,
FuzzDecodeText, FuzzPDF, ...) and Parse also recovers at its boundary,
reporting a panic as ErrInvalid. Parse is safe for concurrent use; it keeps
no state between calls. The encoding detector needs some text to work with: a
few bytes of a legacy encoding may be misread, and BOM-less UTF-16 of mostly
non-Latin text is not recognised.
*/
package parse
