package parse

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

// zipPart is one entry of a test archive.
type zipPart struct {
	name, body string
}

// officeZip builds a deflated zip archive of parts, in order.
func officeZip(t testing.TB, parts ...zipPart) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func officeOpts() *Options {
	o := (&Options{}).withDefaults()
	return &o
}

// checkOfficeDoc checks the invariants every Document must hold.
func checkOfficeDoc(t testing.TB, doc *Document) {
	t.Helper()
	if !utf8.ValidString(doc.Text) {
		t.Errorf("Text is not valid UTF-8")
	}
	end := 0
	for i, s := range doc.Sections {
		if s.Start < end || s.End <= s.Start || s.End > len(doc.Text) {
			t.Fatalf("section %d [%d,%d) out of order or outside text of %d bytes (previous end %d)", i, s.Start, s.End, len(doc.Text), end)
		}
		if !utf8.ValidString(doc.Text[s.Start:s.End]) {
			t.Errorf("section %d does not lie on UTF-8 boundaries", i)
		}
		end = s.End
	}
}

const (
	wNS    = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"`
	relsNS = `xmlns="http://schemas.openxmlformats.org/package/2006/relationships"`
	relT   = `http://schemas.openxmlformats.org/officeDocument/2006/relationships/`
)

func pkgRels(target string) zipPart {
	return zipPart{"_rels/.rels", `<?xml version="1.0"?><Relationships ` + relsNS + `><Relationship Id="rId1" Type="` + relT + `officeDocument" Target="` + target + `"/></Relationships>`}
}

// testDOCX builds a docx whose body is body (WordprocessingML inside w:body).
func testDOCX(t testing.TB, body string, extra ...zipPart) []byte {
	parts := []zipPart{
		{"[Content_Types].xml", `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`},
		pkgRels("word/document.xml"),
		{"word/document.xml", `<?xml version="1.0"?><w:document ` + wNS + `><w:body>` + body + `</w:body></w:document>`},
	}
	return officeZip(t, append(parts, extra...)...)
}

func wPara(style, text string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + ppr + `<w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

func TestDOCX(t *testing.T) {
	styles := `<?xml version="1.0"?><w:styles ` + wNS + `>
<w:style w:type="paragraph" w:styleId="Titel"><w:name w:val="Title"/></w:style>
<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>
<w:style w:type="paragraph" w:styleId="MyH2"><w:name w:val="Custom"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Derived"><w:name w:val="Derived"/><w:basedOn w:val="MyH2"/></w:style>
<w:style w:type="paragraph" w:styleId="ListBullet"><w:name w:val="List Bullet"/><w:pPr><w:numPr><w:numId w:val="3"/></w:numPr></w:pPr></w:style>
</w:styles>`
	docRels := `<?xml version="1.0"?><Relationships ` + relsNS + `>
<Relationship Id="rId1" Type="` + relT + `styles" Target="styles.xml"/>
<Relationship Id="rId2" Type="` + relT + `footnotes" Target="footnotes.xml"/>
<Relationship Id="rId3" Type="` + relT + `header" Target="header1.xml"/>
<Relationship Id="rId4" Type="` + relT + `header" Target="header2.xml"/>
<Relationship Id="rId5" Type="` + relT + `hyperlink" Target="http://example.com/" TargetMode="External"/>
</Relationships>`
	body := wPara("Titel", "The Title") +
		wPara("", "Intro text.") +
		wPara("berschrift1", "Chapter One") +
		wPara("ListBullet", "first item") +
		`<w:p><w:pPr><w:numPr><w:ilvl w:val="1"/><w:numId w:val="7"/></w:numPr></w:pPr><w:r><w:t>second item</w:t></w:r></w:p>` +
		wPara("Derived", "Section 1.1") +
		`<w:p><w:r><w:t xml:space="preserve">Kept </w:t></w:r><w:del w:id="1"><w:r><w:delText>Deleted</w:delText></w:r></w:del><w:ins w:id="2"><w:r><w:t>Inserted</w:t></w:r></w:ins></w:p>` +
		`<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>PAGE \* MERGEFORMAT</w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>FieldResult</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>` +
		`<w:tbl><w:tblPr/><w:tr><w:tc><w:p><w:r><w:t>City</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Country</w:t></w:r></w:p></w:tc></w:tr>` +
		`<w:tr><w:tc><w:p><w:r><w:t>Paris</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>France</w:t></w:r></w:p></w:tc></w:tr>` +
		`<w:sdt><w:sdtPr><w:alias w:val="hidden"/></w:sdtPr><w:sdtContent><w:tr><w:tc><w:p><w:r><w:t>Oslo</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Norway</w:t></w:r></w:p></w:tc></w:tr></w:sdtContent></w:sdt></w:tbl>` +
		`<w:sdt><w:sdtPr><w:text/></w:sdtPr><w:sdtContent>` + wPara("", "In a content control.") + `</w:sdtContent></w:sdt>` +
		`<w:p><w:r><w:t>Anchor.</w:t></w:r><w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><w:txbxContent>` + wPara("", "Box text.") + `</w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent>` + wPara("", "Box text.") + `</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>` +
		`<w:sectPr/>`
	foot := `<?xml version="1.0"?><w:footnotes ` + wNS + `><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>SEPARATOR</w:t></w:r></w:p></w:footnote><w:footnote w:id="1">` + wPara("", "A footnote.") + `</w:footnote></w:footnotes>`
	hdr := `<?xml version="1.0"?><w:hdr ` + wNS + `>` + wPara("", "Running head") + `</w:hdr>`
	data := testDOCX(t, body,
		zipPart{"word/_rels/document.xml.rels", docRels},
		zipPart{"word/styles.xml", styles},
		zipPart{"word/footnotes.xml", foot},
		zipPart{"word/header1.xml", hdr},
		zipPart{"word/header2.xml", hdr},
	)
	doc, err := parseZip(context.Background(), "renamed.zip", data, officeOpts())
	if err != nil {
		t.Fatal(err)
	}
	checkOfficeDoc(t, doc)
	if doc.Type != "docx" || doc.Pages != 0 {
		t.Errorf("Type, Pages = %q, %d, want docx, 0", doc.Type, doc.Pages)
	}
	type sec struct {
		text     string
		kind     Kind
		headings string
		header   string
	}
	var got []sec
	for _, s := range doc.Sections {
		got = append(got, sec{doc.Text[s.Start:s.End], s.Kind, strings.Join(s.Headings, " > "), s.Header})
	}
	want := []sec{
		{"The Title\n\n", Heading, "The Title", ""},
		{"Intro text.\n\n", Paragraph, "The Title", ""},
		{"Chapter One\n\n", Heading, "The Title > Chapter One", ""},
		{"- first item\n", ListItem, "The Title > Chapter One", ""},
		{"  - second item\n", ListItem, "The Title > Chapter One", ""},
		{"\nSection 1.1\n\n", Heading, "The Title > Chapter One > Section 1.1", ""},
		{"Kept Inserted\n\nFieldResult\n\n", Paragraph, "The Title > Chapter One > Section 1.1", ""},
		{"City | Country\nCity: Paris | Country: France\nCity: Oslo | Country: Norway\n\n", Table, "The Title > Chapter One > Section 1.1", "City | Country"},
		{"In a content control.\n\nAnchor.\n\nBox text.\n\n", Paragraph, "The Title > Chapter One > Section 1.1", ""},
		{"A footnote.\n\n", Paragraph, "Footnotes", ""},
		{"Running head\n\n", Paragraph, "Headers and footers", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sections, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("section %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

const (
	pNS = `xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
)

func slideXML(shapes string) string {
	return `<?xml version="1.0"?><p:sld ` + pNS + `><p:cSld><p:spTree>` + shapes + `</p:spTree></p:cSld></p:sld>`
}

func pShape(ph, text string) string {
	nv := `<p:nvSpPr><p:cNvPr id="1" name="x"/><p:cNvSpPr/><p:nvPr>`
	if ph != "" {
		nv += `<p:ph type="` + ph + `"/>`
	}
	nv += `</p:nvPr></p:nvSpPr>`
	var paras string
	for _, line := range strings.Split(text, "\n") {
		paras += `<a:p><a:r><a:rPr lang="en-US"/><a:t>` + line + `</a:t></a:r></a:p>`
	}
	return `<p:sp>` + nv + `<p:txBody><a:bodyPr/>` + paras + `</p:txBody></p:sp>`
}

func TestPPTX(t *testing.T) {
	pres := `<?xml version="1.0"?><p:presentation ` + pNS + `><p:sldIdLst><p:sldId id="257" r:id="rId9"/><p:sldId id="256" r:id="rId8"/></p:sldIdLst></p:presentation>`
	presRels := `<?xml version="1.0"?><Relationships ` + relsNS + `>
<Relationship Id="rId8" Type="` + relT + `slide" Target="slides/slide1.xml"/>
<Relationship Id="rId9" Type="` + relT + `slide" Target="/ppt/slides/slide2.xml"/>
</Relationships>`
	// slide2.xml is shown first: presentation order, not part names.
	s2 := slideXML(pShape("ctrTitle", "Opening") + pShape("", "free text"))
	s1 := slideXML(pShape("body", "bullet one\nbullet two") + pShape("title", "Second Slide") +
		`<p:grpSp><p:nvGrpSpPr/>` + pShape("", "grouped") + `</p:grpSp>` +
		`<p:graphicFrame><a:graphic><a:graphicData><a:tbl><a:tr><a:tc><a:txBody><a:p><a:r><a:t>Name</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>Age</a:t></a:r></a:p></a:txBody></a:tc></a:tr>` +
		`<a:tr><a:tc><a:txBody><a:p><a:r><a:t>Ann</a:t></a:r></a:p></a:txBody></a:tc><a:tc><a:txBody><a:p><a:r><a:t>7</a:t></a:r></a:p></a:txBody></a:tc></a:tr></a:tbl></a:graphicData></a:graphic></p:graphicFrame>` +
		pShape("sldNum", "99"))
	s1Rels := `<?xml version="1.0"?><Relationships ` + relsNS + `><Relationship Id="rId2" Type="` + relT + `notesSlide" Target="../notesSlides/notesSlide1.xml"/></Relationships>`
	notes := `<?xml version="1.0"?><p:notes ` + pNS + `><p:cSld><p:spTree>` + pShape("sldImg", "") + pShape("body", "Say hello.") + pShape("sldNum", "2") + `</p:spTree></p:cSld></p:notes>`
	data := officeZip(t,
		pkgRels("ppt/presentation.xml"),
		zipPart{"ppt/presentation.xml", pres},
		zipPart{"ppt/_rels/presentation.xml.rels", presRels},
		zipPart{"ppt/slides/slide1.xml", s1},
		zipPart{"ppt/slides/slide2.xml", s2},
		zipPart{"ppt/slides/_rels/slide1.xml.rels", s1Rels},
		zipPart{"ppt/notesSlides/notesSlide1.xml", notes},
	)
	doc, err := parseZip(context.Background(), "deck.bin", data, officeOpts())
	if err != nil {
		t.Fatal(err)
	}
	checkOfficeDoc(t, doc)
	if doc.Type != "pptx" || doc.Pages != 2 {
		t.Errorf("Type, Pages = %q, %d, want pptx, 2", doc.Type, doc.Pages)
	}
	type sec struct {
		text     string
		kind     Kind
		page     int
		headings string
	}
	var got []sec
	for _, s := range doc.Sections {
		got = append(got, sec{doc.Text[s.Start:s.End], s.Kind, s.Page, strings.Join(s.Headings, " > ")})
	}
	want := []sec{
		{"Opening\n\n", Heading, 1, "Opening"},
		{"free text\n\n", Paragraph, 1, "Opening"},
		{"Second Slide\n\n", Heading, 2, "Second Slide"},
		{"bullet one\nbullet two\n\ngrouped\n\n", Paragraph, 2, "Second Slide"},
		{"Name | Age\nName: Ann | Age: 7\n\n", Table, 2, "Second Slide"},
		{"Notes: Say hello.\n\n", Paragraph, 2, "Second Slide"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d sections, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("section %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestXLSX(t *testing.T) {
	const sNS = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	wb := `<?xml version="1.0"?><workbook ` + sNS + `><sheets><sheet name="People" sheetId="1" r:id="rId1"/><sheet name="Empty" sheetId="2" r:id="rId2"/><sheet name="Misc" sheetId="3" r:id="rId3"/></sheets></workbook>`
	wbRels := `<?xml version="1.0"?><Relationships ` + relsNS + `>
<Relationship Id="rId1" Type="` + relT + `worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="` + relT + `worksheet" Target="worksheets/sheet2.xml"/>
<Relationship Id="rId3" Type="` + relT + `worksheet" Target="worksheets/sheet3.xml"/>
<Relationship Id="rId4" Type="` + relT + `sharedStrings" Target="sharedStrings.xml"/>
</Relationships>`
	sst := `<?xml version="1.0"?><sst ` + sNS + `><si><t>Name</t></si><si><t>Score</t></si><si><r><t>An</t></r><r><t>n</t></r><rPh><t>PHONETIC</t></rPh></si></sst>`
	sheet1 := `<?xml version="1.0"?><worksheet ` + sNS + `><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>Scores</t></is></c></row>
<row r="2"><c r="B2" t="s"><v>0</v></c><c r="C2" t="s"><v>1</v></c><c r="D2" t="inlineStr"><is><t>Passed</t></is></c></row>
<row r="3"><c r="B3" t="s"><v>2</v></c><c r="C3"><f>1+1</f><v>0.30000000000000004</v></c><c r="D3" t="b"><v>1</v></c></row>
<row r="4"><c r="C4"><v>1234567</v></c><c r="E4" t="str"><v>extra</v></c></row>
</sheetData></worksheet>`
	sheet2 := `<?xml version="1.0"?><worksheet ` + sNS + `><sheetData/></worksheet>`
	sheet3 := `<?xml version="1.0"?><worksheet ` + sNS + `><sheetData><row><c t="inlineStr"><is><t>solo</t></is></c><c t="e"><v>#DIV/0!</v></c></row></sheetData></worksheet>`
	data := officeZip(t,
		pkgRels("xl/workbook.xml"),
		zipPart{"xl/workbook.xml", wb},
		zipPart{"xl/_rels/workbook.xml.rels", wbRels},
		zipPart{"xl/sharedStrings.xml", sst},
		zipPart{"xl/worksheets/sheet1.xml", sheet1},
		zipPart{"xl/worksheets/sheet2.xml", sheet2},
		zipPart{"xl/worksheets/sheet3.xml", sheet3},
	)
	doc, err := parseZip(context.Background(), "book.xlsx", data, officeOpts())
	if err != nil {
		t.Fatal(err)
	}
	checkOfficeDoc(t, doc)
	if doc.Type != "xlsx" || doc.Pages != 3 {
		t.Errorf("Type, Pages = %q, %d, want xlsx, 3", doc.Type, doc.Pages)
	}
	if len(doc.Sections) != 2 {
		t.Fatalf("got %d sections, want 2: %+v", len(doc.Sections), doc.Sections)
	}
	s := doc.Sections[0]
	wantText := "Scores\nName | Score | Passed\nName: Ann | Score: 0.3 | Passed: TRUE\nScore: 1234567 | extra\n\n"
	if got := doc.Text[s.Start:s.End]; got != wantText {
		t.Errorf("sheet 1 text = %q, want %q", got, wantText)
	}
	if s.Kind != Table || s.Page != 1 || s.PageLabel != "People" || s.Header != "Name | Score | Passed" {
		t.Errorf("sheet 1 section = %+v", s)
	}
	s = doc.Sections[1]
	if got := doc.Text[s.Start:s.End]; got != "solo | #DIV/0!\n\n" || s.Page != 3 || s.PageLabel != "Misc" {
		t.Errorf("sheet 3 = %q %+v", got, s)
	}
}

func TestZipNotOffice(t *testing.T) {
	data := officeZip(t, zipPart{"readme.txt", "hello"}, zipPart{"word/notes.xml", "<x/>"})
	_, err := parseZip(context.Background(), "a.docx", data, officeOpts())
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("parseZip(plain zip) = %v, want unsupported_file", err)
	}
	// An officeDocument whose root is something else is not office either.
	data = officeZip(t, pkgRels("main.xml"), zipPart{"main.xml", "<odd/>"})
	_, err = parseZip(context.Background(), "a.docx", data, officeOpts())
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("parseZip(odd root) = %v, want unsupported_file", err)
	}
}

// sharedOffice returns the shared Office test files.
func sharedOffice(tb testing.TB) []string {
	dir := shareddata.Path(tb, "datasets/docs")
	var files []string
	for _, ext := range []string{"docx", "pptx", "xlsx"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*."+ext))
		files = append(files, m...)
	}
	if len(files) == 0 {
		tb.Skip("no Office files in the shared documents")
	}
	return files
}

// expectedPhrases reads EXPECTED.tsv: file name -> phrases.
func expectedPhrases(t *testing.T, dir string) map[string][]string {
	f, err := os.Open(filepath.Join(dir, "EXPECTED.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) >= 2 && cols[0] != "filename" {
			m[cols[0]] = append(m[cols[0]], cols[1])
		}
	}
	return m
}

func TestOfficeSharedFiles(t *testing.T) {
	files := sharedOffice(t)
	expected := expectedPhrases(t, filepath.Dir(files[0]))
	for _, path := range files {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			doc, err := parseZip(ctx, base, data, officeOpts())
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("parseZip = %v, want a *Error", err)
				}
				if len(expected[base]) > 0 {
					t.Fatalf("parseZip = %v, want text with %q", err, expected[base])
				}
				return
			}
			checkOfficeDoc(t, doc)
			if want := strings.TrimPrefix(filepath.Ext(base), "."); doc.Type != want {
				t.Errorf("Type = %q, want %q", doc.Type, want)
			}
			text := collapse(doc.Text)
			for _, ph := range expected[base] {
				if !strings.Contains(text, collapse(ph)) {
					t.Errorf("text lacks %q", ph)
				}
			}
		})
	}
}

func TestXLSXAmplification(t *testing.T) {
	// One long shared string named by many cells must not multiply into
	// gigabytes of text: the text is capped at MaxDecompressedBytes.
	const sNS = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	row := `<row>` + strings.Repeat(`<c t="s"><v>0</v></c>`, 100) + `</row>`
	data := officeZip(t,
		pkgRels("xl/workbook.xml"),
		zipPart{"xl/workbook.xml", `<workbook ` + sNS + `><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		zipPart{"xl/_rels/workbook.xml.rels", `<Relationships ` + relsNS + `><Relationship Id="rId1" Type="` + relT + `worksheet" Target="s.xml"/><Relationship Id="rId2" Type="` + relT + `sharedStrings" Target="ss.xml"/></Relationships>`},
		zipPart{"xl/ss.xml", `<sst ` + sNS + `><si><t>` + strings.Repeat("long text ", 10000) + `</t></si></sst>`},
		zipPart{"xl/s.xml", `<worksheet ` + sNS + `><sheetData>` + strings.Repeat(row, 100) + `</sheetData></worksheet>`},
	)
	o := (&Options{MaxDecompressedBytes: 8 << 20, MaxCompressionRatio: 1 << 20}).withDefaults()
	_, err := parseZip(context.Background(), "amp.xlsx", data, &o)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "spreadsheet text") {
		t.Errorf("parseZip(amplifying sheet) = %v, want invalid_file about spreadsheet text", err)
	}
}

// BenchmarkExtractOffice measures extraction throughput per format over the
// shared Office files, in MB/s of input file bytes.
func BenchmarkExtractOffice(b *testing.B) {
	files := sharedOffice(b)
	byExt := map[string][][]byte{}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		ext := strings.TrimPrefix(filepath.Ext(p), ".")
		byExt[ext] = append(byExt[ext], data)
	}
	for _, ext := range []string{"docx", "pptx", "xlsx"} {
		b.Run(ext, func(b *testing.B) {
			var size int64
			for _, d := range byExt[ext] {
				size += int64(len(d))
			}
			b.SetBytes(size)
			o := officeOpts()
			var text int64
			for b.Loop() {
				for _, d := range byExt[ext] {
					doc, err := parseZip(context.Background(), "bench."+ext, d, o)
					if err == nil {
						text += int64(len(doc.Text))
					}
				}
			}
			b.ReportMetric(float64(len(byExt[ext])), "files/op")
			b.ReportMetric(float64(text)/float64(b.N), "textbytes/op")
		})
	}
	b.Run("doc", func(b *testing.B) {
		// No .doc is in the shared data: a synthetic 1 MB document.
		para := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 20) + "\r"
		data := buildDoc(b, 0, true, docPieceSpec{strings.Repeat(para, 900), true})
		b.SetBytes(int64(len(data)))
		o := officeOpts()
		for b.Loop() {
			if _, err := parseOLE(context.Background(), "bench.doc", data, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestDOCXTableSpan(t *testing.T) {
	cell := func(text, tcPr string) string {
		return `<w:tc>` + tcPr + `<w:p><w:r><w:t>` + text + `</w:t></w:r></w:p></w:tc>`
	}
	body := `<w:tbl><w:tr>` + cell("A", "") + cell("B", "") + cell("C", "") + `</w:tr>` +
		`<w:tr>` + cell("x", `<w:tcPr><w:gridSpan w:val="2"/></w:tcPr>`) + cell("y", "") + `</w:tr></w:tbl>`
	doc, err := parseZip(context.Background(), "span.docx", testDOCX(t, body), officeOpts())
	if err != nil {
		t.Fatal(err)
	}
	if want := "A | B | C\nA: x | C: y\n\n"; doc.Text != want {
		t.Errorf("text = %q, want %q", doc.Text, want)
	}
}

func TestExcelDate(t *testing.T) {
	for _, tt := range []struct {
		serial   float64
		date1904 bool
		want     string
	}{
		{19278.6079513889, false, "1952-10-11 14:35:27"},
		{45292, false, "2024-01-01"},
		{1, false, "1900-01-01"},
		{60, false, "1900-03-01"}, // Excel's phantom 1900-02-29 reads as the next day
		{61, false, "1900-03-01"},
		{0.5, false, "12:00:00"},
		{0, true, "1904-01-01"},
	} {
		got, ok := excelDate(tt.serial, tt.date1904)
		if !ok || got != tt.want {
			t.Errorf("excelDate(%v, %v) = %q, %v; want %q", tt.serial, tt.date1904, got, ok, tt.want)
		}
	}
	if _, ok := excelDate(-1, false); ok {
		t.Errorf("excelDate(-1) ok, want not a date")
	}
	for code, want := range map[string]bool{
		"yyyy-mm-dd": true, "h:mm AM/PM": true, "[$-409]mmmm d, yyyy": true, "General": false,
		"0.00": false, `0.0 "days"`: false, "#,##0;[Red]-#,##0": false, `0\m`: false,
	} {
		if got := dateFormat(code); got != want {
			t.Errorf("dateFormat(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestPPTXRepeatedSlide(t *testing.T) {
	// A slide listed many times is read once, so its text is not multiplied.
	ids := strings.Repeat(`<p:sldId id="256" r:id="rId1"/>`, 1000)
	data := officeZip(t,
		pkgRels("ppt/presentation.xml"),
		zipPart{"ppt/presentation.xml", `<p:presentation ` + pNS + `><p:sldIdLst>` + ids + `</p:sldIdLst></p:presentation>`},
		zipPart{"ppt/_rels/presentation.xml.rels", `<Relationships ` + relsNS + `><Relationship Id="rId1" Type="` + relT + `slide" Target="slides/slide1.xml"/></Relationships>`},
		zipPart{"ppt/slides/slide1.xml", slideXML(pShape("", strings.Repeat("word ", 1000)))},
	)
	doc, err := parseZip(context.Background(), "rep.pptx", data, officeOpts())
	if err != nil {
		t.Fatal(err)
	}
	if doc.Pages != 1000 || len(doc.Sections) != 1 || len(doc.Text) > 6000 {
		t.Errorf("Pages, sections, text = %d, %d, %d bytes; want 1000, 1, one copy", doc.Pages, len(doc.Sections), len(doc.Text))
	}
}

func TestParseOfficeByContent(t *testing.T) {
	// Through the public entry point: the name does not decide the format.
	docx := testDOCX(t, wPara("", "renamed archive"))
	doc := buildDoc(t, 0, false, docPieceSpec{"legacy text\r", true})
	for _, tt := range []struct {
		name     string
		data     []byte
		typ, has string
	}{
		{"report.zip", docx, "docx", "renamed archive"},
		{"report", docx, "docx", "renamed archive"},
		{"old.doc", doc, "doc", "legacy text"},
	} {
		d, err := Parse(context.Background(), tt.name, bytes.NewReader(tt.data), nil)
		if err != nil {
			t.Errorf("Parse(%q) = %v", tt.name, err)
			continue
		}
		if d.Type != tt.typ || !strings.Contains(d.Text, tt.has) {
			t.Errorf("Parse(%q) = %q %q, want %s with %q", tt.name, d.Type, d.Text, tt.typ, tt.has)
		}
	}
}

func TestOfficeCell(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"plain text":     "plain text",
		" padded ":       "padded",
		"two  spaces":    "two spaces",
		"line\nbreak":    "line break",
		"tab\there":      "tab here",
		"non\u00a0break": "non break",
		"世界  hello":      "世界 hello",
		" ":              "",
	} {
		if got := officeCell(in); got != want {
			t.Errorf("officeCell(%q) = %q, want %q", in, got, want)
		}
	}
}
