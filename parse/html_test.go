package parse

import (
	"context"
	"strings"
	"testing"
)

func TestHTML(t *testing.T) {
	page := `<!DOCTYPE html><html><head><title>Ignored title</title><style>p{color:red}</style>
<script>var x = "<p>not text</p>";</script></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<div class="navbar">Menu entries</div>
<h1>Guide &amp; Tips</h1>
<p>First   paragraph
with <b>bold</b> text &eacute;t&eacute; &#8364;5.</p>
<h2>Setup</h2>
<ul><li>Install it</li><li><p>Run it</p></li></ul>
<pre><code>go build ./...
  indented</code></pre>
<table><thead><tr><th>Name</th><th>Age</th></tr></thead>
<tbody><tr><td>Ann</td><td>3</td></tr><tr><td>Bo</td><td></td></tr></tbody></table>
<h1>Other</h1><p>End</p>
<footer>Copyright footer</footer></body></html>`
	doc := parseTextString(t, "page.html", page)
	if doc.Type != "html" {
		t.Errorf("Type = %q, want html", doc.Type)
	}
	for _, noise := range []string{"Ignored title", "color:red", "not text", "Home", "Menu entries", "Copyright footer"} {
		if strings.Contains(doc.Text, noise) {
			t.Errorf("text contains noise %q:\n%s", noise, doc.Text)
		}
	}
	want := []textSec{
		{Heading, "Guide & Tips", "Guide & Tips\n\n", ""},
		{Paragraph, "Guide & Tips", "First paragraph with bold text été €5.\n\n", ""},
		{Heading, "Guide & Tips > Setup", "Setup\n\n", ""},
		{ListItem, "Guide & Tips > Setup", "- Install it\n", ""},
		{ListItem, "Guide & Tips > Setup", "- Run it\n", ""},
		{CodeBlock, "Guide & Tips > Setup", "go build ./...\n  indented\n\n", ""},
		{Table, "Guide & Tips > Setup", "Name: Ann | Age: 3\nName: Bo\n\n", "Name | Age"},
		{Heading, "Other", "Other\n\n", ""},
		{Paragraph, "Other", "End\n\n", ""},
	}
	got := textSections(doc)
	if len(got) != len(want) {
		t.Fatalf("sections = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("section %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestHTMLTables(t *testing.T) {
	tests := []struct {
		name, in, text, header string
	}{
		{"th-first-row", "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>", "A: 1 | B: 2\n\n", "A | B"},
		{"no-header", "<table><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>", "1 | 2\n3 | 4\n\n", ""},
		{"nested", "<table><tr><th>A</th></tr><tr><td>x<table><tr><td>in</td></tr></table>y</td></tr></table>", "A: x in y\n\n", "A"},
		{"unclosed", "<table><tr><th>A</th><tr><td>1", "A: 1\n\n", "A"},
		{"header-only", "<table><tr><th>A</th><th>B</th></tr></table>", "A | B\n\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parseTextString(t, "t.html", tt.in)
			if len(doc.Sections) != 1 || doc.Sections[0].Kind != Table {
				t.Fatalf("sections = %+v, want one table", textSections(doc))
			}
			if s := textSections(doc)[0]; s.Text != tt.text || s.Header != tt.header {
				t.Errorf("table = %q header %q, want %q header %q", s.Text, s.Header, tt.text, tt.header)
			}
		})
	}
}

func TestHTMLMalformed(t *testing.T) {
	for _, in := range []string{
		"", "<", "<p", "<<<>>>", "</p></div></table>", "<h1>unclosed", "<pre>", "<script>never closed",
		"<head><p>no body tag", "<body class=\"menu\"><p>kept</p>", strings.Repeat("<div>", 10000) + "deep" + strings.Repeat("</div>", 10000),
		strings.Repeat("<table><tr><td>", 1000) + "x", "<li><li><li>", "<h1><h2>x</h1></h2>",
	} {
		doc, err := Parse(context.Background(), "m.html", strings.NewReader(in), nil)
		if err != nil {
			t.Errorf("Parse(%.40q) error: %v", in, err)
			continue
		}
		checkTextDoc(t, doc)
	}
	doc := parseTextString(t, "h.html", "<head><title>T</title><p>no body tag")
	if strings.TrimSpace(doc.Text) != "no body tag" {
		t.Errorf("unclosed head text = %q, want the paragraph", doc.Text)
	}
	doc = parseTextString(t, "b.html", "<body class=\"menu\" hidden><p>kept</p>")
	if strings.TrimSpace(doc.Text) != "kept" {
		t.Errorf("body with noise attributes: text = %q, want kept", doc.Text)
	}
	doc = parseTextString(t, "d.html", strings.Repeat("<div>", 10000)+"deep"+strings.Repeat("</div>", 10000))
	if strings.TrimSpace(doc.Text) != "deep" {
		t.Errorf("deep div text = %q, want deep", doc.Text)
	}
}

// TestHTMLPermalinks: the permalink marks documentation generators put in
// headings (Sphinx "¶", pkgsite and GitHub "#") are not part of the path.
func TestHTMLPermalinks(t *testing.T) {
	page := `<html><body>
<h1>Contents<a class="headerlink" href="#contents" title="Permalink">¶</a></h1><p>a</p>
<h2 id="Crypto">Crypto <a href="#Crypto">#</a></h2><p>b</p>
<h2>Loose mark ¶</h2><p>c</p>
<h2>C#</h2><p>d</p>
<h2><a href="#x">§</a> Linked <a href="/doc">docs</a></h2><p>e</p>
</body></html>`
	doc := parseTextString(t, "page.html", page)
	var got []string
	for _, s := range textSections(doc) {
		if s.Kind == Heading {
			got = append(got, s.Headings)
		}
	}
	want := []string{"Contents", "Contents > Crypto", "Contents > Loose mark", "Contents > C#", "Contents > Linked docs"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("heading paths = %q, want %q", got, want)
	}
}
