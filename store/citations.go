package store

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Source is one numbered chunk of a search result: what an answer cites.
// Sources are numbered from 1 in result order (files by score, chunks by
// score within a file), the order FormatContext presents them in.
type Source struct {
	N        int    `json:"n"`
	FileID   string `json:"file_id"`
	Filename string `json:"filename"`
	ChunkResult
}

// Sources returns the results' chunks, numbered from 1.
func (r *SearchResults) Sources() []Source {
	var out []Source
	for _, d := range r.Data {
		for _, c := range d.Content {
			out = append(out, Source{N: len(out) + 1, FileID: d.FileID, Filename: d.Filename, ChunkResult: c})
		}
	}
	return out
}

// FormatContext renders the sources for a language model's prompt, each
// under a "[N]" label with its file, pages and heading path, so that the
// answer can cite them as [N].
func (r *SearchResults) FormatContext() string {
	var sb strings.Builder
	for _, s := range r.Sources() {
		s.WriteSource(&sb, s.N, s.Filename)
	}
	return sb.String()
}

// WriteSource writes c for a language model's prompt: "[n] filename", its
// pages and heading path on one line, then its text and a blank line.
func (c *ChunkResult) WriteSource(sb *strings.Builder, n int, filename string) {
	fmt.Fprintf(sb, "[%d] %s", n, filename)
	if c.PageStart > 0 {
		if c.PageEnd > c.PageStart {
			fmt.Fprintf(sb, ", pages %d-%d", c.PageStart, c.PageEnd)
		} else {
			fmt.Fprintf(sb, ", page %d", c.PageStart)
		}
	}
	if len(c.Headings) > 0 {
		fmt.Fprintf(sb, ", %s", strings.Join(c.Headings, " > "))
	}
	sb.WriteString("\n")
	sb.WriteString(strings.TrimSpace(c.Text))
	sb.WriteString("\n\n")
}

// Citation is one source cited by a marker in an answer.
type Citation struct {
	// Marker is the marker's text and [Start, End) its byte range in the
	// answer; a marker citing several sources yields one Citation each.
	Marker     string `json:"marker"`
	Start, End int    `json:"-"`
	Source
}

// CitationMarker is one citation marker found in a model's answer: its
// byte range [Start, End) and what it names, source numbers counting from 1
// (see SearchResults.Sources) or a chunk id.
type CitationMarker struct {
	Start, End int
	Numbers    []int
	ChunkID    string
}

// citationMarker matches [1], [1, 3], [1; 3], [^1], [^1, ^2], [2-4], 【1】,
// OpenAI's 【4†source】 and 【4:1†source】 (message 4, source 1), and
// [chunk_12], with bounded lengths.
var citationMarker = regexp.MustCompile(`\[\^?(\d{1,6}(?:\s*[-–,;]\s*\^?\d{1,6}){0,19})\]|【(?:\d{1,6}:)?(\d{1,6})(?:†[^】]{0,100})?】|\[(chunk_\d{1,20})\]`)

// CitationMarkers finds the citation markers in answer, in order. It is the
// one marker grammar of the engine: Citations and the filesearch tool both
// read answers with it.
func CitationMarkers(answer string) []CitationMarker {
	var out []CitationMarker
	for _, m := range citationMarker.FindAllStringSubmatchIndex(answer, -1) {
		cm := CitationMarker{Start: m[0], End: m[1]}
		switch {
		case m[2] >= 0:
			cm.Numbers = expandNumbers(answer[m[2]:m[3]])
		case m[4] >= 0:
			n, _ := strconv.Atoi(answer[m[4]:m[5]])
			cm.Numbers = []int{n}
		default:
			cm.ChunkID = answer[m[6]:m[7]]
		}
		out = append(out, cm)
	}
	return out
}

// Citations finds the citation markers in answer and resolves each to the
// source it names, in order of appearance. Numbers count sources from 1
// (see Sources); [chunk_N] names a chunk id. Markers naming no source are
// returned in unresolved, so a caller can flag invented citations.
func (r *SearchResults) Citations(answer string) (cites []Citation, unresolved []string) {
	sources := r.Sources()
	byChunk := make(map[string]Source, len(sources))
	for _, s := range sources {
		byChunk[s.ChunkID] = s
	}
	for _, m := range CitationMarkers(answer) {
		marker := answer[m.Start:m.End]
		if m.ChunkID != "" {
			if s, ok := byChunk[m.ChunkID]; ok {
				cites = append(cites, Citation{Marker: marker, Start: m.Start, End: m.End, Source: s})
			} else {
				unresolved = append(unresolved, marker)
			}
			continue
		}
		for _, n := range m.Numbers {
			if n < 1 || n > len(sources) {
				unresolved = append(unresolved, marker)
				continue
			}
			cites = append(cites, Citation{Marker: marker, Start: m.Start, End: m.End, Source: sources[n-1]})
		}
	}
	return cites, unresolved
}

// expandNumbers reads "1, 3", "1; ^3" or "2-4" (at most 50 numbers).
func expandNumbers(s string) []int {
	var out []int
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		part = strings.TrimPrefix(strings.TrimSpace(part), "^")
		lo, hi, isRange := strings.Cut(strings.ReplaceAll(part, "–", "-"), "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a {
				continue
			}
		}
		for n := a; n <= b && len(out) < 50; n++ {
			out = append(out, n)
		}
	}
	return out
}
