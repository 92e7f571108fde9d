package lexical

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Text fields, in the order of fieldStats entries.
const (
	fieldText = iota
	fieldTitle
	fieldFilename
	fieldHeading
	numFields
)

var fieldNames = [numFields]string{"text", "title", "filename", "heading"}

const (
	// statsKey is the bleve internal key holding the encoded stats.
	statsKey = "quarry.lexical.stats"
	// lengthsField is the stored-only field holding a document's analyzed
	// field lengths, read back when the document is replaced or deleted.
	lengthsField = "_len"
	statsVersion = 1
)

// fieldStat is the exact collection statistics BM25 needs for one field.
type fieldStat struct {
	Docs   uint64 // documents with at least one token in the field
	Tokens uint64 // sum of their field lengths in tokens
}

// stats is what Apply records with every batch.
// INVARIANT: for every field, Docs and Tokens equal the sums over the live
// documents of the index snapshot the stats are stored in.
type stats struct {
	Seq    uint64
	Fields [numFields]fieldStat
}

type lengths [numFields]uint64

func (s *stats) add(l lengths, sign int) {
	for f, n := range l {
		if n == 0 {
			continue
		}
		if sign > 0 {
			s.Fields[f].Docs++
			s.Fields[f].Tokens += n
		} else {
			s.Fields[f].Docs--
			s.Fields[f].Tokens -= n
		}
	}
}

func (s *stats) encode() []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64*(1+2*numFields)+4)
	b = append(b, statsVersion)
	b = binary.AppendUvarint(b, s.Seq)
	b = binary.AppendUvarint(b, numFields)
	for _, f := range s.Fields {
		b = binary.AppendUvarint(b, f.Docs)
		b = binary.AppendUvarint(b, f.Tokens)
	}
	return b
}

func decodeStats(b []byte) (stats, error) {
	var s stats
	if len(b) == 0 {
		return s, nil // a new index
	}
	bad := func(what string) (stats, error) {
		return stats{}, fmt.Errorf("%w: stats: %s", ErrCorrupt, what)
	}
	if b[0] != statsVersion {
		return bad(fmt.Sprintf("unknown version %d", b[0]))
	}
	b = b[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	var ok bool
	if s.Seq, ok = next(); !ok {
		return bad("truncated")
	}
	nf, ok := next()
	if !ok || nf != numFields {
		return bad("field count")
	}
	for i := range s.Fields {
		d, ok1 := next()
		t, ok2 := next()
		if !ok1 || !ok2 || t < d {
			return bad("field stats")
		}
		s.Fields[i] = fieldStat{Docs: d, Tokens: t}
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return s, nil
}

func (l lengths) encode() []byte {
	var sb strings.Builder
	for i, n := range l {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatUint(n, 10))
	}
	return []byte(sb.String())
}

func decodeLengths(b []byte) (lengths, error) {
	var l lengths
	parts := strings.Split(string(b), ",")
	if len(parts) != numFields {
		return l, fmt.Errorf("%w: document lengths %q", ErrCorrupt, b)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return l, fmt.Errorf("%w: document lengths %q", ErrCorrupt, b)
		}
		l[i] = n
	}
	return l, nil
}
