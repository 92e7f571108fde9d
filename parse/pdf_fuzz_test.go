package parse

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzPDF checks that parsePDF never panics, returns either a typed *Error
// or a Document whose invariants hold, and stays within small limits.
func FuzzPDF(f *testing.F) {
	f.Add(textPDF("%PDF-1.4", "", content("Hello world", "exam-", "ple")))
	f.Add(textPDF("%PDF-2.0", "", content("two"), content("pages")))
	f.Add(textPDF("%PDF-1.5", " /Filter /FlateDecode", deflate(content("Deflated"))))
	f.Add(textPDF("%PDF-1.5", " /Filter /ASCIIHexDecode", []byte("42540A2F46312031322054660A2848692920546A0A4554>")))
	f.Add(textPDF("%PDF-1.5", " /Filter /RunLengthDecode", runLength(content("Run length"))))
	f.Add(textPDF("%PDF-1.5", " /Filter /LZWDecode /DecodeParms << /EarlyChange 0 >>", lzwEncode(content("LZW"))))
	f.Add(textPDF("%PDF-1.5", " /Filter [/ASCII85Decode /FlateDecode]", a85(deflate(content("Chained")))))
	f.Add(noXref(textPDF("%PDF-1.4", "", content("no xref"))))
	f.Add(buildPDF("%PDF-1.4", []pdfObj{
		{body: "<< /Type /Catalog /Pages 2 0 R >>"},
		{body: "<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 1000000 >>"},
		{body: "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /X 6 0 R >> >> /Contents 4 0 R >>"},
		{body: "<< /Length LEN >>", stream: []byte("q /X Do Q BT /F1 9 Tf 1 0 0 1 50 50 Tm [(Kern) -250 (ed)] TJ ET")},
		{body: "<< /Type /Font /Subtype /Type0 /BaseFont /X /Encoding /Identity-H /DescendantFonts [7 0 R] /ToUnicode 8 0 R >>"},
		{body: "<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] /Length LEN >>", stream: []byte("BT /F1 12 Tf <00410042> Tj ET /X Do")},
		{body: "<< /Type /Font /Subtype /CIDFontType2 /W [65 [500 600]] /DW 1000 >>"},
		{body: "<< /Length LEN >>", stream: []byte("/CIDInit /ProcSet findresource begin 12 dict begin begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange 1 beginbfchar <0041> <4E2D> endbfchar 1 beginbfrange <0042> <0043> <0061> endbfrange endcmap end end")},
	}))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := (&Options{MaxDecompressedBytes: 16 << 20, MaxPages: 100}).withDefaults()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		doc, err := parsePDF(ctx, "fuzz.pdf", data, &o)
		if el := time.Since(start); el > 6*time.Second {
			t.Fatalf("parsePDF took %v", el)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("parsePDF hit its deadline on %d bytes: %v", len(data), err)
		}
		if err != nil {
			if !typedErr(err) {
				t.Fatalf("parsePDF error %v is not a typed *Error", err)
			}
			return
		}
		if !utf8.ValidString(doc.Text) || strings.TrimSpace(doc.Text) == "" {
			t.Fatalf("parsePDF text %q: invalid UTF-8 or empty", doc.Text)
		}
		if doc.Pages < 1 || doc.Pages > o.MaxPages {
			t.Fatalf("parsePDF Pages = %d, want 1..%d", doc.Pages, o.MaxPages)
		}
		end := 0
		for _, s := range doc.Sections {
			if s.Start < end || s.End < s.Start || s.End > len(doc.Text) || s.Page < 1 || s.Page > doc.Pages {
				t.Fatalf("bad section %+v (text %d bytes, %d pages)", s, len(doc.Text), doc.Pages)
			}
			end = s.End
		}
	})
}
