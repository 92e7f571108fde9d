package store

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
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

// citationMarker matches [1], [1, 3], [2-4], [^1], 【1】, OpenAI's
// 【4:0†source】 and [chunk_12].
var citationMarker = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\[\^?(\d+(?:\s*[-–,]\s*\d+)*)\]|【(?:\d+:)?(\d+)(?:†[^】]*)?】|\[(chunk_\d+)\]`)
})

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
	for _, m := range citationMarker().FindAllStringSubmatchIndex(answer, -1) {
		marker := answer[m[0]:m[1]]
		var ns []int
		switch {
		case m[2] >= 0:
			ns = expandNumbers(answer[m[2]:m[3]])
		case m[4] >= 0:
			n, _ := strconv.Atoi(answer[m[4]:m[5]])
			ns = []int{n}
		default:
			if s, ok := byChunk[answer[m[6]:m[7]]]; ok {
				cites = append(cites, Citation{Marker: marker, Start: m[0], End: m[1], Source: s})
			} else {
				unresolved = append(unresolved, marker)
			}
			continue
		}
		for _, n := range ns {
			if n < 1 || n > len(sources) {
				unresolved = append(unresolved, marker)
				continue
			}
			cites = append(cites, Citation{Marker: marker, Start: m[0], End: m[1], Source: sources[n-1]})
		}
	}
	return cites, unresolved
}

// expandNumbers reads "1, 3" or "2-4" (at most 50 numbers).
func expandNumbers(s string) []int {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
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
