package parse

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

// fuzzOptions keeps fuzz iterations small and fast.
func fuzzOptions() *Options {
	o := (&Options{MaxDecompressedBytes: 16 << 20, MaxZipEntries: 200, MaxXMLDepth: 64}).withDefaults()
	return &o
}

// checkFuzzResult checks what every extractor promises for any input.
func checkFuzzResult(t *testing.T, doc *Document, err error, o *Options) {
	t.Helper()
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			// A deadline counts too: no small input may take seconds.
			t.Fatalf("error %v (%T) is not a *Error", err, err)
		}
		if doc != nil {
			t.Fatalf("non-nil Document with error %v", err)
		}
		return
	}
	checkOfficeDoc(t, doc)
	if int64(len(doc.Text)) > o.MaxDecompressedBytes {
		t.Fatalf("text of %d bytes exceeds the %d-byte limit", len(doc.Text), o.MaxDecompressedBytes)
	}
}

// FuzzOOXML feeds arbitrary bytes to the Office Open XML reader, both as a
// whole archive and as the main XML part of a docx, a pptx slide and an
// xlsx sheet, so that mutations reach the XML walkers past the zip
// checksums.
func FuzzOOXML(f *testing.F) {
	f.Add(testDOCX(f, wPara("Heading1", "Title")+wPara("", "Body")))
	f.Add([]byte(`<w:p><w:r><w:t>x</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>a</w:t></w:r></w:p></w:tc></w:tr></w:tbl>`))
	f.Add([]byte(pShape("title", "T") + pShape("", "body")))
	f.Add([]byte(`<row><c t="s"><v>0</v></c><c t="inlineStr"><is><t>x</t></is></c><c r="B9"><v>1.5</v></c></row>`))
	if dir := shareddata.Dir(); dir != "" {
		for _, ext := range []string{"docx", "pptx", "xlsx"} {
			m, _ := filepath.Glob(filepath.Join(dir, "datasets", "docs", "*."+ext))
			for _, p := range m {
				if data, err := os.ReadFile(p); err == nil && len(data) < 64<<10 {
					f.Add(data)
				}
			}
		}
	}
	const sNS = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	f.Fuzz(func(t *testing.T, data []byte) {
		o := fuzzOptions()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		doc, err := parseZip(ctx, "f.docx", data, o)
		checkFuzzResult(t, doc, err, o)
		if len(data) > 4096 {
			return
		}
		body := string(data)
		doc, err = parseZip(ctx, "f.docx", testDOCX(t, body), o)
		checkFuzzResult(t, doc, err, o)
		pptx := officeZip(t,
			pkgRels("ppt/presentation.xml"),
			zipPart{"ppt/presentation.xml", `<p:presentation ` + pNS + `><p:sldIdLst><p:sldId id="256" r:id="rId1"/></p:sldIdLst></p:presentation>`},
			zipPart{"ppt/_rels/presentation.xml.rels", `<Relationships ` + relsNS + `><Relationship Id="rId1" Type="` + relT + `slide" Target="slides/slide1.xml"/></Relationships>`},
			zipPart{"ppt/slides/slide1.xml", slideXML(body)},
		)
		doc, err = parseZip(ctx, "f.pptx", pptx, o)
		checkFuzzResult(t, doc, err, o)
		xlsx := officeZip(t,
			pkgRels("xl/workbook.xml"),
			zipPart{"xl/workbook.xml", `<workbook ` + sNS + `><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`},
			zipPart{"xl/_rels/workbook.xml.rels", `<Relationships ` + relsNS + `><Relationship Id="rId1" Type="` + relT + `worksheet" Target="s.xml"/><Relationship Id="rId2" Type="` + relT + `sharedStrings" Target="ss.xml"/></Relationships>`},
			zipPart{"xl/ss.xml", `<sst ` + sNS + `><si><t>shared</t></si></sst>`},
			zipPart{"xl/s.xml", `<worksheet ` + sNS + `><sheetData>` + body + `</sheetData></worksheet>`},
		)
		doc, err = parseZip(ctx, "f.xlsx", xlsx, o)
		checkFuzzResult(t, doc, err, o)
	})
}

// FuzzDOC feeds arbitrary bytes to the OLE2 and Word 97 readers; the seeds
// are valid documents, which the fuzzer mutates freely since compound files
// carry no checksums.
func FuzzDOC(f *testing.F) {
	f.Add(buildDoc(f, 0, false, docPieceSpec{"Hello\r", true}, docPieceSpec{"wörld\x07x\x07\x07\r", false}))
	f.Add(buildDoc(f, 3, true, docPieceSpec{"a\x13b\x14c\x15d\rftn", true}))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := fuzzOptions()
		doc, err := parseOLE(context.Background(), "f.doc", data, o)
		checkFuzzResult(t, doc, err, o)
	})
}
