package store

import (
	"strings"
	"testing"
)

func citeResults() *SearchResults {
	return &SearchResults{Data: []SearchResult{
		{FileID: "file-a", Filename: "a.pdf", Content: []ChunkResult{
			{Text: "alpha", ChunkID: "chunk_7", PageStart: 2, PageEnd: 3, Headings: []string{"Intro"}},
			{Text: "beta", ChunkID: "chunk_9", PageStart: 4, PageEnd: 4},
		}},
		{FileID: "file-b", Filename: "b.md", Content: []ChunkResult{{Text: "gamma", ChunkID: "chunk_3"}}},
	}}
}

func TestCitations(t *testing.T) {
	r := citeResults()
	for _, tc := range []struct {
		answer     string
		want       []string // chunk ids cited, in order
		unresolved int
	}{
		{"Keys rotate [1].", []string{"chunk_7"}, 0},
		{"See [1, 3] and [2].", []string{"chunk_7", "chunk_3", "chunk_9"}, 0},
		{"Range [1-3].", []string{"chunk_7", "chunk_9", "chunk_3"}, 0},
		{"Footnote[^2].", []string{"chunk_9"}, 0},
		{"Fullwidth【3】 and OpenAI style 【4:1†b.md】.", []string{"chunk_3", "chunk_7"}, 0},
		{"By id [chunk_9].", []string{"chunk_9"}, 0},
		{"Invented [7] and [chunk_99].", nil, 2},
		{"No markers, only [brackets].", nil, 0},
	} {
		cites, unresolved := r.Citations(tc.answer)
		var got []string
		for _, c := range cites {
			got = append(got, c.ChunkID)
			if tc.answer[c.Start:c.End] != c.Marker {
				t.Errorf("Citations(%q): range %d-%d is %q, not the marker %q", tc.answer, c.Start, c.End, tc.answer[c.Start:c.End], c.Marker)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") || len(unresolved) != tc.unresolved {
			t.Errorf("Citations(%q) = %v, unresolved %v; want %v, %d unresolved", tc.answer, got, unresolved, tc.want, tc.unresolved)
		}
	}
	cites, _ := r.Citations("x [2]")
	if c := cites[0]; c.FileID != "file-a" || c.Filename != "a.pdf" || c.PageStart != 4 || c.N != 2 {
		t.Errorf("citation carries %+v", c)
	}
}

func TestFormatContext(t *testing.T) {
	got := citeResults().FormatContext()
	for _, want := range []string{"[1] a.pdf, pages 2-3, Intro\nalpha", "[2] a.pdf, page 4\nbeta", "[3] b.md\ngamma"} {
		if !strings.Contains(got, want) {
			t.Errorf("FormatContext() lacks %q:\n%s", want, got)
		}
	}
}
