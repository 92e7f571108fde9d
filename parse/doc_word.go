package parse

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// parseOLE extracts a legacy Word 97-2003 .doc (an OLE2 compound file with a
// WordDocument stream). Other compound files (.xls, .ppt, .msg) are
// unsupported_file. The text comes from the piece table; .doc has no real
// pages and its heading styles are not read, so sections carry no Page and
// no heading path except the labels of footnotes, headers and the like.
func parseOLE(ctx context.Context, name string, data []byte, o *Options) (*Document, error) {
	f, err := openCFB(data, o.MaxDecompressedBytes)
	if err != nil {
		return nil, invalid(name, err, "unreadable OLE2 compound file")
	}
	wd, ok, err := f.stream("WordDocument")
	if err != nil {
		return nil, invalid(name, err, "unreadable WordDocument stream")
	}
	if !ok {
		if _, enc := f.find("EncryptedPackage"); enc {
			return nil, unsupported(name, "encrypted Office document")
		}
		return nil, unsupported(name, "OLE2 compound file is not a Word document")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fib, err := readFIB(wd)
	if err != nil {
		if errors.Is(err, errDocUnsupported) {
			return nil, unsupported(name, "%v", err)
		}
		return nil, invalid(name, err, "bad Word file information block")
	}
	tblName := "0Table"
	if fib.table1 {
		tblName = "1Table"
	}
	tbl, ok, err := f.stream(tblName)
	if err == nil && !ok {
		err = errors.New("missing " + tblName + " stream")
	}
	if err != nil {
		return nil, invalid(name, err, "unreadable Word table stream")
	}
	pieces, err := readPieces(tbl, fib, len(wd))
	if err != nil {
		return nil, invalid(name, err, "bad Word piece table")
	}
	var b builder
	b.setLimit(o)
	stories := []struct {
		n     uint32
		label string
	}{
		{fib.ccpText, ""},
		{fib.ccpFtn, "Footnotes"},
		{fib.ccpHdd, "Headers and footers"},
		{fib.ccpMcr, ""}, // unused; skipped below
		{fib.ccpAtn, "Comments"},
		{fib.ccpEdn, "Endnotes"},
		{fib.ccpTxbx, "Text boxes"},
		{fib.ccpHdrTxbx, "Text boxes"},
	}
	cp := uint32(0)
	for i, st := range stories {
		from := cp
		cp += st.n
		if cp < from { // overflow
			return nil, invalid(name, nil, "Word story lengths overflow")
		}
		if i == 3 || st.n == 0 {
			continue
		}
		var path []string
		if st.label != "" {
			path = []string{st.label}
		}
		text := docText(wd, pieces, from, cp)
		for _, p := range strings.Split(text, "\n\n") {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if p = strings.TrimSpace(p); p != "" {
				b.add(p+"\n\n", Section{Kind: Paragraph, Headings: path})
			}
		}
	}
	return b.document("doc", 0), nil
}

// errDocUnsupported marks Word files that are well formed but not readable
// here: Word 6/95, encrypted or obfuscated documents.
var errDocUnsupported = errors.New("unsupported Word document")

// docFIB is what the extractor needs of the File Information Block.
type docFIB struct {
	table1                                     bool // the table stream is 1Table
	ccpText, ccpFtn, ccpHdd, ccpMcr, ccpAtn    uint32
	ccpEdn, ccpTxbx, ccpHdrTxbx, fcClx, lcbClx uint32
}

// readFIB parses the FIB at the start of the WordDocument stream
// ([MS-DOC] 2.5.1).
func readFIB(wd []byte) (docFIB, error) {
	le := binary.LittleEndian
	var fib docFIB
	if len(wd) < 34 {
		return fib, errors.New("WordDocument stream too short")
	}
	if le.Uint16(wd[0:]) != 0xA5EC {
		return fib, errors.New("bad wIdent")
	}
	if nFib := le.Uint16(wd[2:]); nFib < 0x00C1 {
		return fib, errors.Join(errDocUnsupported, errors.New("Word 6/95 format"))
	}
	flags := le.Uint16(wd[0x0A:])
	if flags&0x0100 != 0 || flags&0x8000 != 0 {
		return fib, errors.Join(errDocUnsupported, errors.New("document is encrypted"))
	}
	fib.table1 = flags&0x0200 != 0
	off := 32
	csw := int(le.Uint16(wd[off:]))
	off += 2 + 2*csw
	if off+2 > len(wd) {
		return fib, errors.New("FIB truncated")
	}
	cslw := int(le.Uint16(wd[off:]))
	off += 2
	lw := off
	if cslw < 22 || lw+4*cslw+2 > len(wd) {
		return fib, errors.New("FIB truncated")
	}
	u := func(i int) uint32 { return le.Uint32(wd[lw+4*i:]) }
	fib.ccpText, fib.ccpFtn, fib.ccpHdd, fib.ccpMcr = u(3), u(4), u(5), u(6)
	fib.ccpAtn, fib.ccpEdn, fib.ccpTxbx, fib.ccpHdrTxbx = u(7), u(8), u(9), u(10)
	off = lw + 4*cslw
	cb := int(le.Uint16(wd[off:]))
	off += 2
	const clx = 33 // fcClx is the 34th pair of FibRgFcLcb97
	if cb <= clx || off+8*(clx+1) > len(wd) {
		return fib, errors.New("FIB has no CLX")
	}
	fib.fcClx = le.Uint32(wd[off+8*clx:])
	fib.lcbClx = le.Uint32(wd[off+8*clx+4:])
	return fib, nil
}

// docPiece is one run of text in the WordDocument stream.
type docPiece struct {
	cpStart, cpEnd uint32
	fc             uint32 // byte offset in the stream
	compressed     bool   // 8-bit text, else UTF-16LE
}

// readPieces parses the piece table in the CLX ([MS-DOC] 2.9.38).
func readPieces(tbl []byte, fib docFIB, wdLen int) ([]docPiece, error) {
	le := binary.LittleEndian
	end := uint64(fib.fcClx) + uint64(fib.lcbClx)
	if end > uint64(len(tbl)) {
		return nil, errors.New("CLX outside the table stream")
	}
	clx := tbl[fib.fcClx:end]
	for i := 0; i < len(clx); {
		switch clx[i] {
		case 1: // Prc: property modifiers, skipped
			if i+3 > len(clx) {
				return nil, errors.New("truncated Prc")
			}
			cb := int(int16(le.Uint16(clx[i+1:])))
			if cb < 0 {
				return nil, errors.New("negative Prc size")
			}
			i += 3 + cb
		case 2: // Pcdt
			if i+5 > len(clx) {
				return nil, errors.New("truncated Pcdt")
			}
			lcb := uint64(le.Uint32(clx[i+1:]))
			if uint64(i+5)+lcb > uint64(len(clx)) || lcb < 4 || (lcb-4)%12 != 0 {
				return nil, errors.New("bad PlcPcd size")
			}
			plc := clx[i+5 : i+5+int(lcb)]
			n := int(lcb-4) / 12
			pieces := make([]docPiece, 0, n)
			for k := 0; k < n; k++ {
				p := docPiece{cpStart: le.Uint32(plc[4*k:]), cpEnd: le.Uint32(plc[4*k+4:])}
				if p.cpEnd <= p.cpStart || (k > 0 && p.cpStart < pieces[k-1].cpEnd) {
					return nil, errors.New("piece table CPs out of order")
				}
				fc := le.Uint32(plc[4*(n+1)+8*k+2:])
				p.compressed = fc&0x40000000 != 0
				p.fc = fc & 0x3FFFFFFF
				if p.compressed {
					p.fc /= 2
				}
				// Every character takes at least a byte of the stream, so the
				// text is no longer than the stream even if pieces overlap.
				if uint64(p.cpEnd) > uint64(wdLen) {
					return nil, errors.New("piece table longer than the document")
				}
				pieces = append(pieces, p)
			}
			return pieces, nil
		default:
			return nil, errors.New("bad CLX entry")
		}
	}
	return nil, errors.New("CLX has no piece table")
}

// docText returns the visible text of characters [from, to): field codes
// dropped, field results kept, paragraphs separated by blank lines, table
// cells joined with " | " and rows on lines of their own.
func docText(wd []byte, pieces []docPiece, from, to uint32) string {
	var sb strings.Builder
	sb.Grow(int(min(to-from, 1<<24)))
	var fields []bool             // per open field: true once past its separator
	lastCell, sep := false, false // after a cell mark; a " | " is due
	codes := 0                    // open fields still in their code part
	put := func(r rune) {
		switch r {
		case 0x13:
			fields = append(fields, false)
			codes++
			return
		case 0x14:
			if n := len(fields); n > 0 && !fields[n-1] {
				fields[n-1] = true
				codes--
			}
			return
		case 0x15:
			if n := len(fields); n > 0 {
				if !fields[n-1] {
					codes--
				}
				fields = fields[:n-1]
			}
			return
		}
		if codes > 0 {
			return // inside a field code
		}
		if r == 0x07 {
			if lastCell { // the row end mark after the last cell
				sb.WriteByte('\n')
				lastCell, sep = false, false
			} else {
				lastCell, sep = true, true
			}
			return
		}
		if sep {
			sb.WriteString(" | ")
		}
		lastCell, sep = false, false
		switch {
		case r == 0x0D:
			sb.WriteString("\n\n")
		case r == 0x0B || r == 0x0C || r == 0x0E:
			sb.WriteByte('\n')
		case r == 0x09:
			sb.WriteByte('\t')
		case r == 0x1E:
			sb.WriteByte('-')
		case r < 0x20 || r == 0x1F:
			// Anchors of pictures, notes and objects; soft hyphens.
		default:
			sb.WriteRune(r)
		}
	}
	dec := charmap.Windows1252
	for _, p := range pieces {
		if p.cpEnd <= from || p.cpStart >= to {
			continue
		}
		lo, hi := max(p.cpStart, from), min(p.cpEnd, to)
		n := uint64(hi - lo)
		skip := uint64(lo - p.cpStart)
		if p.compressed {
			start := uint64(p.fc) + skip
			if start+n > uint64(len(wd)) {
				continue
			}
			for _, c := range wd[start : start+n] {
				put(dec.DecodeByte(c))
			}
		} else {
			start := uint64(p.fc) + 2*skip
			if start+2*n > uint64(len(wd)) {
				continue
			}
			u := make([]uint16, n)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(wd[start+2*uint64(i):])
			}
			for i := 0; i < len(u); i++ {
				r := rune(u[i])
				if utf16.IsSurrogate(r) && i+1 < len(u) {
					if rr := utf16.DecodeRune(r, rune(u[i+1])); rr != utf8.RuneError {
						r = rr
						i++
					}
				}
				put(r)
			}
		}
	}
	return sb.String()
}
