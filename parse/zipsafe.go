package parse

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"path"
	"strings"
)

// ratioGrace is how many decompressed bytes an entry may produce before the
// compression ratio is enforced: small, highly repetitive XML parts compress
// far better than MaxCompressionRatio and are harmless.
const ratioGrace = 1 << 20

// zipArchive reads the entries of an untrusted zip archive within the limits
// of an Options: entry count, total decompressed bytes, per-entry compression
// ratio (measured while inflating, never taken from the declared sizes) and
// safe entry names.
//
// It is not safe for concurrent use.
type zipArchive struct {
	name  string // the file name given to Parse, for errors
	files map[string]*zip.File
	o     *Options
	total int64 // decompressed bytes read so far, over all entries
}

// openZip checks the archive's directory and returns a reader for it.
// Every failure is an invalid_file *Error.
func openZip(name string, data []byte, o *Options) (*zipArchive, error) {
	// The central directory is read whole by archive/zip; check the declared
	// entry count first so that a 10-million-entry directory fails fast.
	if n, ok := zipDeclaredEntries(data); ok && n > uint64(o.MaxZipEntries) {
		return nil, invalid(name, nil, "zip declares %d entries, more than the limit of %d", n, o.MaxZipEntries)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, invalid(name, err, "unreadable zip archive")
	}
	if len(zr.File) > o.MaxZipEntries {
		return nil, invalid(name, nil, "zip has %d entries, more than the limit of %d", len(zr.File), o.MaxZipEntries)
	}
	za := &zipArchive{name: name, files: make(map[string]*zip.File, len(zr.File)), o: o}
	for _, f := range zr.File {
		if !safeEntryName(f.Name) {
			return nil, invalid(name, nil, "zip entry name %q is unsafe", f.Name)
		}
		if strings.HasSuffix(f.Name, "/") {
			continue // a directory
		}
		// OPC part names compare case-insensitively; two entries with the
		// same name would let different readers see different content.
		key := strings.ToLower(f.Name)
		if _, dup := za.files[key]; dup {
			return nil, invalid(name, nil, "zip has duplicate entry %q", f.Name)
		}
		za.files[key] = f
	}
	return za, nil
}

// zipDeclaredEntries returns the entry count in the end of central directory
// record, if one is found.
func zipDeclaredEntries(data []byte) (uint64, bool) {
	const eocdLen = 22
	if len(data) < eocdLen {
		return 0, false
	}
	lo := len(data) - eocdLen - 0xffff
	if lo < 0 {
		lo = 0
	}
	i := bytes.LastIndex(data[lo:], []byte("PK\x05\x06"))
	if i < 0 || lo+i+eocdLen > len(data) {
		return 0, false
	}
	rec := data[lo+i:]
	n := uint64(binary.LittleEndian.Uint16(rec[10:12]))
	if n != 0xffff {
		return n, true
	}
	// ZIP64: the locator sits just before the EOCD record.
	loc := lo + i - 20
	if loc < 0 || string(data[loc:loc+4]) != "PK\x06\x07" {
		return 0, false
	}
	off := binary.LittleEndian.Uint64(data[loc+8 : loc+16])
	if off > uint64(len(data)) || off+56 > uint64(len(data)) || string(data[off:off+4]) != "PK\x06\x06" {
		return 0, false
	}
	return binary.LittleEndian.Uint64(data[off+32 : off+40]), true
}

// safeEntryName rejects names that would escape a directory if the archive
// were extracted: absolute paths, drive letters, ".." elements, NUL bytes.
func safeEntryName(n string) bool {
	if n == "" || strings.ContainsRune(n, 0) {
		return false
	}
	n = strings.ReplaceAll(n, `\`, "/")
	if strings.HasPrefix(n, "/") || (len(n) >= 2 && n[1] == ':') {
		return false
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

// has reports whether the archive holds a part named p (no leading slash).
func (za *zipArchive) has(p string) bool {
	_, ok := za.files[strings.ToLower(strings.TrimPrefix(p, "/"))]
	return ok
}

// read returns the decompressed content of part p. A missing part is
// reported with errPartMissing so callers can treat optional parts as absent.
func (za *zipArchive) read(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, ok := za.files[strings.ToLower(strings.TrimPrefix(p, "/"))]
	if !ok {
		return nil, errPartMissing
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, invalid(za.name, err, "zip entry %s", f.Name)
	}
	cr := &countReader{r: raw}
	var src io.Reader
	switch f.Method {
	case zip.Store:
		src = cr
	case zip.Deflate:
		fr := flate.NewReader(cr)
		defer fr.Close()
		src = fr
	default:
		return nil, invalid(za.name, nil, "zip entry %s uses unsupported compression method %d", f.Name, f.Method)
	}
	budget := za.o.MaxDecompressedBytes - za.total
	var buf bytes.Buffer
	if d := f.UncompressedSize64; d > 0 && d <= uint64(budget) && d <= uint64(za.o.MaxCompressionRatio)*max(f.CompressedSize64, 1<<10) {
		// The declared size is only a hint, bounded by the budget; it
		// spares the buffer's doublings (twice the part in memory).
		buf.Grow(int(d))
	}
	chunk := make([]byte, 32<<10)
	h := crc32.NewIEEE()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, rerr := src.Read(chunk)
		if n > 0 {
			out := int64(buf.Len() + n)
			if out > budget {
				return nil, invalid(za.name, nil, "zip decompresses to more than the %d-byte limit", za.o.MaxDecompressedBytes)
			}
			if out > ratioGrace && out > int64(za.o.MaxCompressionRatio)*cr.n {
				return nil, invalid(za.name, nil, "zip entry %s exceeds the compression ratio limit of %d", f.Name, za.o.MaxCompressionRatio)
			}
			buf.Write(chunk[:n])
			h.Write(chunk[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, invalid(za.name, rerr, "zip entry %s is corrupt", f.Name)
		}
	}
	if f.CRC32 != 0 && h.Sum32() != f.CRC32 {
		return nil, invalid(za.name, nil, "zip entry %s fails its checksum", f.Name)
	}
	za.total += int64(buf.Len())
	return buf.Bytes(), nil
}

// errPartMissing reports that an archive has no such part.
var errPartMissing = errors.New("part missing")

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// relationship is one entry of an OPC .rels part.
type relationship struct {
	id, typ, target string // target resolved to a part name; "" if external
}

// relsPath returns the relationships part of part p ("" for the package).
func relsPath(p string) string {
	dir, file := path.Split(p)
	return dir + "_rels/" + file + ".rels"
}

// readRels reads the relationships of part p ("" for the package). A missing
// rels part is no relationships.
func (za *zipArchive) readRels(ctx context.Context, p string) ([]relationship, error) {
	data, err := za.read(ctx, relsPath(p))
	if err == errPartMissing {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	root, err := parseXMLTree(ctx, za.name, data, za.o)
	if err != nil {
		return nil, err
	}
	var rels []relationship
	base := path.Dir(p)
	for _, r := range root.kids {
		if r.name != "Relationship" {
			continue
		}
		rel := relationship{id: r.attr("Id"), typ: r.attr("Type")}
		if !strings.EqualFold(r.attr("TargetMode"), "External") {
			rel.target = resolvePart(base, r.attr("Target"))
		}
		rels = append(rels, rel)
	}
	return rels, nil
}

// resolvePart resolves an OPC relationship target against a base directory.
func resolvePart(base, target string) string {
	if target == "" {
		return ""
	}
	if i := strings.IndexAny(target, "#?"); i >= 0 {
		target = target[:i]
	}
	var p string
	if strings.HasPrefix(target, "/") {
		p = path.Clean(target)
	} else {
		p = path.Join("/", base, target)
	}
	return strings.TrimPrefix(p, "/")
}

// relType reports whether a relationship type ends with the given kind
// ("officeDocument", "slide", ...), which matches both the transitional and
// the strict namespaces.
func relType(typ, kind string) bool {
	return strings.HasSuffix(typ, "/"+kind)
}
