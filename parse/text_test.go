package parse

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

var updateText = flag.Bool("update-text", false, "rewrite parse/testdata/text/*.golden from the current output")

// TestGoldenText parses each file in testdata/text and compares a rendering
// of its Document (type, then each section's kind, heading path, header and
// text) with the .golden file beside it. Regenerate with
// go test ./parse -run TestGoldenText -update-text, and review the diff.
func TestGoldenText(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "text", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			doc := parseTextString(t, filepath.Base(f), string(data))
			var sb strings.Builder
			fmt.Fprintf(&sb, "type: %s\n", doc.Type)
			kinds := []string{"paragraph", "heading", "table", "code", "list"}
			for _, s := range doc.Sections {
				fmt.Fprintf(&sb, "--- %s %q", kinds[s.Kind], s.Headings)
				if s.Header != "" {
					fmt.Fprintf(&sb, " header=%q", s.Header)
				}
				fmt.Fprintf(&sb, "\n%s\n", doc.Text[s.Start:s.End])
			}
			got := sb.String()
			golden := f + ".golden"
			if *updateText {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-text to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", f, golden, got, want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no files in testdata/text")
	}
}

// parseTextString parses s as a file named name with default options.
func parseTextString(t testing.TB, name, s string) *Document {
	t.Helper()
	doc, err := Parse(context.Background(), name, strings.NewReader(s), nil)
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", name, err)
	}
	checkTextDoc(t, doc)
	return doc
}

// checkTextDoc verifies the Document invariants.
func checkTextDoc(t testing.TB, doc *Document) {
	t.Helper()
	if err := textInvariants(doc); err != nil {
		t.Fatal(err)
	}
}

func textInvariants(doc *Document) error {
	if !utf8.ValidString(doc.Text) {
		return errors.New("Text is not valid UTF-8")
	}
	prev := 0
	for i, s := range doc.Sections {
		if s.Start < prev || s.End < s.Start || s.End > len(doc.Text) {
			return fmt.Errorf("section %d [%d,%d) out of order or outside text (prev end %d, len %d)", i, s.Start, s.End, prev, len(doc.Text))
		}
		if !utf8.ValidString(doc.Text[s.Start:s.End]) {
			return fmt.Errorf("section %d [%d,%d) not on UTF-8 boundaries", i, s.Start, s.End)
		}
		prev = s.End
	}
	return nil
}

// textSections returns (kind, headings, text) of each section for comparison.
type textSec struct {
	Kind     Kind
	Headings string
	Text     string
	Header   string
}

func textSections(doc *Document) []textSec {
	var out []textSec
	for _, s := range doc.Sections {
		out = append(out, textSec{s.Kind, strings.Join(s.Headings, " > "), doc.Text[s.Start:s.End], s.Header})
	}
	return out
}

func TestParseKeepsFoundationBehaviour(t *testing.T) {
	doc := parseTextString(t, "x.md", "# API keys\n\n## Rotation\n\nRotate every key.\n")
	if doc.Type != "markdown" {
		t.Errorf("Type = %q, want markdown", doc.Type)
	}
	if doc.Text != "# API keys\n\n## Rotation\n\nRotate every key.\n" {
		t.Errorf("Text = %q, want the file verbatim", doc.Text)
	}
	want := []textSec{
		{Heading, "API keys", "# API keys\n\n", ""},
		{Heading, "API keys > Rotation", "## Rotation\n\n", ""},
		{Paragraph, "API keys > Rotation", "Rotate every key.\n", ""},
	}
	if got := textSections(doc); !reflect.DeepEqual(got, want) {
		t.Errorf("sections = %+v, want %+v", got, want)
	}
	doc = parseTextString(t, "x.txt", "The espresso machine.\n")
	if doc.Type != "text" || doc.Text != "The espresso machine.\n" || len(doc.Sections) != 1 {
		t.Errorf("txt = %+v, want one text section", doc)
	}
}

func TestMarkdown(t *testing.T) {
	in := "Title\n=====\n\nIntro text\nmore.\n\nSub\n---\n\n```go\n# not a heading\nfunc f() {}\n```\n\n" +
		"| Name | Age |\n|------|----:|\n| Ann | 3 |\n| Bo | 4 |\n\n- one\n- two\n  cont\n\n### Deep\n\ntext\n"
	doc := parseTextString(t, "a.md", in)
	var kinds []Kind
	var heads []string
	for _, s := range textSections(doc) {
		kinds = append(kinds, s.Kind)
		heads = append(heads, s.Headings)
		if s.Kind == Table && s.Header != "Name | Age" {
			t.Errorf("table Header = %q, want %q", s.Header, "Name | Age")
		}
		if s.Kind == CodeBlock && !strings.Contains(s.Text, "# not a heading") {
			t.Errorf("code block = %q, want the fenced text", s.Text)
		}
	}
	wantKinds := []Kind{Heading, Paragraph, Heading, CodeBlock, Table, ListItem, ListItem, Heading, Paragraph}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("kinds = %v, want %v\n%+v", kinds, wantKinds, textSections(doc))
	}
	wantHeads := []string{"Title", "Title", "Title > Sub", "Title > Sub", "Title > Sub",
		"Title > Sub", "Title > Sub", "Title > Sub > Deep", "Title > Sub > Deep"}
	if !reflect.DeepEqual(heads, wantHeads) {
		t.Errorf("headings = %q, want %q", heads, wantHeads)
	}
	if doc.Text != in {
		t.Errorf("markdown text changed")
	}
}

func TestMarkdownFrontMatter(t *testing.T) {
	doc := parseTextString(t, "a.md", "---\ntitle: x\n---\n\nBody\n")
	for _, s := range doc.Sections {
		if s.Kind == Heading {
			t.Errorf("front matter made a heading: %+v", textSections(doc))
		}
	}
}

func TestConfigAndCode(t *testing.T) {
	doc := parseTextString(t, "a.ini", "x=1\n[server]\nport = 80\n[client]\nretry=2\n")
	if doc.Type != "config" {
		t.Errorf("Type = %q, want config", doc.Type)
	}
	got := textSections(doc)
	if len(got) != 5 || got[1].Kind != Heading || got[4].Headings != "client" || !strings.Contains(got[4].Text, "retry") {
		t.Errorf("ini sections = %+v", got)
	}
	src := "package x\n\n" + strings.Repeat("// filler comment line\n", 30) + "\nfunc A() {\n\treturn\n}\n\nfunc B() {}\n"
	doc = parseTextString(t, "a.go", src)
	if doc.Type != "code" || doc.Text != src {
		t.Errorf("go: Type = %q, text changed = %v", doc.Type, doc.Text != src)
	}
	if len(doc.Sections) < 2 {
		t.Errorf("go sections = %d, want a cut before func A", len(doc.Sections))
	}
	for _, s := range doc.Sections {
		if s.Kind != CodeBlock {
			t.Errorf("code section kind = %v, want CodeBlock", s.Kind)
		}
	}
}

func TestParseErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		data string
		want error
	}{
		{"a.exe", "hello", ErrUnsupported},
		{"a.png", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ErrUnsupported},
		{"a.txt", "\x7fELF\x02\x01\x01\x00\x00\x00", ErrUnsupported},
		{"a.txt", "abc\x00\x01\x02\x03\xff\xfe\x00\x80\x90\x00\x00", ErrUnsupported},
		{"a.txt", strings.Repeat("\x01\x02\x03\x04 ", 100), ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(ctx, tt.name, strings.NewReader(tt.data), nil)
			if !errors.Is(err, tt.want) {
				t.Errorf("Parse(%q) error = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
	_, err := Parse(ctx, "big.txt", strings.NewReader(strings.Repeat("a", 101)), &Options{MaxFileSize: 100})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse(101 bytes, limit 100) error = %v, want ErrInvalid", err)
	}
	if _, err := Parse(ctx, "ok.txt", strings.NewReader(strings.Repeat("a", 100)), &Options{MaxFileSize: 100}); err != nil {
		t.Errorf("Parse(100 bytes, limit 100) error = %v, want nil", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Parse(cctx, "a.md", strings.NewReader("# x\n"), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Parse(cancelled) error = %v, want context.Canceled", err)
	}
}

// TestExtractorsStopOnCancel checks that every extractor's loop notices a
// cancelled context on large input.
func TestExtractorsStopOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := strings.Repeat("line | with words, and [brackets]: {\"k\": 1}\n<p>x</p>\n\n", 20000)
	o := (&Options{}).withDefaults()
	for _, typ := range []string{typeMarkdown, typeRST, typeLaTeX, typeHTML, typeJSONL, typeCSV, typeTSV, typeYAML, typeConfig, typeCode} {
		if _, err := parseText(ctx, "big", typ, []byte(big), &o); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: parseText(cancelled) error = %v, want context.Canceled", typ, err)
		}
	}
	_, err := Parse(context.Background(), "slow.md", strings.NewReader(big), &Options{Timeout: time.Nanosecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Parse(1ns timeout) error = %v, want context.DeadlineExceeded", err)
	}
}

// TestParseSharedDocs parses every text-like file of the shared document set
// and checks the EXPECTED.tsv phrases for them.
func TestParseSharedDocs(t *testing.T) {
	dir := shareddata.Path(t, "datasets/docs")
	expected := map[string][]string{}
	if b, err := os.ReadFile(filepath.Join(dir, "EXPECTED.tsv")); err == nil {
		for i, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, "\t")
			if i == 0 || len(f) < 3 || f[2] != "" {
				continue
			}
			expected[f[0]] = append(expected[f[0]], f[1])
		}
	}
	// EXPECTED.tsv covers the PDF and Office files; these phrases were
	// checked in the text files themselves (grep, iconv for UTF-16).
	for name, p := range map[string]string{
		"linguist_pkgdown.html":            "pkgdown is designed to make it quick and easy",
		"ngt_README-jp.md":                 "直積量子化がグラフのデータタイプとして利用可能になりました",
		"linguist_vimtutor-no_utf16le.txt": "Vim er en meget kraftig editor",
		"currency-codes.csv":               "Entity: AFGHANISTAN | Currency: Afghani | AlphabeticCode: AFN",
		"currency-codes_datapackage.json":  "title: ISO 4217 Currency Codes",
	} {
		expected[name] = append(expected[name], p)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		switch name {
		case "MANIFEST.tsv", "EXPECTED.tsv", "README.md":
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		switch Detect(name, data[:min(len(data), sniffLen)]) {
		case typePDF, typeZip, typeDOC, "docx", "pptx", "xlsx":
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			doc, err := Parse(context.Background(), name, bytes.NewReader(data), nil)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Parse took %v, want under 10 s", d)
			}
			if err != nil {
				t.Fatalf("Parse error: %v", err)
			}
			checkTextDoc(t, doc)
			if strings.TrimSpace(doc.Text) == "" {
				t.Errorf("no text extracted")
			}
			text := collapse(doc.Text)
			for _, p := range expected[name] {
				if !strings.Contains(text, collapse(p)) {
					t.Errorf("text lacks expected phrase %q", p)
				}
			}
		})
	}
	if n < 20 {
		t.Errorf("parsed %d text-like files, want at least 20", n)
	}
}
