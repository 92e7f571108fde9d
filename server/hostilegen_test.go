package server

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"io"
	"math/rand"
	"strings"
)

// Generators of hostile files for TestHostile. A bomb is written without
// compressing its expanded size: one segment of periodic content is
// compressed once and its compressed bytes repeated. Each copy ends with a
// sync flush and refers to nothing before it, so the copies concatenate
// into one valid deflate stream whose expansion ratio is the segment's
// (about 158:1, under parse's 200:1 limit).

// periodic is about size bytes of format filled with random letter pairs,
// repeating a 4 KiB block: deflate compresses it about 158:1.
func periodic(format string, size int) []byte {
	r := rand.New(rand.NewSource(1))
	var blk bytes.Buffer
	for blk.Len() < 4<<10 {
		fmt.Fprintf(&blk, format, 'a'+r.Intn(26), 'a'+r.Intn(26))
	}
	return bytes.Repeat(blk.Bytes(), max(1, size/blk.Len()))
}

// deflated is data compressed alone, ending in a sync flush (final: a
// final block) so that copies of it concatenate.
func deflated(data []byte, final bool) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	if final {
		w.Close()
	} else {
		w.Flush()
	}
	return b.Bytes()
}

// bomb is a deflate stream of head, n copies of seg, and tail, with the
// expanded size and the sums a container needs.
type bomb struct {
	head, seg, tail    []byte // expanded
	n                  int
	zhead, zseg, ztail []byte // compressed
}

func newBomb(head string, seg []byte, n int, tail string) *bomb {
	b := &bomb{head: []byte(head), seg: seg, n: n, tail: []byte(tail)}
	b.zhead, b.zseg, b.ztail = deflated(b.head, false), deflated(seg, false), deflated(b.tail, true)
	return b
}

func (b *bomb) size() int64 { return int64(len(b.head)+len(b.tail)) + int64(b.n)*int64(len(b.seg)) }
func (b *bomb) compressedSize() int64 {
	return int64(len(b.zhead)+len(b.ztail)) + int64(b.n)*int64(len(b.zseg))
}

func (b *bomb) writeTo(w io.Writer) error {
	if _, err := w.Write(b.zhead); err != nil {
		return err
	}
	for range b.n {
		if _, err := w.Write(b.zseg); err != nil {
			return err
		}
	}
	_, err := w.Write(b.ztail)
	return err
}

func (b *bomb) crc32() uint32 {
	c := crc32.ChecksumIEEE(b.head)
	for range b.n {
		c = crc32.Update(c, crc32.IEEETable, b.seg)
	}
	return crc32.Update(c, crc32.IEEETable, b.tail)
}

func (b *bomb) adler32() uint32 {
	h := adler32.New()
	h.Write(b.head)
	for range b.n {
		h.Write(b.seg)
	}
	h.Write(b.tail)
	return h.Sum32()
}

// zpart is an entry of a generated zip: plain bytes, or a bomb.
type zpart struct {
	name string
	data string
	bomb *bomb
}

func writeZip(w io.Writer, parts []zpart) error {
	zw := zip.NewWriter(w)
	for _, p := range parts {
		if p.bomb == nil {
			fw, err := zw.Create(p.name)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(fw, p.data); err != nil {
				return err
			}
			continue
		}
		fw, err := zw.CreateRaw(&zip.FileHeader{Name: p.name, Method: zip.Deflate, CRC32: p.bomb.crc32(),
			CompressedSize64: uint64(p.bomb.compressedSize()), UncompressedSize64: uint64(p.bomb.size())})
		if err != nil {
			return err
		}
		if err := p.bomb.writeTo(fw); err != nil {
			return err
		}
	}
	return zw.Close()
}

const (
	ctTypes = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>%s</Types>`
	relsTmpl = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">%s</Relationships>`
	officeDocRel = `http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument`
)

// genDocxBomb is a .docx whose word/document.xml expands to about size
// bytes of small paragraphs at about 158:1.
func genDocxBomb(size int64) func(io.Writer) error {
	return func(w io.Writer) error {
		seg := periodic(`<w:p><w:r><w:t>%c%c</w:t></w:r></w:p>`, 1<<20)
		doc := newBomb(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`,
			seg, int(size/int64(len(seg))), `</w:body></w:document>`)
		return writeZip(w, []zpart{
			{name: "[Content_Types].xml", data: fmt.Sprintf(ctTypes, `<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>`)},
			{name: "_rels/.rels", data: fmt.Sprintf(relsTmpl, `<Relationship Id="rId1" Type="`+officeDocRel+`" Target="word/document.xml"/>`)},
			{name: "word/document.xml", bomb: doc},
		})
	}
}

// genPptxSlides is a .pptx of n slides of periodic paragraphs, each about
// size bytes at about 158:1.
func genPptxSlides(n, size int) func(io.Writer) error {
	return func(w io.Writer) error {
		const pNS = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`
		var over, rels, ids strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&over, `<Override PartName="/ppt/slides/slide%d.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/>`, i)
			fmt.Fprintf(&rels, `<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide" Target="slides/slide%d.xml"/>`, i, i)
			fmt.Fprintf(&ids, `<p:sldId id="%d" r:id="rId%d"/>`, 255+i, i)
		}
		parts := []zpart{
			{name: "[Content_Types].xml", data: fmt.Sprintf(ctTypes, `<Override PartName="/ppt/presentation.xml" ContentType="application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/>`+over.String())},
			{name: "_rels/.rels", data: fmt.Sprintf(relsTmpl, `<Relationship Id="rId1" Type="`+officeDocRel+`" Target="ppt/presentation.xml"/>`)},
			{name: "ppt/presentation.xml", data: `<?xml version="1.0" encoding="UTF-8"?><p:presentation ` + pNS + `><p:sldIdLst>` + ids.String() + `</p:sldIdLst></p:presentation>`},
			{name: "ppt/_rels/presentation.xml.rels", data: fmt.Sprintf(relsTmpl, rels.String())},
		}
		slide := newBomb(`<?xml version="1.0" encoding="UTF-8"?><p:sld `+pNS+`><p:cSld><p:spTree><p:sp><p:txBody>`,
			periodic(`<a:p><a:r><a:t>%c%c</a:t></a:r></a:p>`, size), 1, `</p:txBody></p:sp></p:spTree></p:cSld></p:sld>`)
		for i := 1; i <= n; i++ {
			parts = append(parts, zpart{name: fmt.Sprintf("ppt/slides/slide%d.xml", i), bomb: slide})
		}
		return writeZip(w, parts)
	}
}

// genTextOperatorPDF is a PDF of pages whose Flate content streams each
// expand to about perPage bytes of text-showing operators (Tj) at about
// 150:1: about pages*perPage bytes of operators in all.
func genTextOperatorPDF(pages, perPage int) func(io.Writer) error {
	return func(w io.Writer) error {
		content := newBomb("BT /F1 10 Tf 72 720 Td 12 TL\n", periodic("(%c%c) Tj T*\n", perPage), 1, "ET\n")
		var z bytes.Buffer
		z.Write([]byte{0x78, 0xda}) // zlib header, best compression
		content.writeTo(&z)
		binary.Write(&z, binary.BigEndian, content.adler32())
		stream := z.Bytes()

		var b bytes.Buffer
		var offs []int
		obj := func(body string) int {
			offs = append(offs, b.Len())
			fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), body)
			return len(offs)
		}
		b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
		obj("<< /Type /Catalog /Pages 2 0 R >>")
		var kids strings.Builder
		for i := range pages {
			fmt.Fprintf(&kids, "%d 0 R ", 4+2*i)
		}
		obj(fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", pages, kids.String()))
		obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
		for range pages {
			// Each page has its own copy of the stream: the expansion is
			// per page, not one object read once.
			page := obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", len(offs)+2))
			offs = append(offs, b.Len())
			fmt.Fprintf(&b, "%d 0 obj\n<< /Length %d /Filter /FlateDecode >>\nstream\n", page+1, len(stream))
			b.Write(stream)
			b.WriteString("\nendstream\nendobj\n")
		}
		xref := b.Len()
		fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
		for _, o := range offs {
			fmt.Fprintf(&b, "%010d 00000 n \n", o)
		}
		fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
		_, err := w.Write(b.Bytes())
		return err
	}
}

// genZeros writes n NUL bytes.
func genZeros(n int64) func(io.Writer) error {
	return func(w io.Writer) error {
		buf := make([]byte, 1<<20)
		for ; n > 0; n -= int64(len(buf)) {
			if _, err := w.Write(buf[:min(int64(len(buf)), n)]); err != nil {
				return err
			}
		}
		return nil
	}
}

// genWords writes about n bytes of English-looking words.
func genWords(n int64) func(io.Writer) error {
	return func(w io.Writer) error {
		words := strings.Fields("the river engine turns a mill wheel while water runs over old stone under bridges of iron and oak")
		r := rand.New(rand.NewSource(2))
		var b bytes.Buffer
		for b.Len() < 1<<20 {
			b.WriteString(words[r.Intn(len(words))])
			if r.Intn(12) == 0 {
				b.WriteString(".\n")
			} else {
				b.WriteByte(' ')
			}
		}
		blk := b.Bytes()
		for ; n > 0; n -= int64(len(blk)) {
			if _, err := w.Write(blk[:min(int64(len(blk)), n)]); err != nil {
				return err
			}
		}
		return nil
	}
}
