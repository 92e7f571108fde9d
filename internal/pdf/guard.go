// PATCHED (quarry): limits, cancellation and extra filters for the vendored
// reader. Everything in this file is new; the rest of the package is
// github.com/ledongthuc/pdf with the patches marked PATCHED.

package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

const (
	maxObjects      = 1 << 22  // object numbers in one file
	maxResolveDepth = 64       // nested indirect-object loads
	maxStringLen    = 16 << 20 // bytes in one string, name or token
	maxElems        = 1 << 20  // array and dictionary elements under one top-level object
	maxStack        = 1 << 16  // operands on the content-stream stack
	maxColumns      = 1 << 20  // predictor row width
)

// Options bounds the work a Reader may do. Zero fields mean no limit.
type Options struct {
	Context              context.Context // cancels reading; checked on every stream read
	MaxDecompressedBytes int64           // total decoded stream bytes for the Reader
	MaxCompressionRatio  int             // decoded bytes per encoded byte, per stream
	Passwords            []string        // user or owner passwords to try after the empty one
}

// ErrLimit is returned (wrapped) when a limit in Options is exceeded.
var ErrLimit = errors.New("pdf: limit exceeded")

// guard meters stream decoding. The first error it sees is sticky, so a
// caller that recovers from a panic can tell a limit from malformed input.
type guard struct {
	ctx   context.Context
	max   int64
	ratio int64
	total int64
	err   error
}

// Err returns the sticky error of r's limits: a context error or an error
// wrapping ErrLimit, or nil.
func (r *Reader) Err() error {
	if r == nil || r.g == nil {
		return nil
	}
	return r.g.err
}

func (r *Reader) init(opt *Options) {
	r.g = &guard{ctx: context.Background()}
	if opt != nil {
		if opt.Context != nil {
			r.g.ctx = opt.Context
		}
		r.g.max = opt.MaxDecompressedBytes
		r.g.ratio = int64(opt.MaxCompressionRatio)
	}
	r.cache = map[objptr]object{}
	r.objstms = map[objptr]*objstm{}
	r.fonts = map[objptr]*textFont{}
}

func (g *guard) check() error {
	if g.err == nil {
		if err := g.ctx.Err(); err != nil {
			g.err = err
		}
	}
	return g.err
}

func (g *guard) fail(err error) error {
	if g.err == nil {
		g.err = err
	}
	return g.err
}

// meter wraps a decoded stream of in encoded bytes.
func (g *guard) meter(rd io.Reader, in int64, filtered bool) io.Reader {
	m := &meteredReader{g: g, r: rd, allow: -1}
	if filtered && g.ratio > 0 {
		m.allow = g.ratio * in
		if m.allow < 64<<10 {
			m.allow = 64 << 10 // tiny streams may legitimately expand a lot
		}
	}
	return m
}

type meteredReader struct {
	g     *guard
	r     io.Reader
	n     int64
	allow int64 // -1: no ratio limit
}

func (m *meteredReader) Read(p []byte) (int, error) {
	if err := m.g.check(); err != nil {
		return 0, err
	}
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := m.r.Read(p)
	m.n += int64(n)
	m.g.total += int64(n)
	if m.allow >= 0 && m.n > m.allow {
		return n, m.g.fail(fmt.Errorf("%w: stream expands more than %d times", ErrLimit, m.g.ratio))
	}
	if m.g.max > 0 && m.g.total > m.g.max {
		return n, m.g.fail(fmt.Errorf("%w: more than %d decompressed bytes", ErrLimit, m.g.max))
	}
	return n, err
}

func panicError(x any) error {
	if e, ok := x.(error); ok {
		return e
	}
	return fmt.Errorf("%v", x)
}

// Recover turns a panic from this package into an error, for callers that
// use the panicking accessors directly: defer pdf.Recover(&err).
func Recover(err *error) {
	if x := recover(); x != nil {
		*err = panicError(x)
	}
}

// predictor applies the PNG or TIFF predictor named in param, if any.
func predictor(rd io.Reader, param Value) io.Reader {
	pred := param.Key("Predictor").Int64()
	if pred <= 1 {
		return rd
	}
	colors := param.Key("Colors").Int64()
	if colors <= 0 {
		colors = 1
	}
	bpc := param.Key("BitsPerComponent").Int64()
	if bpc <= 0 {
		bpc = 8
	}
	columns := param.Key("Columns").Int64()
	if columns <= 0 {
		columns = 1
	}
	if colors > 32 || bpc > 16 || columns > maxColumns {
		return &errorReadCloser{fmt.Errorf("bad predictor parameters")}
	}
	bpp := int((colors*bpc + 7) / 8)
	row := int((colors*bpc*columns + 7) / 8)
	if pred == 2 {
		if bpc != 8 {
			return &errorReadCloser{fmt.Errorf("unsupported TIFF predictor with %d bits", bpc)}
		}
		return &pngReader{r: rd, tiff: true, bpp: bpp, prev: make([]byte, row), cur: make([]byte, row)}
	}
	if pred < 10 {
		return &errorReadCloser{fmt.Errorf("unsupported predictor %d", pred)}
	}
	return &pngReader{r: rd, bpp: bpp, prev: make([]byte, row), cur: make([]byte, row+1)}
}

// pngReader undoes PNG row predictors (a filter-type byte per row) or the
// TIFF horizontal predictor.
type pngReader struct {
	r         io.Reader
	tiff      bool
	bpp       int
	prev, cur []byte
	pend      []byte
}

func (p *pngReader) Read(b []byte) (int, error) {
	for len(p.pend) == 0 {
		if _, err := io.ReadFull(p.r, p.cur); err != nil {
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			return 0, err
		}
		if p.tiff {
			for i := p.bpp; i < len(p.cur); i++ {
				p.cur[i] += p.cur[i-p.bpp]
			}
			p.pend = p.cur
			continue
		}
		ft, row := p.cur[0], p.cur[1:]
		for i := range row {
			var a, c byte
			if i >= p.bpp {
				a = row[i-p.bpp]
				c = p.prev[i-p.bpp]
			}
			up := p.prev[i]
			switch ft {
			case 0:
			case 1:
				row[i] += a
			case 2:
				row[i] += up
			case 3:
				row[i] += byte((int(a) + int(up)) / 2)
			case 4:
				row[i] += paeth(a, up, c)
			default:
				return 0, fmt.Errorf("malformed PNG predictor row type %d", ft)
			}
		}
		copy(p.prev, row)
		p.pend = p.prev
	}
	n := copy(b, p.pend)
	p.pend = p.pend[n:]
	return n, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

type asciiHexReader struct {
	r    io.Reader
	buf  [512]byte
	half int // -1 when no pending nibble
	set  bool
	eod  bool
}

func (h *asciiHexReader) Read(p []byte) (int, error) {
	if !h.set {
		h.half, h.set = -1, true
	}
	n := 0
	for n == 0 {
		if h.eod {
			if h.half >= 0 && len(p) > 0 {
				p[0] = byte(h.half << 4)
				h.half = -1
				return 1, io.EOF
			}
			return 0, io.EOF
		}
		max := len(p) * 2
		if max > len(h.buf) {
			max = len(h.buf)
		}
		m, err := h.r.Read(h.buf[:max])
		for _, c := range h.buf[:m] {
			if c == '>' {
				h.eod = true
				break
			}
			d := unhex(c)
			if d < 0 {
				if isSpace(c) {
					continue
				}
				return n, fmt.Errorf("malformed ASCIIHex data")
			}
			if h.half < 0 {
				h.half = d
			} else {
				p[n] = byte(h.half<<4 | d)
				n++
				h.half = -1
			}
		}
		if err != nil {
			if err == io.EOF {
				h.eod = true
				continue
			}
			return n, err
		}
	}
	return n, nil
}

type runLengthReader struct {
	r    io.Reader
	pend []byte
	buf  [128]byte
	eod  bool
}

func (rl *runLengthReader) Read(p []byte) (int, error) {
	for len(rl.pend) == 0 {
		if rl.eod {
			return 0, io.EOF
		}
		var hdr [1]byte
		if _, err := io.ReadFull(rl.r, hdr[:]); err != nil {
			return 0, io.EOF
		}
		switch l := int(hdr[0]); {
		case l == 128:
			rl.eod = true
		case l < 128:
			m, err := io.ReadFull(rl.r, rl.buf[:l+1])
			rl.pend = rl.buf[:m]
			if err != nil {
				rl.eod = true
			}
		default:
			var c [1]byte
			if _, err := io.ReadFull(rl.r, c[:]); err != nil {
				return 0, io.EOF
			}
			n := 257 - l
			for i := 0; i < n; i++ {
				rl.buf[i] = c[0]
			}
			rl.pend = rl.buf[:n]
		}
	}
	n := copy(p, rl.pend)
	rl.pend = rl.pend[n:]
	return n, nil
}

// lzwReader decodes PDF LZW data: MSB-first codes of 9 to 12 bits, 256
// clears, 257 ends; with early change the code width grows one code early.
type lzwReader struct {
	r     io.Reader
	early int
	bits  uint32
	nbits uint
	width uint
	dict  [][]byte
	prev  []byte
	pend  []byte
	eod   bool
	in    [1]byte
}

func newLZWReader(r io.Reader, early bool) *lzwReader {
	l := &lzwReader{r: r, width: 9}
	if early {
		l.early = 1
	}
	l.reset()
	return l
}

func (l *lzwReader) reset() {
	l.dict = l.dict[:0]
	for i := 0; i < 256; i++ {
		l.dict = append(l.dict, []byte{byte(i)})
	}
	l.dict = append(l.dict, nil, nil)
	l.width = 9
	l.prev = nil
}

func (l *lzwReader) code() (int, bool) {
	for l.nbits < l.width {
		if _, err := io.ReadFull(l.r, l.in[:]); err != nil {
			return 0, false
		}
		l.bits = l.bits<<8 | uint32(l.in[0])
		l.nbits += 8
	}
	c := int(l.bits>>(l.nbits-l.width)) & (1<<l.width - 1)
	l.nbits -= l.width
	return c, true
}

func (l *lzwReader) Read(p []byte) (int, error) {
	for len(l.pend) == 0 {
		if l.eod {
			return 0, io.EOF
		}
		c, ok := l.code()
		if !ok || c == 257 {
			l.eod = true
			continue
		}
		if c == 256 {
			l.reset()
			continue
		}
		var out []byte
		switch {
		case c < len(l.dict) && l.dict[c] != nil:
			out = l.dict[c]
		case c == len(l.dict) && l.prev != nil:
			out = append(append([]byte{}, l.prev...), l.prev[0])
		default:
			return 0, fmt.Errorf("malformed LZW data")
		}
		if l.prev != nil && len(l.dict) < 4096 {
			e := make([]byte, len(l.prev)+1)
			copy(e, l.prev)
			e[len(l.prev)] = out[0]
			l.dict = append(l.dict, e)
		}
		l.prev = out
		if n := len(l.dict) + l.early; n >= 1<<l.width && l.width < 12 {
			l.width++
		}
		l.pend = out
	}
	n := copy(p, l.pend)
	l.pend = l.pend[n:]
	return n, nil
}

// ObjectID returns the number and generation of the indirect object v was
// loaded from, or of the nearest enclosing one for a direct value.
func (v Value) ObjectID() (id uint32, gen uint16) { return v.ptr.id, v.ptr.gen }

// Repair rebuilds the object table by scanning the file, for files whose
// cross-reference data opened but points at the wrong places.
func (r *Reader) Repair() (err error) {
	defer Recover(&err)
	if err := r.g.check(); err != nil {
		return err
	}
	trailer := r.trailer
	r.xref, r.trailer, r.trailerptr = nil, nil, objptr{}
	r.cache = map[objptr]object{}
	r.objstms = map[objptr]*objstm{}
	r.fonts = map[objptr]*textFont{}
	if err := r.reconstruct(); err != nil {
		return err
	}
	if r.trailer["Encrypt"] == nil && trailer["Encrypt"] != nil {
		r.trailer["Encrypt"] = trailer["Encrypt"]
	}
	return nil
}

// DecodeLZW decodes PDF LZW data, with or without early change.
func DecodeLZW(data []byte, early bool) ([]byte, error) {
	return io.ReadAll(newLZWReader(bytes.NewReader(data), early))
}
