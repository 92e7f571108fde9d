package parse

import (
	"reflect"
	"testing"
)

func TestRST(t *testing.T) {
	in := "=====\nTitle\n=====\n\nIntro.\n\nSection A\n---------\n\nText A.\n\nSub\n~~~\n\nDeep.\n\nSection B\n---------\n\nText B.\n"
	doc := parseTextString(t, "a.rst", in)
	if doc.Type != "rst" || doc.Text != in {
		t.Errorf("Type = %q, text changed = %v", doc.Type, doc.Text != in)
	}
	var heads []string
	for _, s := range textSections(doc) {
		if s.Kind == Heading {
			heads = append(heads, s.Headings)
		}
	}
	want := []string{"Title", "Title > Section A", "Title > Section A > Sub", "Title > Section B"}
	if !reflect.DeepEqual(heads, want) {
		t.Errorf("headings = %q, want %q", heads, want)
	}
}

func TestLaTeX(t *testing.T) {
	in := "\\documentclass{article}\n\\begin{document}\n\\section{Intro}\nHello.\n" +
		"\\subsection*{Details with \\emph{style}}\n\\begin{verbatim}\n\\section{not a heading}\n\\end{verbatim}\n" +
		"\\section[short]{Long \\href{http://x}{link} title}\\label{s2}\nBye.\n\\end{document}\n"
	doc := parseTextString(t, "a.tex", in)
	if doc.Type != "latex" || doc.Text != in {
		t.Errorf("Type = %q, text changed = %v", doc.Type, doc.Text != in)
	}
	var heads []string
	var code int
	for _, s := range textSections(doc) {
		if s.Kind == Heading {
			heads = append(heads, s.Headings)
		}
		if s.Kind == CodeBlock {
			code++
		}
	}
	want := []string{"Intro", "Intro > Details with style", "Long link title"}
	if !reflect.DeepEqual(heads, want) || code != 1 {
		t.Errorf("headings = %q (code blocks %d), want %q (1)", heads, code, want)
	}
}
