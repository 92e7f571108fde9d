package parse

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// zipRaw builds an archive entry by entry with full control of the header.
func zipRaw(t testing.TB, build func(zw *zip.Writer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	build(zw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestHostileZips(t *testing.T) {
	docx := testDOCX(t, wPara("", "hello"))
	bomb := zipRaw(t, func(zw *zip.Writer) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "word/document.xml", Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		zeros := make([]byte, 1<<20)
		for i := 0; i < 4; i++ { // 4 MiB of zeros: a ratio near 1000
			w.Write(zeros)
		}
		w2, _ := zw.Create("_rels/.rels")
		w2.Write([]byte(pkgRels("word/document.xml").body))
	})
	many := manyEntries(100000)
	named := func(name string) []byte {
		return zipRaw(t, func(zw *zip.Writer) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("x"))
		})
	}
	deep := testDOCX(t, strings.Repeat("<w:p>", 100000)+strings.Repeat("</w:p>", 100000))
	unclosed := testDOCX(t, "<w:p><w:r><w:t>open")
	dup := zipRaw(t, func(zw *zip.Writer) {
		for _, n := range []string{"word/document.xml", "Word/Document.xml"} {
			w, _ := zw.Create(n)
			w.Write([]byte("<x/>"))
		}
	})
	// A stored entry whose content does not match its checksum.
	badCRC := bytes.Replace(officeZipStored(t, zipPart{"_rels/.rels", "<Relationships/>"}), []byte("<Relationships/>"), []byte("<Relationships!>"), 1)
	tests := []struct {
		name string
		data []byte
		opts Options
		want string // in the error message
	}{
		{"bomb", bomb, Options{}, "ratio"},
		{"total limit", docx, Options{MaxDecompressedBytes: 100}, "byte limit"},
		{"100k entries", many, Options{}, "entries"},
		{"70k entries, count wraps to 4464", manyEntries(70000), Options{}, "zip has 70000 entries"},
		{"few entries allowed", docx, Options{MaxZipEntries: 2}, "entries"},
		{"dotdot", named("../../etc/passwd"), Options{}, "unsafe"},
		{"inner dotdot", named("word/../../x.xml"), Options{}, "unsafe"},
		{"backslash dotdot", named(`..\evil.xml`), Options{}, "unsafe"},
		{"absolute", named("/etc/passwd"), Options{}, "unsafe"},
		{"drive", named("C:/x.xml"), Options{}, "unsafe"},
		{"duplicate", dup, Options{}, "duplicate"},
		{"deep XML", deep, Options{MaxCompressionRatio: 1 << 20}, "nests deeper"},
		{"unclosed XML", unclosed, Options{}, "malformed XML"},
		{"truncated", docx[:len(docx)/2], Options{}, "zip"},
		{"truncated directory", docx[:len(docx)-10], Options{}, "zip"},
		{"empty", nil, Options{}, "zip"},
		{"not a zip", []byte("PK\x03\x04 but nothing else"), Options{}, "zip"},
		{"bad checksum", badCRC, Options{}, "checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts.withDefaults()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			doc, err := parseZip(ctx, tt.name, tt.data, &o)
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != CodeInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseZip = %v, %v; want an invalid_file *Error about %q", doc, err, tt.want)
			}
		})
	}
}

// manyEntries writes a valid archive of n empty stored entries by hand:
// archive/zip's writer takes seconds for 100,000 entries under -race.
func manyEntries(n int) []byte {
	le := binary.LittleEndian
	var local, central []byte
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%d", i)
		off := uint32(len(local))
		local = le.AppendUint32(local, 0x04034b50)
		local = append(local, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0) // version, flags, method, time, date
		local = append(local, make([]byte, 12)...)           // crc, sizes
		local = le.AppendUint16(local, uint16(len(name)))
		local = append(local, 0, 0)
		local = append(local, name...)
		central = le.AppendUint32(central, 0x02014b50)
		central = append(central, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0) // versions, flags, method, time, date
		central = append(central, make([]byte, 12)...)                  // crc, sizes
		central = le.AppendUint16(central, uint16(len(name)))
		central = append(central, make([]byte, 12)...) // extra, comment, disk, attrs
		central = le.AppendUint32(central, off)
		central = append(central, name...)
	}
	out := append(local, central...)
	out = le.AppendUint32(out, 0x06054b50)
	out = append(out, 0, 0, 0, 0)
	// Like writers without ZIP64, store the counts modulo 65536.
	out = le.AppendUint16(out, uint16(n))
	out = le.AppendUint16(out, uint16(n))
	out = le.AppendUint32(out, uint32(len(central)))
	out = le.AppendUint32(out, uint32(len(local)))
	return append(out, 0, 0)
}

// officeZipStored builds an archive of uncompressed entries.
func officeZipStored(t testing.TB, parts ...zipPart) []byte {
	return zipRaw(t, func(zw *zip.Writer) {
		for _, p := range parts {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: p.name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(p.body))
		}
	})
}

func TestZipRatioMeasured(t *testing.T) {
	// The ratio is measured on the bytes actually inflated, so a lying
	// central directory (huge declared compressed size) does not help.
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestSpeed)
	fw.Write(bytes.Repeat([]byte("a"), 4<<20))
	fw.Close()
	data := zipRaw(t, func(zw *zip.Writer) {
		w, err := zw.CreateRaw(&zip.FileHeader{
			Name: "x.xml", Method: zip.Deflate,
			CompressedSize64: uint64(comp.Len()), UncompressedSize64: 10,
		})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(comp.Bytes())
	})
	o := (&Options{}).withDefaults()
	za, err := openZip("lying.zip", data, &o)
	if err != nil {
		t.Fatal(err)
	}
	_, err = za.read(context.Background(), "x.xml")
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ratio") {
		t.Errorf("read = %v, want a compression ratio error", err)
	}
	o.MaxCompressionRatio = 1 << 20
	if _, err := za.read(context.Background(), "x.xml"); err != nil {
		t.Errorf("read with a high ratio limit = %v, want nil", err)
	}
}

func TestSafeEntryName(t *testing.T) {
	for name, want := range map[string]bool{
		"word/document.xml":   true,
		"[Content_Types].xml": true,
		"a/..b/c":             true,
		"":                    false,
		"../x":                false,
		"a/../../x":           false,
		`a\..\x`:              false,
		"/abs":                false,
		`\abs`:                false,
		"c:x":                 false,
		"nul\x00":             false,
	} {
		if got := safeEntryName(name); got != want {
			t.Errorf("safeEntryName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestResolvePart(t *testing.T) {
	for _, tt := range []struct{ base, target, want string }{
		{"word", "styles.xml", "word/styles.xml"},
		{"ppt/slides", "../notesSlides/n1.xml", "ppt/notesSlides/n1.xml"},
		{"ppt", "/ppt/slides/s.xml", "ppt/slides/s.xml"},
		{".", "word/document.xml", "word/document.xml"},
		{"a", "../../../x.xml", "x.xml"},
		{"a", "b.xml#frag", "a/b.xml"},
	} {
		if got := resolvePart(tt.base, tt.target); got != tt.want {
			t.Errorf("resolvePart(%q, %q) = %q, want %q", tt.base, tt.target, got, tt.want)
		}
	}
}

func TestXMLContextCanceled(t *testing.T) {
	body := strings.Repeat(wPara("", "text"), 5000)
	data := testDOCX(t, body)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := parseZip(ctx, "c.docx", data, officeOpts())
	if !errors.Is(err, context.Canceled) {
		t.Errorf("parseZip(canceled) = %v, want context.Canceled", err)
	}
}
