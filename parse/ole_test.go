package parse

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
)

// cfbStreamSpec is one stream of a test compound file.
type cfbStreamSpec struct {
	name string
	data []byte
}

// buildCFB writes a version 3 compound file (512-byte sectors) holding the
// streams in its root storage, following [MS-CFB]: streams under 4096 bytes
// go to the mini stream.
func buildCFB(streams ...cfbStreamSpec) []byte {
	const ss, mss = 512, 64
	le := binary.LittleEndian
	var fat []uint32
	var body []byte // sectors after the header, in order
	alloc := func(data []byte) uint32 {
		if len(data) == 0 {
			return cfbEndOfChain
		}
		n := (len(data) + ss - 1) / ss
		first := uint32(len(fat))
		for i := 0; i < n; i++ {
			next := uint32(len(fat) + 1)
			if i == n-1 {
				next = cfbEndOfChain
			}
			fat = append(fat, next)
		}
		sec := make([]byte, n*ss)
		copy(sec, data)
		body = append(body, sec...)
		return first
	}
	var mini []byte
	var miniFAT []uint32
	starts := make([]uint32, len(streams))
	for i, s := range streams {
		if len(s.data) >= 4096 {
			starts[i] = alloc(s.data)
			continue
		}
		n := (len(s.data) + mss - 1) / mss
		starts[i] = uint32(len(miniFAT))
		for k := 0; k < n; k++ {
			next := uint32(len(miniFAT) + 1)
			if k == n-1 {
				next = cfbEndOfChain
			}
			miniFAT = append(miniFAT, next)
		}
		chunk := make([]byte, n*mss)
		copy(chunk, s.data)
		mini = append(mini, chunk...)
	}
	miniStart := alloc(mini)
	mf := make([]byte, 4*len(miniFAT))
	for i, v := range miniFAT {
		le.PutUint32(mf[4*i:], v)
	}
	miniFATStart := alloc(mf)
	dir := make([]byte, 128*(len(streams)+1))
	entry := func(i int, name string, typ byte, right, child, start uint32, size uint64) {
		e := dir[128*i:]
		u := utf16.Encode([]rune(name))
		for k, c := range u {
			le.PutUint16(e[2*k:], c)
		}
		le.PutUint16(e[64:], uint16(2*len(u)+2))
		e[66], e[67] = typ, 1
		le.PutUint32(e[68:], cfbNoStream)
		le.PutUint32(e[72:], right)
		le.PutUint32(e[76:], child)
		le.PutUint32(e[116:], start)
		le.PutUint64(e[120:], size)
	}
	child := uint32(cfbNoStream)
	if len(streams) > 0 {
		child = 1
	}
	entry(0, "Root Entry", cfbRoot, cfbNoStream, child, miniStart, uint64(len(mini)))
	for i, s := range streams {
		right := uint32(i + 2)
		if i == len(streams)-1 {
			right = cfbNoStream
		}
		entry(i+1, s.name, cfbStream, right, cfbNoStream, starts[i], uint64(len(s.data)))
	}
	dirStart := alloc(dir)
	// The FAT covers every sector, its own included.
	nFAT := 1
	for (len(fat)+nFAT+127)/128 > nFAT {
		nFAT++
	}
	fatStart := uint32(len(fat))
	for i := 0; i < nFAT; i++ {
		fat = append(fat, cfbFATSect)
	}
	fatBytes := make([]byte, nFAT*ss)
	for i := range fatBytes {
		fatBytes[i] = 0xFF
	}
	for i, v := range fat {
		le.PutUint32(fatBytes[4*i:], v)
	}
	body = append(body, fatBytes...)
	hdr := make([]byte, ss)
	copy(hdr, cfbSignature)
	le.PutUint16(hdr[0x18:], 0x3E)
	le.PutUint16(hdr[0x1A:], 3)
	le.PutUint16(hdr[0x1C:], 0xFFFE)
	le.PutUint16(hdr[0x1E:], 9)
	le.PutUint16(hdr[0x20:], 6)
	le.PutUint32(hdr[0x2C:], uint32(nFAT))
	le.PutUint32(hdr[0x30:], dirStart)
	le.PutUint32(hdr[0x38:], 4096)
	le.PutUint32(hdr[0x3C:], miniFATStart)
	le.PutUint32(hdr[0x40:], uint32((len(mf)+ss-1)/ss))
	le.PutUint32(hdr[0x44:], cfbEndOfChain)
	for i := 0; i < 109; i++ {
		v := uint32(cfbFree)
		if i < nFAT {
			v = fatStart + uint32(i)
		}
		le.PutUint32(hdr[0x4C+4*i:], v)
	}
	return append(hdr, body...)
}

// docPieceSpec is one piece of a test document's text.
type docPieceSpec struct {
	text       string
	compressed bool // stored as Windows-1252 bytes, else UTF-16LE
}

// buildDoc writes a Word 97 .doc whose text is the pieces in order; the
// first ccpText characters are the main story, the next ccpFtn footnotes.
// With pad, the WordDocument stream is padded past the mini stream cutoff.
func buildDoc(t testing.TB, ccpFtn int, pad bool, pieces ...docPieceSpec) []byte {
	t.Helper()
	le := binary.LittleEndian
	const textAt = 1024
	wd := make([]byte, textAt)
	le.PutUint16(wd[0:], 0xA5EC)
	le.PutUint16(wd[2:], 0x00C1)
	le.PutUint16(wd[0x0A:], 0x0200) // fWhichTblStm: 1Table
	le.PutUint16(wd[32:], 14)       // csw
	le.PutUint16(wd[62:], 22)       // cslw
	le.PutUint16(wd[152:], 0x5D)    // cbRgFcLcb
	var cps []uint32
	var fcs []uint32
	cp := 0
	for _, p := range pieces {
		cps = append(cps, uint32(cp))
		fc := uint32(len(wd))
		if p.compressed {
			for _, r := range p.text {
				if r > 0x7F {
					t.Fatalf("compressed test pieces must be ASCII, got %q", r)
				}
				wd = append(wd, byte(r))
			}
			fcs = append(fcs, fc*2|0x40000000)
			cp += len(p.text)
		} else {
			u := utf16.Encode([]rune(p.text))
			for _, c := range u {
				wd = le.AppendUint16(wd, c)
			}
			fcs = append(fcs, fc)
			cp += len(u)
		}
	}
	cps = append(cps, uint32(cp))
	le.PutUint32(wd[64+12:], uint32(cp-ccpFtn)) // ccpText
	le.PutUint32(wd[64+16:], uint32(ccpFtn))    // ccpFtn
	if pad {
		wd = append(wd, make([]byte, 5000)...)
	}
	// Table stream: a Prc to skip, then the piece table.
	tbl := []byte{1, 2, 0, 0xAA, 0xBB, 2}
	plc := make([]byte, 0, 4*len(cps)+8*len(fcs))
	for _, c := range cps {
		plc = le.AppendUint32(plc, c)
	}
	for _, fc := range fcs {
		plc = append(plc, 0, 0)
		plc = le.AppendUint32(plc, fc)
		plc = append(plc, 0, 0)
	}
	tbl = le.AppendUint32(tbl, uint32(len(plc)))
	tbl = append(tbl, plc...)
	le.PutUint32(wd[154+33*8:], 0)                  // fcClx
	le.PutUint32(wd[154+33*8+4:], uint32(len(tbl))) // lcbClx
	return buildCFB(
		cfbStreamSpec{"\x01CompObj", []byte("not read")},
		cfbStreamSpec{"WordDocument", wd},
		cfbStreamSpec{"1Table", tbl},
	)
}

func TestDOC(t *testing.T) {
	text := []docPieceSpec{
		{"Report\r", true},
		{"Price: 10€ for 世界 \U0001F600.\r", false},
		{"Page \x13 PAGE \\* MERGEFORMAT \x147\x15 of it.\r", true},
		{"Name\x07Age\x07\x07Ann\x077\x07\x07", true},
		{"After the table.\r", true},
		{"\x02 The note.\r", true},
	}
	ftn := len("\x02 The note.\r")
	want := "Report\n\nPrice: 10€ for 世界 \U0001F600.\n\nPage 7 of it.\n\nName | Age\nAnn | 7\nAfter the table.\n\nThe note.\n\n"
	for _, pad := range []bool{false, true} {
		data := buildDoc(t, ftn, pad, text...)
		doc, err := parseOLE(context.Background(), "t.doc", data, officeOpts())
		if err != nil {
			t.Fatalf("parseOLE(pad=%v) = %v", pad, err)
		}
		checkOfficeDoc(t, doc)
		if doc.Type != "doc" || doc.Text != want {
			t.Errorf("parseOLE(pad=%v) = %q %q, want doc %q", pad, doc.Type, doc.Text, want)
		}
		last := doc.Sections[len(doc.Sections)-1]
		if doc.Text[last.Start:last.End] != "The note.\n\n" || len(last.Headings) != 1 || last.Headings[0] != "Footnotes" {
			t.Errorf("last section = %q %q, want the footnote", doc.Text[last.Start:last.End], last.Headings)
		}
	}
}

func TestOLENotWord(t *testing.T) {
	data := buildCFB(cfbStreamSpec{"Workbook", bytes.Repeat([]byte{1}, 5000)})
	_, err := parseOLE(context.Background(), "x.xls", data, officeOpts())
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("parseOLE(xls) = %v, want unsupported_file", err)
	}
}

func TestOLEHostile(t *testing.T) {
	le := binary.LittleEndian
	good := buildDoc(t, 0, true, docPieceSpec{"Hello world.\r", true})
	mutate := func(f func(b []byte) []byte) []byte {
		b := bytes.Clone(good)
		return f(b)
	}
	// Locate the FAT sector from the header to build loops.
	fatSec := int(le.Uint32(good[0x4C:]))
	fatOff := (fatSec + 1) * 512
	dirSec := int(le.Uint32(good[0x30:]))
	tests := map[string][]byte{
		"empty":                   nil,
		"header only":             good[:512],
		"truncated":               good[:len(good)/2],
		"bad shift":               mutate(func(b []byte) []byte { le.PutUint16(b[0x1E:], 20); return b }),
		"huge FAT":                mutate(func(b []byte) []byte { le.PutUint32(b[0x2C:], 1<<30); return b }),
		"FAT sector out of range": mutate(func(b []byte) []byte { le.PutUint32(b[0x4C:], 1<<20); return b }),
		"directory loop": mutate(func(b []byte) []byte {
			le.PutUint32(b[fatOff+4*dirSec:], uint32(dirSec))
			return b
		}),
		"chain loop": mutate(func(b []byte) []byte {
			// Every sector points at sector 0: streams loop forever.
			for i := 0; i < fatSec; i++ {
				le.PutUint32(b[fatOff+4*i:], 0)
			}
			return b
		}),
		"bad wIdent": buildCFB(cfbStreamSpec{"WordDocument", bytes.Repeat([]byte{7}, 5000)}),
		"no table": buildCFB(cfbStreamSpec{"WordDocument", func() []byte {
			b := make([]byte, 5000)
			le.PutUint16(b[0:], 0xA5EC)
			le.PutUint16(b[2:], 0x00C1)
			le.PutUint16(b[32:], 14)
			le.PutUint16(b[62:], 22)
			le.PutUint16(b[152:], 0x5D)
			return b
		}()}),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			doc, err := parseOLE(context.Background(), name, data, officeOpts())
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("parseOLE = %v, %v; want invalid_file", doc, err)
			}
			t.Log(err)
		})
	}
}

func TestDOCPieceTableBounds(t *testing.T) {
	// Pieces that point past the stream or overlap are rejected or skipped,
	// never read out of bounds.
	fib := docFIB{lcbClx: 5 + 4*3 + 8*2}
	le := binary.LittleEndian
	tbl := []byte{2}
	tbl = le.AppendUint32(tbl, 4*3+8*2)
	for _, cp := range []uint32{0, 10, 5} { // out of order
		tbl = le.AppendUint32(tbl, cp)
	}
	tbl = append(tbl, make([]byte, 16)...)
	if _, err := readPieces(tbl, fib, 100); err == nil {
		t.Errorf("readPieces(out of order CPs) = nil error")
	}
	p := []docPiece{{cpStart: 0, cpEnd: 50, fc: 90}}
	if got := docText(make([]byte, 100), p, 0, 50); got != "" {
		t.Errorf("docText(piece past the end) = %q, want empty", got)
	}
	if !strings.Contains(docText([]byte("abc"), []docPiece{{0, 3, 0, true}}, 0, 3), "abc") {
		t.Errorf("docText(compressed) lacks abc")
	}
}

func TestOLEEncryptedOOXML(t *testing.T) {
	// Password-protected docx/xlsx/pptx files are compound files holding an
	// EncryptedPackage stream.
	data := buildCFB(cfbStreamSpec{"EncryptionInfo", []byte{4, 0, 4, 0}}, cfbStreamSpec{"EncryptedPackage", bytes.Repeat([]byte{9}, 5000)})
	_, err := parseOLE(context.Background(), "secret.docx", data, officeOpts())
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("parseOLE(encrypted package) = %v, want unsupported_file about encryption", err)
	}
}
