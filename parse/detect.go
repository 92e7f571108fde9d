package parse

import (
	"bytes"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Type names returned by Detect and set in Document.Type.
const (
	typePDF      = "pdf"
	typeZip      = "zip" // a zip archive that is not recognisably docx, pptx or xlsx from its head
	typeDOC      = "doc" // an OLE2 compound file (legacy Word)
	typeText     = "text"
	typeMarkdown = "markdown"
	typeRST      = "rst"
	typeLaTeX    = "latex"
	typeHTML     = "html"
	typeXML      = "xml"
	typeJSON     = "json"
	typeJSONL    = "jsonl"
	typeCSV      = "csv"
	typeTSV      = "tsv"
	typeYAML     = "yaml"
	typeConfig   = "config"
	typeCode     = "code"
	typeBinary   = "binary" // NUL bytes that are not UTF-16: some binary format we do not know
)

// extTypes maps a lower-case extension to the text format read for it.
var extTypes = map[string]string{
	".txt": typeText, ".log": typeText, ".text": typeText,
	".md": typeMarkdown, ".markdown": typeMarkdown,
	".rst": typeRST,
	".tex": typeLaTeX, ".latex": typeLaTeX,
	".html": typeHTML, ".htm": typeHTML, ".xhtml": typeHTML,
	".xml":   typeXML,
	".json":  typeJSON,
	".jsonl": typeJSONL, ".ndjson": typeJSONL,
	".csv":  typeCSV,
	".tsv":  typeTSV,
	".yaml": typeYAML, ".yml": typeYAML,
	".ini": typeConfig, ".toml": typeConfig, ".cfg": typeConfig, ".conf": typeConfig,

	".c": typeCode, ".h": typeCode, ".cpp": typeCode, ".cc": typeCode, ".cxx": typeCode,
	".hpp": typeCode, ".hh": typeCode, ".cs": typeCode, ".css": typeCode, ".go": typeCode,
	".java": typeCode, ".js": typeCode, ".mjs": typeCode, ".cjs": typeCode, ".ts": typeCode,
	".tsx": typeCode, ".jsx": typeCode, ".php": typeCode, ".py": typeCode, ".rb": typeCode,
	".sh": typeCode, ".bash": typeCode, ".zsh": typeCode, ".rs": typeCode, ".swift": typeCode,
	".kt": typeCode, ".kts": typeCode, ".scala": typeCode, ".sql": typeCode, ".lua": typeCode,
	".pl": typeCode, ".pm": typeCode, ".r": typeCode, ".m": typeCode,
}

// officeExts are read by content (parsePDF, parseZip, parseOLE); listed so
// that Supported accepts them.
var officeExts = map[string]string{
	".pdf": typePDF, ".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".doc": typeDOC,
}

// Supported reports whether Parse reads files named name, judging by the
// extension alone (case-insensitive). Names without an extension are
// supported: Parse sniffs their content. Parse itself decides by content
// first, so a PDF named .txt still parses as a PDF.
func Supported(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	if ext == "" {
		return true
	}
	_, text := extTypes[ext]
	_, office := officeExts[ext]
	return text || office
}

// magic is a binary signature at a fixed offset.
type magic struct {
	off  int
	sig  string
	typ  string
	nul  bool // also require a NUL in the head: the signature alone is plausible text
	next string
}

// binaryMagic lists formats Parse recognises only to reject them with a
// clear message. OOXML (zip), PDF and OLE2 are handled before this list.
var binaryMagic = []magic{
	{sig: "\x89PNG\r\n\x1a\n", typ: "png"},
	{sig: "\xff\xd8\xff", typ: "jpeg"},
	{sig: "GIF87a", typ: "gif"},
	{sig: "GIF89a", typ: "gif"},
	{sig: "\x1f\x8b", typ: "gzip"},
	{sig: "7z\xbc\xaf\x27\x1c", typ: "7z"},
	{sig: "\xfd7zXZ\x00", typ: "xz"},
	{sig: "BZh", typ: "bzip2", nul: true},
	{sig: "\x28\xb5\x2f\xfd", typ: "zstd"},
	{sig: "Rar!\x1a\x07", typ: "rar"},
	{sig: "\x7fELF", typ: "elf"},
	{sig: "MZ", typ: "exe", nul: true},
	{sig: "\xfe\xed\xfa\xce", typ: "mach-o"},
	{sig: "\xfe\xed\xfa\xcf", typ: "mach-o"},
	{sig: "\xce\xfa\xed\xfe", typ: "mach-o"},
	{sig: "\xcf\xfa\xed\xfe", typ: "mach-o"},
	{sig: "\xca\xfe\xba\xbe", typ: "mach-o"},
	{sig: "\x00asm", typ: "wasm"},
	{sig: "BM", typ: "bmp", nul: true},
	{sig: "II*\x00", typ: "tiff"},
	{sig: "MM\x00*", typ: "tiff"},
	{sig: "RIFF", typ: "riff", nul: true},
	{sig: "ID3", typ: "mp3"},
	{sig: "OggS", typ: "ogg"},
	{sig: "fLaC", typ: "flac"},
	{off: 4, sig: "ftyp", typ: "mp4"},
	{sig: "\x1a\x45\xdf\xa3", typ: "matroska"},
	{sig: "SQLite format 3\x00", typ: "sqlite"},
	{sig: "8BPS", typ: "psd"},
	{sig: "wOFF", typ: "woff"},
	{sig: "wOF2", typ: "woff2"},
	{sig: "\x00\x00\x01\x00", typ: "ico"},
	{sig: "{\\rtf", typ: "rtf"},
	{sig: "%!PS", typ: "postscript"},
	{off: 257, sig: "ustar", typ: "tar"},
	{sig: "\x00\x01\x00\x00\x00", typ: "truetype"},
	{sig: "OTTO", typ: "opentype", nul: true},
}

// pdfWindow is how far into a file Detect looks for %PDF-: readers accept
// junk before the header, and so do we.
const pdfWindow = 1024

// sniffLen is how much of the head Detect inspects for NULs and text cues.
const sniffLen = 8192

// Detect returns the type name of a file named name whose first bytes are
// head (8 KB is plenty; fewer works). Content decides first: "pdf" for a
// %PDF- header at the start of head, or within its first 1024 bytes and
// followed by "obj" later in head (see isPDF), "docx", "pptx", "xlsx" or
// "zip" for a zip archive, "doc" for an OLE2 compound file, a format name
// such as "png" or "elf" for known binary formats, and "binary" for other
// data with NUL bytes that is not UTF-16. Otherwise the extension names the
// text format ("markdown", "html", "csv", "code", ...); a name without an
// extension is sniffed ("json", "html", "xml", "markdown", "code" for a
// shebang, else "text"). A PDF or Office extension without the matching
// signature still names that format (its reader reports the damage), unless
// the content is plain text, which is sniffed like a file without an
// extension. So is text with an extension Parse does not know (x.service,
// README.Debian); Detect returns "" for such a name whose content is not
// text.
func Detect(name string, head []byte) string {
	ext := strings.ToLower(filepath.Ext(name))
	if isPDF(head) {
		return typePDF
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")) {
		return zipType(ext, head)
	}
	if bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) {
		return typeDOC
	}
	sniff := head[:min(len(head), sniffLen)]
	hasNUL := bytes.IndexByte(sniff, 0) >= 0
	for _, m := range binaryMagic {
		if len(head) >= m.off+len(m.sig) && string(head[m.off:m.off+len(m.sig)]) == m.sig && (!m.nul || hasNUL) {
			return m.typ
		}
	}
	if hasNUL && bomEncoding(sniff) == nil && !isUTF16(sniff) {
		return typeBinary
	}
	if t, ok := extTypes[ext]; ok {
		return t
	}
	if t, ok := officeExts[ext]; ok {
		// The name promises a format the content does not show. Word's
		// "save as web page" and RTF files are often named .doc: read text
		// as text. Anything else goes to the named reader, which reports
		// the damage precisely.
		if t == typeDOC && !hasNUL {
			return sniffText(sniff)
		}
		// Plain text under a PDF or Office name (notes.pdf that is not a
		// PDF at all) is read as text; a damaged file of that format, which
		// has binary streams or PDF objects, goes to its reader.
		if !hasNUL && !(t == typePDF && pdfBody(sniff)) && looksText(sniff) {
			return sniffText(sniff)
		}
		return t
	}
	if ext != "" {
		// An extension Parse does not know (README.Debian, x.service,
		// go.mod, boot.s): text by its content is read as text, unless the
		// name is a binary format's.
		if !hasNUL && !binaryExts[ext] && looksText(sniff) {
			return sniffText(sniff)
		}
		return ""
	}
	return sniffText(sniff)
}

// binaryExts are extensions of binary formats: content that happens to
// look like text under such a name is still not read.
var binaryExts = map[string]bool{
	".exe": true, ".dll": true, ".so": true, ".dylib": true, ".bin": true, ".o": true, ".a": true,
	".lib": true, ".class": true, ".jar": true, ".war": true, ".pyc": true, ".wasm": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".ico": true,
	".webp": true, ".tif": true, ".tiff": true, ".heic": true, ".psd": true, ".mp3": true,
	".mp4": true, ".m4a": true, ".wav": true, ".flac": true, ".ogg": true, ".avi": true, ".mov": true,
	".mkv": true, ".webm": true, ".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true,
	".zst": true, ".7z": true, ".rar": true, ".tar": true, ".iso": true, ".img": true, ".dmg": true,
	".deb": true, ".rpm": true, ".woff": true, ".woff2": true, ".ttf": true, ".otf": true,
	".eot": true, ".sqlite": true, ".db": true, ".xls": true, ".ppt": true, ".odt": true,
	".ods": true, ".odp": true, ".key": true, ".numbers": true, ".pages": true,
}

// looksText reports whether head decodes (see decodeHead) to text: at least
// one character, and fewer than 1 in 50 control characters (other than tab,
// newline, carriage return, form feed, vertical tab and escape) or
// replacement characters. Random bytes decoded as a legacy code page score
// about 1 in 8.
func looksText(head []byte) bool {
	t, _ := decodeHead(head)
	n, bad := 0, 0
	for _, r := range t {
		n++
		switch {
		case r == '\t', r == '\n', r == '\r', r == '\f', r == '\v', r == 0x1b:
		case r < 0x20, r == 0x7f, r == utf8.RuneError:
			bad++
		}
	}
	return n > 0 && bad*50 < n
}

// pdfBody reports whether head holds PDF object syntax.
func pdfBody(head []byte) bool {
	return bytes.Contains(head, []byte("endobj")) || bytes.Contains(head, []byte(" obj")) || bytes.Contains(head, []byte("xref"))
}

// isPDF reports a %PDF- header at the start of head, or later within the
// first pdfWindow (1024) bytes when "obj" follows it anywhere in the rest of
// head (Parse passes the first sniffLen, 8 KB, of the file): text that
// merely mentions "%PDF-1.7" near its top stays text.
func isPDF(head []byte) bool {
	i := bytes.Index(head[:min(len(head), pdfWindow)], []byte("%PDF-"))
	switch {
	case i < 0:
		return false
	case i == 0:
		return true
	}
	return bytes.Contains(head[i:], []byte("obj"))
}

// zipType names a zip archive from its extension or the first entry names.
func zipType(ext string, head []byte) string {
	switch ext {
	case ".docx", ".pptx", ".xlsx":
		return ext[1:]
	}
	switch {
	case bytes.Contains(head, []byte("word/")):
		return "docx"
	case bytes.Contains(head, []byte("ppt/")):
		return "pptx"
	case bytes.Contains(head, []byte("xl/")):
		return "xlsx"
	}
	return typeZip
}

// sniffText guesses the format of text without an extension.
func sniffText(head []byte) string {
	if t, _ := decodeHead(head); t != "" {
		head = []byte(t)
	}
	s := strings.TrimLeft(string(head), " \t\r\n\ufeff")
	lower := strings.ToLower(s[:min(len(s), 512)])
	switch {
	case strings.HasPrefix(s, "#!"):
		return typeCode
	case strings.HasPrefix(lower, "<!doctype html"), strings.HasPrefix(lower, "<html"),
		strings.HasPrefix(lower, "<head"), strings.HasPrefix(lower, "<body"):
		return typeHTML
	case strings.HasPrefix(lower, "<?xml"):
		if strings.Contains(lower, "<html") {
			return typeHTML
		}
		return typeXML
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "[") && looksJSONArray(s):
		if strings.HasPrefix(s, "{") && strings.Count(s[:min(len(s), 4096)], "\n{") > 0 {
			return typeJSONL
		}
		return typeJSON
	case strings.HasPrefix(s, "# "), strings.HasPrefix(s, "## "):
		return typeMarkdown
	}
	return typeText
}

// looksJSONArray tells "[1, 2]" and "[{...}]" from an INI "[section]".
func looksJSONArray(s string) bool {
	t := strings.TrimLeft(s[1:], " \t\r\n")
	if t == "" {
		return false
	}
	switch c := t[0]; {
	case c == '{', c == '[', c == '"', c == ']', c == '-', c >= '0' && c <= '9':
		return true
	}
	return strings.HasPrefix(t, "true") || strings.HasPrefix(t, "false") || strings.HasPrefix(t, "null")
}

func isUTF16(b []byte) bool {
	e, _ := utf16Guess(b)
	return e != nil
}
