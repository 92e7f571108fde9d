package parse

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCSV(t *testing.T) {
	tests := []struct {
		name, file, in, text, header string
	}{
		{"basic", "a.csv", "name,city\nAnn,\"Paris, FR\"\nBo,\n", "name: Ann | city: Paris, FR\nname: Bo\n", "name | city"},
		{"tsv", "a.tsv", "a\tb\n1\t2\n", "a: 1 | b: 2\n", "a | b"},
		{"comment-header", "a.tsv", "# About\n# w1\tw2\tscore\nlove\tsex\t6.77\ntiger\tcat\t7.35\n",
			"# About\n# w1\tw2\tscore\nw1: love | w2: sex | score: 6.77\nw1: tiger | w2: cat | score: 7.35\n", "w1 | w2 | score"},
		{"numeric-no-header", "a.csv", "1,2\n3,4\n", "1 | 2\n3 | 4\n", ""},
		{"ragged-lazy", "a.csv", "a,b\n1,\"x\"y\",3\n", "a: 1 | b: x\"y | 3\n", "a | b"},
		{"header-only", "a.csv", "a,b\n", "a | b\n", ""},
		{"crlf", "a.csv", "a,b\r\n1,2\r\n", "a: 1 | b: 2\n", "a | b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parseTextString(t, tt.file, tt.in)
			if doc.Text != tt.text {
				t.Errorf("text = %q, want %q", doc.Text, tt.text)
			}
			var header string
			for _, s := range doc.Sections {
				if s.Kind == Table {
					header = s.Header
				}
			}
			if header != tt.header {
				t.Errorf("Header = %q, want %q", header, tt.header)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	doc := parseTextString(t, "a.json", `{"name":"x","tags":["a","b"],"nested":{"deep":{"n":1.5,"ok":true,"nil":null}},"e":{}}`)
	want := "name: x\ntags[0]: a\ntags[1]: b\nnested.deep.n: 1.5\nnested.deep.ok: true\nnested.deep.nil: null\n"
	if doc.Text != want {
		t.Errorf("text = %q, want %q", doc.Text, want)
	}
	if got := textSections(doc); len(got) != 3 || got[2].Headings != "nested" {
		t.Errorf("sections = %+v, want one per top-level key", got)
	}
	doc = parseTextString(t, "b.json", `[{"id":1},{"id":2}]`)
	if doc.Text != "[0].id: 1\n[1].id: 2\n" {
		t.Errorf("array text = %q", doc.Text)
	}
	doc = parseTextString(t, "c.json", "{\n // comment\n \"a\": 1,\n}\n")
	if !strings.Contains(doc.Text, "// comment") {
		t.Errorf("invalid JSON should be read as text, got %q", doc.Text)
	}
	deep := strings.Repeat("[", 300) + strings.Repeat("]", 300)
	_, err := Parse(context.Background(), "d.json", strings.NewReader(deep), nil)
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse(300-deep JSON) error = %v, want ErrInvalid", err)
	}
	if _, err := Parse(context.Background(), "d.json", strings.NewReader(deep), &Options{MaxXMLDepth: 1000}); err != nil {
		t.Errorf("Parse(300-deep JSON, limit 1000) error = %v", err)
	}
}

func TestJSONL(t *testing.T) {
	doc := parseTextString(t, "a.jsonl", "{\"q\":\"hi\",\"n\":1}\n\nnot json\n{\"q\":\"multi\\nline\"}\n")
	want := []textSec{
		{ListItem, "", "q: hi | n: 1\n", ""},
		{ListItem, "", "not json\n", ""},
		{ListItem, "", "q: multi line\n", ""},
	}
	got := textSections(doc)
	if len(got) != len(want) {
		t.Fatalf("sections = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestXML(t *testing.T) {
	doc := parseTextString(t, "a.xml", `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "boom">]><r><title>Hello &amp; bye</title><p a="1">One <b>two</b></p><e/></r>`)
	if doc.Text != "Hello & bye One two\n" {
		t.Errorf("text = %q", doc.Text)
	}
	doc = parseTextString(t, "b.xml", "<r>\n  <name>Ann</name>\n  <p>Call <b>now</b>.</p>\n</r>\n")
	if doc.Text != "Ann\nCall now .\n" {
		t.Errorf("pretty XML text = %q", doc.Text)
	}
	deep := strings.Repeat("<a>", 300) + strings.Repeat("</a>", 300)
	if _, err := Parse(context.Background(), "d.xml", strings.NewReader(deep), nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Parse(300-deep XML) error = %v, want ErrInvalid", err)
	}
	doc = parseTextString(t, "bad.xml", "<r><unclosed>text & more")
	if !strings.Contains(doc.Text, "text & more") {
		t.Errorf("malformed XML text = %q, want the raw text", doc.Text)
	}
}

func TestYAML(t *testing.T) {
	in := "# config\nname: app\nserver:\n  port: 80\n  host: x\nlist:\n  - a\n---\nother: 1\n"
	doc := parseTextString(t, "a.yaml", in)
	if doc.Type != "yaml" || doc.Text != in {
		t.Errorf("Type = %q, text changed = %v", doc.Type, doc.Text != in)
	}
	var heads []string
	for _, s := range textSections(doc) {
		heads = append(heads, s.Headings)
	}
	want := "|name|server|list||other"
	if got := strings.Join(heads, "|"); got != want {
		t.Errorf("headings = %q, want %q", got, want)
	}
}

// TestOutputBudget checks that repeated headers and key paths cannot blow a
// small file up into a huge text.
func TestOutputBudget(t *testing.T) {
	long := strings.Repeat("h", 60000)
	tests := []struct{ name, in string }{
		{"a.csv", long + ",b\n" + strings.Repeat("1,\n", 20000)},
		{"a.json", `{"` + long + `":[` + strings.Repeat("1,", 20000) + `1]}`},
		{"a.jsonl", strings.Repeat(`{"`+strings.Repeat("k", 500)+`":[1,1,1,1,1,1,1,1,1,1]}`+"\n", 2000)},
		{"a.html", "<table><tr><th>" + long + "</th></tr>" + strings.Repeat("<tr><td>1", 20000) + "</table>"},
	}
	for _, tt := range tests {
		doc := parseTextString(t, tt.name, tt.in)
		if max := outputBudget(len(tt.in)) + 2*len(tt.in); len(doc.Text) > max {
			t.Errorf("%s: %d bytes of text from %d bytes, want at most %d", tt.name, len(doc.Text), len(tt.in), max)
		}
	}
}
