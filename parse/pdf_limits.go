package parse

import (
	"bytes"
	"compress/zlib"
	"errors"
	"io"
)

// errPDFLimit reports a stream over Options.MaxCompressionRatio or a file
// over Options.MaxDecompressedBytes.
var errPDFLimit = errors.New("decompression limit")

// checkPDFStreams enforces o.MaxDecompressedBytes and o.MaxCompressionRatio
// before PDFium, which has no such limits of its own, sees the file: it
// inflates every Flate-encoded stream of data (each filter of a chain, up
// to four), counting and discarding the output, and fails with errPDFLimit
// at the first stream that expands more than the ratio allows (plus 1 MiB
// of slack for tiny streams) or when the file's total passes the byte
// limit. A stream that does not inflate cleanly is left to PDFium. The cost
// is one inflate of each Flate stream, with constant memory (the inflaters
// are reset, not reallocated, per stream): a few per cent of PDFium's time. It is a
// screen, not a parser: parsePDF lets the exact reader judge a file it
// flags.
func checkPDFStreams(data []byte, o *Options) error {
	var total int64
	buf := make([]byte, 32<<10)
	var zs [4]io.ReadCloser // one inflater per filter of a chain, reset per stream
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("stream"))
		if i < 0 {
			return nil
		}
		kw := off + i
		off = kw + len("stream")
		if kw >= 3 && string(data[kw-3:kw]) == "end" {
			continue
		}
		start := off
		if start < len(data) && data[start] == '\r' {
			start++
		}
		if start < len(data) && data[start] == '\n' {
			start++
		}
		// The stream dictionary: from the last "<<" not far before.
		from := max(0, kw-4096)
		d := data[from:kw]
		if j := bytes.LastIndex(d, []byte("obj")); j >= 0 {
			d = d[j:]
		}
		n := min(bytes.Count(d, []byte("/FlateDecode")), 4)
		end := bytes.Index(data[start:], []byte("endstream"))
		if end < 0 {
			end = len(data) - start
		}
		in := data[start : start+end]
		off = start + end
		if n == 0 {
			continue
		}
		var r io.Reader = bytes.NewReader(in)
		ok := true
		for k := range n {
			if zs[k] == nil {
				zr, err := zlib.NewReader(r)
				if err != nil {
					ok = false
					break
				}
				zs[k] = zr
			} else if err := zs[k].(zlib.Resetter).Reset(r, nil); err != nil {
				ok = false
				break
			}
			r = zs[k]
		}
		if !ok {
			continue
		}
		allow := int64(len(in))*int64(o.MaxCompressionRatio) + ratioGrace
		var out int64
		for {
			k, err := r.Read(buf)
			out += int64(k)
			if out > allow || total+out > o.MaxDecompressedBytes {
				return errPDFLimit
			}
			if err != nil {
				break
			}
		}
		total += out
	}
}
