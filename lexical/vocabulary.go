package lexical

import "fmt"

// Term is one entry of the term dictionary.
type Term struct {
	Text    string // the analyzed (lower-cased, stemmed) term
	DocFreq uint64 // documents whose text contains it (deleted ones count until segments merge)
}

// Vocabulary returns up to limit terms of the text field's dictionary that
// start with prefix, in byte order ("" lists from the start; limit <= 0
// means no limit). Terms are analyzed forms: "running" is indexed as "run",
// CJK text as bigrams. It is meant for spelling correction and query
// suggestions: compare an analyzed query term against the dictionary.
func (ix *Index) Vocabulary(prefix string, limit int) ([]Term, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, _, err := ix.reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	d, err := r.FieldDictPrefix(fieldNames[fieldText], []byte(prefix))
	if err != nil {
		return nil, fmt.Errorf("lexical: vocabulary: %w", translate(err))
	}
	defer d.Close()
	var out []Term
	for limit <= 0 || len(out) < limit {
		e, err := d.Next()
		if err != nil {
			return nil, fmt.Errorf("lexical: vocabulary: %w", translate(err))
		}
		if e == nil {
			break
		}
		out = append(out, Term{Text: e.Term, DocFreq: e.Count})
	}
	return out, nil
}
