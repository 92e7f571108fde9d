package parse

import (
	"bufio"
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"context"
	"encoding/ascii85"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/pdf"
	"github.com/quarrylabs/quarry/internal/shareddata"

	"github.com/quarrylabs/quarry/internal/cputime"
)

// pdfObj is one indirect object of a generated PDF: a body, and for a
// stream the raw (already encoded) data.
type pdfObj struct {
	body   string
	stream []byte
}

// buildPDF writes a PDF with the given objects (numbered from 1), a correct
// cross-reference table and a trailer whose Root is object 1.
func buildPDF(header string, objs []pdfObj) []byte {
	var b bytes.Buffer
	b.WriteString(header + "\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", i+1)
		if o.stream != nil {
			fmt.Fprintf(&b, "%s\nstream\n", strings.Replace(o.body, "LEN", fmt.Sprint(len(o.stream)), 1))
			b.Write(o.stream)
			b.WriteString("\nendstream")
		} else {
			b.WriteString(o.body)
		}
		b.WriteString("\nendobj\n")
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

const helvetica = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"

// textPDF returns a PDF with one page per content stream, all using font F1
// (object 3); filter, when not empty, names the filter the streams were
// encoded with (the caller encodes them).
func textPDF(header string, filter string, contents ...[]byte) []byte {
	objs := []pdfObj{
		{body: "<< /Type /Catalog /Pages 2 0 R >>"},
		{}, // page tree, below
		{body: helvetica},
	}
	var kids []string
	for _, c := range contents {
		n := len(objs) + 1
		kids = append(kids, fmt.Sprintf("%d 0 R", n))
		objs = append(objs,
			pdfObj{body: fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", n+1)},
			pdfObj{body: "<< /Length LEN" + filter + " >>", stream: c})
	}
	objs[1].body = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(kids))
	return buildPDF(header, objs)
}

func content(lines ...string) []byte {
	var b bytes.Buffer
	b.WriteString("BT /F1 12 Tf 14 TL 72 720 Td\n")
	for _, l := range lines {
		fmt.Fprintf(&b, "(%s) Tj T*\n", l)
	}
	b.WriteString("ET\n")
	return b.Bytes()
}

func deflate(p []byte) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestSpeed)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

// flateZeros returns a zlib stream of n MiB of zeros, built without
// compressing them: after the first MiB every flushed MiB encodes to the
// same bytes, so they are repeated and the Adler-32 is computed directly.
func flateZeros(n int) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	z := make([]byte, 1<<20)
	w.Write(z)
	w.Flush()
	n1 := b.Len()
	w.Write(z)
	w.Flush()
	n2 := b.Len()
	w.Close()
	first := append([]byte(nil), b.Bytes()[:n1]...)
	chunk := append([]byte(nil), b.Bytes()[n1:n2]...)
	tail := append([]byte(nil), b.Bytes()[n2:b.Len()-4]...)
	out := bytes.NewBuffer(first)
	for i := 1; i < n; i++ {
		out.Write(chunk)
	}
	out.Write(tail)
	total := uint64(n) << 20
	adler := uint32(total%65521)<<16 | 1
	binary.Write(out, binary.BigEndian, adler)
	return out.Bytes()
}

// cpuLimit is the time budget for one file: 10 s of CPU, stretched under
// the race detector. Tests measure CPU time, not wall time, so that a loaded
// machine does not make them flaky; the wall-clock deadline given to
// parsePDF is six times longer for the same reason.
const cpuLimit = 10 * time.Second * raceScale

// parseBounded parses data with opts and reports the CPU time used and the
// bytes allocated (an upper bound on peak memory).
func parseBounded(t testing.TB, name string, data []byte, opts *Options) (*Document, error, time.Duration, uint64) {
	t.Helper()
	o := opts.withDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 6*cpuLimit)
	defer cancel()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	start, _ := cputime.Process()
	doc, err := parsePDF(ctx, name, data, &o)
	end, _ := cputime.Process()
	el := end - start
	runtime.ReadMemStats(&ms)
	return doc, err, el, ms.TotalAlloc - before
}

// checkDoc checks the Document invariants.
func checkDoc(t testing.TB, name string, doc *Document, maxPages int) {
	t.Helper()
	if doc.Type != "pdf" {
		t.Errorf("%s: Type = %q, want pdf", name, doc.Type)
	}
	if !utf8.ValidString(doc.Text) {
		t.Errorf("%s: Text is not valid UTF-8", name)
	}
	if doc.Pages < 1 || doc.Pages > maxPages {
		t.Errorf("%s: Pages = %d, want 1..%d", name, doc.Pages, maxPages)
	}
	end, page := 0, 0
	for i, s := range doc.Sections {
		if s.Start < end || s.End < s.Start || s.End > len(doc.Text) {
			t.Fatalf("%s: section %d [%d,%d) out of order or outside text (len %d)", name, i, s.Start, s.End, len(doc.Text))
		}
		if s.Page < 1 || s.Page > doc.Pages || s.Page < page {
			t.Errorf("%s: section %d Page = %d, want %d..%d", name, i, s.Page, max(page, 1), doc.Pages)
		}
		end, page = s.End, s.Page
	}
}

func hasHeading(doc *Document, h string) bool {
	for _, s := range doc.Sections {
		if s.Kind == Heading && len(s.Headings) > 0 && s.Headings[len(s.Headings)-1] == h {
			return true
		}
	}
	return false
}

func typedErr(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && (errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported))
}

// needsCIDTables lists shared files whose only text is in CID fonts without
// a ToUnicode map: reading them needs the Adobe CID-to-Unicode tables, which
// the extractor does not carry.
var needsCIDTables = map[string]bool{"pdfjs_vertical.pdf": true, "pdfjs_issue16538.pdf": true}

// collapse joins runs of white space into one space.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func readTSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var head []string
	var rows []map[string]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if head == nil {
			head = cols
			continue
		}
		m := map[string]string{}
		for i, h := range head {
			if i < len(cols) {
				m[h] = cols[i]
			}
		}
		rows = append(rows, m)
	}
	return rows
}

// TestPDFSharedDocs parses every PDF of the shared document set: each must
// parse or fail with a typed *Error within 10 s and 1 GiB, files with text
// must give it, files without must fail, and the phrases of EXPECTED.tsv
// must be found.
func TestPDFSharedDocs(t *testing.T) {
	dir := shareddata.Path(t, "datasets/docs")
	manifest := map[string]string{}
	for _, r := range readTSV(t, filepath.Join(dir, "MANIFEST.tsv")) {
		manifest[r["filename"]] = r["text_status"]
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if len(files) == 0 {
		t.Skip("no PDFs in the shared documents")
	}
	texts := map[string]string{}
	skipped := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if raceScale > 1 && len(data) > 256<<10 {
				// The race detector makes big files take minutes and has
				// nothing to find in single-goroutine code; run without -race.
				skipped[name] = true
				t.Skip("large file skipped under the race detector")
			}
			doc, err, el, alloc := parseBounded(t, name, data, nil)
			if el > cpuLimit || alloc > 1<<30 {
				t.Errorf("parsePDF(%s) took %v CPU and allocated %d MB, want <= %v CPU and 1 GiB", name, el, alloc>>20, cpuLimit)
			}
			status := manifest[name]
			if err != nil {
				if !typedErr(err) {
					t.Fatalf("parsePDF(%s) error %v is not a typed *Error", name, err)
				}
				if strings.HasPrefix(status, "has text") && !strings.Contains(status, "garbled") && !needsCIDTables[name] {
					t.Errorf("parsePDF(%s) = %v, want text (manifest: %s)", name, err, status)
				}
				if strings.HasPrefix(status, "no text") && !strings.Contains(err.Error(), "no text layer") {
					t.Errorf("parsePDF(%s) = %v, want a no-text-layer error", name, err)
				}
				t.Logf("%s: %v (%v)", name, err, el)
				return
			}
			checkDoc(t, name, doc, 10000)
			if strings.HasPrefix(status, "no text") || strings.HasPrefix(status, "encrypted: user password") {
				t.Errorf("parsePDF(%s) succeeded, want an error (manifest: %s)", name, status)
			}
			texts[name] = collapse(doc.Text)
			if name == "pdfjs_tracemonkey.pdf" {
				if !hasHeading(doc, "1. Introduction") {
					t.Errorf("parsePDF(%s): no Heading section \"1. Introduction\"", name)
				}
				// The paper sets "finish" with an fi ligature.
				if strings.ContainsRune(doc.Text, '\uFB01') || !strings.Contains(doc.Text, "finish at") {
					t.Errorf("parsePDF(%s): ligatures not spelled out", name)
				}
			}
			t.Logf("%s: %d pages, %d bytes of text (%v, %d MB allocated)", name, doc.Pages, len(doc.Text), el, alloc>>20)
		})
	}

	found, total := 0, 0
	for _, r := range readTSV(t, filepath.Join(dir, "EXPECTED.tsv")) {
		name := r["filename"]
		if !strings.HasSuffix(name, ".pdf") {
			continue
		}
		text, ok := texts[name]
		if skipped[name] {
			continue
		}
		if req := r["requires"]; req != "" {
			pw, isPW := strings.CutPrefix(req, "password=")
			if !isPW {
				t.Logf("skip %s: requires %s", name, req)
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			doc, err, _, _ := parseBounded(t, name, data, &Options{Password: pw})
			if err != nil {
				t.Errorf("parsePDF(%s, password %q) = %v", name, pw, err)
				continue
			}
			text, ok = collapse(doc.Text), true
			if _, err, _, _ := parseBounded(t, name, data, &Options{Password: "wrong"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "encrypted") {
				t.Errorf("parsePDF(%s, wrong password) = %v, want an invalid_file error saying it is encrypted", name, err)
			}
		}
		total++
		phrase := collapse(r["phrase"])
		if ok && strings.Contains(text, phrase) {
			found++
			continue
		}
		if needsCIDTables[name] {
			t.Logf("%s: phrase %q not found (known limitation: CID font without ToUnicode)", name, phrase)
			continue
		}
		t.Errorf("%s: phrase %q not found", name, phrase)
	}
	t.Logf("EXPECTED.tsv: %d of %d PDF phrases found", found, total)
}

func TestPDFText(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string // substrings of the collapsed text
		page int      // expected page count
	}{
		{"plain", textPDF("%PDF-1.4", "", content("Hello world", "second line")), []string{"Hello world second line"}, 1},
		{"pdf-2.0 header", textPDF("%PDF-2.0", "", content("Version two")), []string{"Version two"}, 1},
		{"hyphen joined", textPDF("%PDF-1.4", "", content("an exam-", "ple of it", "Well-", "Known")), []string{"an example of it", "Well- Known"}, 1},
		{"two pages", textPDF("%PDF-1.7", "", content("first page"), content("second page")), []string{"first page", "second page"}, 2},
		{"flate", textPDF("%PDF-1.5", " /Filter /FlateDecode", deflate(content("Deflated text"))), []string{"Deflated text"}, 1},
		{"asciihex", textPDF("%PDF-1.5", " /Filter /ASCIIHexDecode", []byte(fmt.Sprintf("%X>", content("Hex text")))), []string{"Hex text"}, 1},
		{"runlength", textPDF("%PDF-1.5", " /Filter /RunLengthDecode", runLength(content("Run length text"))), []string{"Run length text"}, 1},
		{"lzw", textPDF("%PDF-1.5", " /Filter /LZWDecode /DecodeParms << /EarlyChange 0 >>", lzwEncode(content("LZW text LZW text LZW text"))), []string{"LZW text LZW text"}, 1},
		{"ascii85+flate", textPDF("%PDF-1.5", " /Filter [/ASCII85Decode /FlateDecode]", a85(deflate(content("Chained filters")))), []string{"Chained filters"}, 1},
		{"junk before header", append([]byte("junk\r\n"), textPDF("%PDF-1.4", "", content("After junk"))...), []string{"After junk"}, 1},
		{"no xref (repaired)", noXref(textPDF("%PDF-1.4", "", content("Repaired text"))), []string{"Repaired text"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err, _, _ := parseBounded(t, tt.name, tt.data, nil)
			if err != nil {
				t.Fatalf("parsePDF(%s) = %v", tt.name, err)
			}
			checkDoc(t, tt.name, doc, 10)
			if doc.Pages != tt.page {
				t.Errorf("parsePDF(%s).Pages = %d, want %d", tt.name, doc.Pages, tt.page)
			}
			got := collapse(doc.Text)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("parsePDF(%s).Text = %q, want it to contain %q", tt.name, got, w)
				}
			}
			if tt.page > 1 && doc.Sections[len(doc.Sections)-1].Page != tt.page {
				t.Errorf("parsePDF(%s): last section on page %d, want %d", tt.name, doc.Sections[len(doc.Sections)-1].Page, tt.page)
			}
		})
	}
}

// TestPDFNegativeFontSize checks that a negative font size, which mirrors
// the glyphs and their advance, keeps the reading direction: the text runs
// left to right and the TJ gap still reads as a space.
func TestPDFNegativeFontSize(t *testing.T) {
	data := textPDF("%PDF-1.4", "", []byte("BT /F1 -12 Tf 1 0 0 -1 300 720 Tm [(Hello) -400 (world)] TJ ET"))
	doc, err, _, _ := parseBounded(t, "negative font size", data, nil)
	if err != nil {
		t.Fatalf("parsePDF = %v", err)
	}
	if got := collapse(doc.Text); got != "Hello world" {
		t.Errorf("parsePDF.Text = %q, want %q", got, "Hello world")
	}
}

func TestCleanLine(t *testing.T) {
	for in, want := range map[string]string{
		"  a\tb\u00a0 c ":             "a b c",
		"\ufb01nish \ufb00ect \ufb04": "finish ffect ffl",
		"x\ufffdy\ufeffz":             "xyz",
		"":                            "",
	} {
		if got := cleanLine(in); got != want {
			t.Errorf("cleanLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLZWEarlyChange(t *testing.T) {
	// The example of ISO 32000-1 §7.4.4.2.
	data := []byte{0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01}
	got, err := pdf.DecodeLZW(data, true)
	if err != nil || string(got) != "-----A---B" {
		t.Errorf("DecodeLZW(spec example) = %q, %v, want %q", got, err, "-----A---B")
	}
}

func runLength(p []byte) []byte {
	var b bytes.Buffer
	for len(p) > 0 {
		n := min(len(p), 128)
		b.WriteByte(byte(n - 1))
		b.Write(p[:n])
		p = p[n:]
	}
	b.WriteByte(128)
	return b.Bytes()
}

func lzwEncode(p []byte) []byte {
	var b bytes.Buffer
	w := lzw.NewWriter(&b, lzw.MSB, 8)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func a85(p []byte) []byte {
	var b bytes.Buffer
	enc := ascii85.NewEncoder(&b)
	enc.Write(p)
	enc.Close()
	b.WriteString("~>")
	return b.Bytes()
}

// noXref cuts a PDF's cross-reference table, trailer and startxref.
func noXref(p []byte) []byte {
	return p[:bytes.LastIndex(p, []byte("xref\n"))]
}

func TestPDFErrors(t *testing.T) {
	valid := textPDF("%PDF-1.4", "", content("Some text here"), content("more"), content("and more"))
	tests := []struct {
		name   string
		data   []byte
		opts   *Options
		substr string // in the error message
	}{
		{"garbage after header", append([]byte("%PDF-"), bytes.Repeat([]byte("\x00garbage\xff"), 1000)...), nil, ""},
		{"header only", []byte("%PDF-1.7\n"), nil, ""},
		{"empty page", textPDF("%PDF-1.4", "", []byte("0 0 m 10 10 l S")), nil, "no text layer"},
		{"too many pages", valid, &Options{MaxPages: 2}, "more than 2 pages"},
		{"unknown filter", textPDF("%PDF-1.4", " /Filter /JBIG2Decode", []byte("xx")), nil, "no text layer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err, _, _ := parseBounded(t, tt.name, tt.data, tt.opts)
			if !errors.Is(err, ErrInvalid) || !typedErr(err) {
				t.Fatalf("parsePDF(%s) = %v, want an invalid_file *Error", tt.name, err)
			}
			if !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("parsePDF(%s) = %v, want it to mention %q", tt.name, err, tt.substr)
			}
		})
	}
}

// TestPDFHostile feeds files built to exhaust time or memory: each must
// finish within 10 s (well under, in practice) and allocate less than 1 GiB.
func TestPDFHostile(t *testing.T) {
	one := content("The only real page")
	count := bytes.Replace(textPDF("%PDF-1.4", "", one), []byte("/Count 1"), []byte("/Count 1000000"), 1)

	cycle := buildPDF("%PDF-1.4", []pdfObj{
		{body: "<< /Type /Catalog /Pages 2 0 R >>"},
		{body: "<< /Type /Pages /Kids [3 0 R 2 0 R 6 0 R] /Count 3 >>"},
		{body: "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"},
		{body: "<< /Length LEN >>", stream: content("Cycle page")},
		{body: helvetica},
		{body: "<< /Type /Pages /Kids [6 0 R 2 0 R] /Parent 6 0 R >>"},
	})

	bomb := textPDF("%PDF-1.4", " /Filter /FlateDecode", flateZeros(1024)) // 1 GiB of zeros in ~1 MB
	double := textPDF("%PDF-1.4", " /Filter [/FlateDecode /FlateDecode]", deflate(flateZeros(1024)))

	selfLength := buildPDF("%PDF-1.5", []pdfObj{
		{body: "<< /Type /Catalog /Pages 2 0 R >>"},
		{body: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"},
		{body: "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>"},
		{body: "<< /Length 4 0 R >>", stream: content("self")},
	})

	deep := []byte("%PDF-1.4\n1 0 obj\n" + strings.Repeat("[", 1<<20) + "\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	strLen := 20 << 20 // over the 16 MiB string limit
	if raceScale > 1 {
		strLen = 1 << 20 // compressing 20 MB under the race detector is slow
	}
	bigString := textPDF("%PDF-1.4", " /Filter /FlateDecode", deflate(append([]byte("BT ("), bytes.Repeat([]byte("A"), strLen)...)))
	manyOps := textPDF("%PDF-1.4", " /Filter /FlateDecode", deflate(bytes.Repeat([]byte("1 "), 1<<20)))

	tests := []struct {
		name string
		data []byte
		opts *Options
		ok   bool // must succeed (else: must fail with a typed error, or succeed)
	}{
		{"count 1000000, one real page", count, nil, true},
		{"page tree cycle", cycle, nil, true},
		{"flate bomb 1 GiB", bomb, nil, false},
		{"double flate bomb", double, nil, false},
		{"bomb under a small total limit", bomb, &Options{MaxCompressionRatio: 100000, MaxDecompressedBytes: 32 << 20}, false},
		{"stream length in itself", selfLength, nil, false},
		{"deeply nested arrays", deep, nil, false},
		{"huge string", bigString, &Options{MaxCompressionRatio: 100000}, false},
		{"1M operands", manyOps, &Options{MaxCompressionRatio: 100000}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if raceScale > 1 && len(tt.data) > 64<<10 {
				// Decoding hundreds of megabytes under the race detector
				// takes minutes, and this code has no goroutines for it to
				// check: run without -race.
				t.Skip("large input skipped under the race detector")
			}
			doc, err, el, alloc := parseBounded(t, tt.name, tt.data, tt.opts)
			t.Logf("%s: %v, %d MB allocated, err=%v", tt.name, el, alloc>>20, err)
			if el > cpuLimit || alloc > 1<<30 {
				t.Errorf("parsePDF(%s) took %v CPU and allocated %d MB, want <= %v CPU and 1 GiB", tt.name, el, alloc>>20, cpuLimit)
			}
			if err != nil && !typedErr(err) {
				t.Errorf("parsePDF(%s) error %v is not a typed *Error", tt.name, err)
			}
			if bytes.Equal(tt.data, bomb) && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "decompression limit")) {
				t.Errorf("parsePDF(%s) = %v, want an invalid_file decompression-limit error", tt.name, err)
			}
			if tt.ok && err != nil {
				t.Fatalf("parsePDF(%s) = %v, want success", tt.name, err)
			}
			if err == nil {
				checkDoc(t, tt.name, doc, 10000)
			}
			// PDFium counts the page reached again through the cycle once
			// per /Kids entry (3 here); a /Count of 1,000,000 must not count.
			if tt.ok && (doc.Pages < 1 || doc.Pages > 3) {
				t.Errorf("parsePDF(%s).Pages = %d, want 1..3 (the real page tree)", tt.name, doc.Pages)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		for _, src := range [][]byte{textPDF("%PDF-1.4", " /Filter /FlateDecode", deflate(content("Truncated text"))), cycle} {
			for n := 0; n < len(src); n += max(1, len(src)/97) {
				doc, err, el, _ := parseBounded(t, "truncated", src[:n], nil)
				if el > cpuLimit/5 {
					t.Errorf("parsePDF(truncated at %d) took %v CPU", n, el)
				}
				if err != nil && !typedErr(err) {
					t.Errorf("parsePDF(truncated at %d) error %v is not a typed *Error", n, err)
				}
				if err == nil {
					checkDoc(t, "truncated", doc, 10000)
				}
			}
		}
	})
	t.Run("deadline", func(t *testing.T) {
		o := (&Options{}).withDefaults()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := parsePDF(ctx, "cancelled", valid3(), &o)
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, context.Canceled) {
			t.Errorf("parsePDF(cancelled ctx) = %v, want invalid_file wrapping context.Canceled", err)
		}
	})
}

func valid3() []byte {
	return textPDF("%PDF-1.4", " /Filter /FlateDecode", deflate(content("a")), deflate(content("b")), deflate(content("c")))
}

// layoutPage returns the text of a page's glyphs (see layoutLines).
func layoutPage(texts []pdf.Text) string {
	var b strings.Builder
	for _, l := range layoutLines(texts) {
		b.WriteString(l.brk)
		b.WriteString(l.text)
	}
	return b.String()
}

func TestLayoutHyphenation(t *testing.T) {
	glyphs := func(y float64, s string) []pdf.Text {
		var out []pdf.Text
		x := 72.0
		for _, r := range s {
			out = append(out, pdf.Text{X: x, Y: y, W: 6, FontSize: 12, S: string(r), DX: 1})
			x += 6
		}
		return out
	}
	tests := []struct {
		lines []string
		want  string
	}{
		{[]string{"an exam-", "ple here"}, "an example here"},
		{[]string{"Well-", "Known"}, "Well-\nKnown"},
		{[]string{"in\u00ad", "cluding"}, "including"},
		{[]string{"1990-", "ties"}, "1990-\nties"},
		{[]string{"a  b", "c"}, "a b\nc"},
	}
	for _, tt := range tests {
		var g []pdf.Text
		for i, l := range tt.lines {
			g = append(g, glyphs(700-14*float64(i), l)...)
		}
		if got := layoutPage(g); got != tt.want {
			t.Errorf("layoutPage(%q) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}

// BenchmarkExtractPDF parses the shared PDFs; MB/s is over their bytes.
func BenchmarkExtractPDF(b *testing.B) {
	dir := shareddata.Path(b, "datasets/docs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	var docs [][]byte
	var total int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, data)
		total += int64(len(data))
	}
	if len(docs) == 0 {
		b.Skip("no shared PDFs")
	}
	o := (&Options{}).withDefaults()
	b.SetBytes(total)
	b.ResetTimer()
	pages := 0
	for i := 0; i < b.N; i++ {
		for j, d := range docs {
			doc, err := parsePDF(context.Background(), files[j], d, &o)
			if err == nil {
				pages += doc.Pages
			}
		}
	}
	b.ReportMetric(float64(pages)/b.Elapsed().Seconds(), "pages/s")
}

func TestEmitPDFHeadings(t *testing.T) {
	pages := [][]pdfLine{
		{{text: "A Title", size: 20}, {text: "Running head", size: 14, brk: "\n\n"}, {text: "1 Intro", size: 14, brk: "\n\n"}, {text: "body text of the document", size: 10, brk: "\n\n"}},
		{{text: "Running head", size: 14}, {text: "more body of the document", size: 10, brk: "\n"}, {text: "1.1 Detail", size: 12, brk: "\n\n"}, {text: "detail body of the document", size: 10, brk: "\n"}},
		{{text: "Running head", size: 14}, {text: "2 Next", size: 14, brk: "\n\n"}, {text: "last body of the document", size: 10, brk: "\n"}},
	}
	var b builder
	emitPDF(&b, pages, nil)
	doc := b.document("pdf", 3)
	checkDoc(t, "headings", doc, 3)
	type sec struct {
		kind Kind
		page int
		path string
		text string
	}
	var got []sec
	for _, s := range doc.Sections {
		got = append(got, sec{s.Kind, s.Page, strings.Join(s.Headings, " > "), strings.TrimSpace(doc.Text[s.Start:s.End])})
	}
	want := []sec{
		{Heading, 1, "A Title", "A Title"},
		{Paragraph, 1, "A Title", "Running head"},
		{Heading, 1, "A Title > 1 Intro", "1 Intro"},
		{Paragraph, 1, "A Title > 1 Intro", "body text of the document"},
		{Paragraph, 2, "A Title > 1 Intro", "Running head\nmore body of the document"},
		{Heading, 2, "A Title > 1 Intro > 1.1 Detail", "1.1 Detail"},
		{Paragraph, 2, "A Title > 1 Intro > 1.1 Detail", "detail body of the document"},
		{Paragraph, 3, "A Title > 1 Intro > 1.1 Detail", "Running head"},
		{Heading, 3, "A Title > 2 Next", "2 Next"},
		{Paragraph, 3, "A Title > 2 Next", "last body of the document"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("emitPDF sections =\n%v\nwant\n%v", got, want)
	}
}
