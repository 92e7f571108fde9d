package filesearch

import (
	"strings"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/store"
)

// Citation is one source cited in an answer.
type Citation struct {
	// Index is where the citation stands in Answer.Text, in characters
	// (code points): the end of the statement the marker followed.
	Index         int    `json:"index"`
	Handle        int    `json:"handle"`
	FileID        string `json:"file_id"`
	Filename      string `json:"filename"`
	VectorStoreID string `json:"vector_store_id"`
	ChunkID       string `json:"chunk_id"`
	// CharStart and CharEnd are the chunk's range in the file's text, in
	// code points; PageStart and PageEnd its pages (0 when unpaged).
	CharStart int      `json:"char_start"`
	CharEnd   int      `json:"char_end"`
	PageStart int      `json:"page_start,omitempty"`
	PageEnd   int      `json:"page_end,omitempty"`
	Headings  []string `json:"headings,omitempty"`
}

// Answer is a model's answer with its markers resolved.
type Answer struct {
	// Text is the answer with every resolved marker (and the spaces
	// before it) removed; markers that name no shown source stay.
	Text      string     `json:"text"`
	Citations []Citation `json:"citations"`
	// Unresolved lists markers, or numbers inside markers, that name no
	// source shown to the model: invented citations, dropped.
	Unresolved []string `json:"unresolved,omitempty"`
	// Fallback is set when the answer cites no shown source although
	// sources were shown: Citations is empty, and a caller should present
	// the sources as consulted, not as cited.
	Fallback bool `json:"fallback,omitempty"`
}

// Cite resolves the markers in answer against the sources this Tool has
// shown. Every citation names a shown source and an index inside
// Answer.Text.
func (t *Tool) Cite(answer string) Answer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return cite(answer, t.byHandle)
}

// Cite resolves the markers in answer against sources, as Tool.Cite does:
// for a later turn that searches no more but may cite what earlier turns
// showed (see Tool.Sources).
func Cite(answer string, sources []Source) Answer {
	byHandle := make(map[int]*Source, len(sources))
	for i := range sources {
		byHandle[sources[i].Handle] = &sources[i]
	}
	return cite(answer, byHandle)
}

func cite(answer string, byHandle map[int]*Source) Answer {
	if !utf8.ValidString(answer) {
		answer = strings.ToValidUTF8(answer, "\uFFFD")
	}
	var (
		sb    strings.Builder
		ans   Answer
		last  int // end of the last marker copied past
		runes int // code points written to sb
	)
	for _, m := range store.CitationMarkers(answer) {
		var hits []*Source
		for _, h := range m.Numbers { // a [chunk_N] marker names no handle: it stays as text
			if s, ok := byHandle[h]; ok {
				hits = append(hits, s)
			} else {
				ans.Unresolved = append(ans.Unresolved, answer[m.Start:m.End])
			}
		}
		if len(hits) == 0 {
			continue // not a citation of ours: the text stays
		}
		before := strings.TrimRight(answer[last:m.Start], " \t")
		sb.WriteString(before)
		runes += utf8.RuneCountInString(before)
		last = m.End
		for _, s := range hits {
			ans.Citations = append(ans.Citations, Citation{
				Index: runes, Handle: s.Handle, FileID: s.FileID, Filename: s.Filename, VectorStoreID: s.VectorStoreID,
				ChunkID: s.ChunkID, CharStart: s.CharStart, CharEnd: s.CharEnd, PageStart: s.PageStart, PageEnd: s.PageEnd,
				Headings: s.Headings,
			})
		}
	}
	sb.WriteString(answer[last:])
	ans.Text = sb.String()
	ans.Fallback = len(ans.Citations) == 0 && len(byHandle) > 0
	return ans
}
