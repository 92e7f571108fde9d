package parse

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzText runs parseText (which, unlike Parse, does not recover panics) and
// checks the Document invariants and that the output stays bounded.
func fuzzText(t *testing.T, typ string, data []byte) {
	o := (&Options{MaxXMLDepth: 64}).withDefaults()
	doc, err := parseText(context.Background(), "fuzz", typ, data, &o)
	if err != nil {
		return
	}
	if doc.Type != typ {
		t.Fatalf("Type = %q, want %q", doc.Type, typ)
	}
	if err := textInvariants(doc); err != nil {
		t.Fatal(err)
	}
	// Repeated context (CSV labels, JSON paths) stops at outputBudget; what
	// follows is at most the input's values again plus separators.
	if len(doc.Text) > outputBudget(len(data))+4*len(data)+1024 {
		t.Fatalf("%s: %d bytes of text from %d bytes of input", typ, len(doc.Text), len(data))
	}
}

func FuzzHTML(f *testing.F) {
	for _, s := range []string{
		"<html><head><meta charset=\"big5\"><title>t</title></head><body><h1>A</h1><p>x &amp; y</p></body></html>",
		"<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2<table><tr><td>in</td></tr></table></td></tr></table>",
		"<ul><li>a<ul><li>b</li></ul></li></ul><pre>\ncode\n</pre><h2>x<h3>y</h2>",
		"<script>alert('<p>')</script><nav>n</nav><div role=navigation>r</div><p>kept",
		"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=shift_jis\">\x82\xa0",
		"\xff\xfe<\x00p\x00>\x00h\x00i\x00", "<![CDATA[x]]><!-- c --><br/><br>", "<h1></h1><li></li><td>x",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzText(t, typeHTML, data)
	})
}

// FuzzDecodeText checks that decoding yields valid UTF-8 whatever the bytes
// and declared charset, and runs every text extractor on the input.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{
		"plain", "\xef\xbb\xbfbom", "\xff\xfeh\x00i\x00", "\xfe\xff\x00h\x00i", "h\x00i\x00!\x00",
		"\xc4\xe3\xba\xc3", "\xa7\x41\xa6\x6e", "\x82\xa0\x82\xa2", "caf\xe9", "\xff\xfe\x00\x00h\x00\x00\x00",
		"# T\n\n```\nx\n```\n| a | b |\n|---|---|\n| 1 | 2 |\n- li\nSet\n===\n",
		"Title\n=====\n\n\\section{A}\n\\begin{verbatim}\nx\n", "a,b\n1,\"2\n# c\tx\n",
		"{\"a\":[1,{\"b\":null}]}\n{\"c\":\"d\"}\n", "<?xml version=\"1.0\" encoding=\"gbk\"?><a><b>t</b></a>",
		"k: v\nl:\n  - x\n---\n[s]\nx=1\n",
	} {
		f.Add([]byte(s), "")
	}
	f.Add([]byte("\x82\xa0"), "shift_jis")
	f.Add([]byte("abc"), "utf-16le")
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		s, enc := decodeText(data, declared)
		if !utf8.ValidString(s) {
			t.Fatalf("decodeText(%q, %q) = %q (%s): invalid UTF-8", data, declared, s, enc)
		}
		if len(data) > 0 && enc == "" {
			t.Fatalf("decodeText(%q) named no encoding", data)
		}
		if strings.Count(s, "") > 4*len(data)+2 {
			t.Fatalf("decodeText(%q): %d runes from %d bytes", data, strings.Count(s, "")-1, len(data))
		}
		for _, typ := range []string{typeText, typeMarkdown, typeRST, typeLaTeX, typeXML, typeJSON,
			typeJSONL, typeCSV, typeTSV, typeYAML, typeConfig, typeCode} {
			fuzzText(t, typ, data)
		}
	})
}
