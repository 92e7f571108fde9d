package ann

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"unsafe"
)

// On-disk format of HNSW, version 2, little-endian throughout:
//
//	header   magic[8] version dim metric M efC efS (u32 each) seed slots live tombs (u64 each)
//	         entry u32, top i32, seq u64, flags u32, crc32c u32 (of the bytes before it)
//	sections meta (ids u64 × slots, levels u8 × slots, states u8 × slots),
//	         vectors (f32 × slots × dim),
//	         [quantizer (f32 × (dim centres + 1 scale)), codes (i8 × slots × dim)]
//	         layer 0 (u32 × slots × (1+2M)), upper layers (u32 × Σ levels × (1+M));
//	         each is a u64 byte length, the payload and a crc32c u32 of the payload.
//
// flags: bit 0 Config.Quantize, bit 1 the quantizer is trained; the two
// bracketed sections are present only when bit 1 is set. Version 1 is
// version 2 without the flags word and without quantization; ReadHNSW reads
// both. Flat files are version 1.
//
// Lengths are recomputed from the header and must match; every count is
// checked before use. An array is allocated at its full size only when the
// stream is known to hold it (a file, a bytes.Reader); otherwise it grows
// as bytes arrive. Either way a lying header costs at most what the stream
// holds.
const (
	hnswMagic    = "QRYHNSW\x00"
	flatMagic    = "QRYFLAT\x00"
	flatVersion  = 1
	hnswVersion  = 2
	hnswHeaderV1 = 8 + 6*4 + 4*8 + 4 + 4 + 8 + 4
	hnswHeader   = hnswHeaderV1 + 4 // version 2: flags
	flagQuantize = 1
	flagTrained  = 2
	flatHeader   = 8 + 3*4 + 2*8
	readChunk    = 1 << 22 // bytes: the first allocation of a section, then doubling
	maxEf        = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

type elem interface {
	~int8 | ~uint8 | ~uint32 | ~uint64 | ~float32
}

func asBytes[T elem](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}

// swapBytes reverses each element's bytes in place (big-endian hosts only).
func swapBytes[T elem](s []T) {
	var z T
	size := int(unsafe.Sizeof(z))
	if size == 1 {
		return
	}
	b := asBytes(s)
	for i := 0; i < len(b); i += size {
		slices.Reverse(b[i : i+size])
	}
}

type countWriter struct {
	w   *bufio.Writer
	n   int64
	err error
}

func (c *countWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

// writeSection writes the u64 length, the payload of each part, and the
// crc32c of the payload.
func writeSection[T elem](cw *countWriter, parts ...[]T) {
	var total uint64
	for _, p := range parts {
		total += uint64(len(asBytes(p)))
	}
	cw.write(binary.LittleEndian.AppendUint64(nil, total))
	crc := crc32.New(castagnoli)
	for _, p := range parts {
		if !littleEndian {
			p = slices.Clone(p)
			swapBytes(p)
		}
		b := asBytes(p)
		crc.Write(b)
		cw.write(b)
	}
	cw.write(binary.LittleEndian.AppendUint32(nil, crc.Sum32()))
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// readErr turns a short read into ErrCorrupt.
func readErr(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return corrupt("%s: truncated", what)
	}
	return fmt.Errorf("ann: read %s: %w", what, err)
}

// source is the stream a graph is read from, with the number of bytes
// known to remain in it (-1 when unknown), so that a section the stream
// can hold is allocated once at its final size.
type source struct {
	r    io.Reader
	left int64
}

// newSource wraps r. The bytes left are known for an *os.File (its size
// past the current offset) and for readers with a Len method, such as
// *bytes.Reader.
func newSource(r io.Reader) *source {
	s := &source{r: r, left: -1}
	switch v := r.(type) {
	case *os.File:
		fi, err1 := v.Stat()
		off, err2 := v.Seek(0, io.SeekCurrent)
		if err1 == nil && err2 == nil && fi.Mode().IsRegular() {
			s.left = max(0, fi.Size()-off)
		}
		s.r = bufio.NewReaderSize(v, 1<<16) // large sections bypass the buffer
	case interface{ Len() int }:
		s.left = int64(v.Len())
	}
	return s
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.left >= 0 {
		s.left = max(0, s.left-int64(n))
	}
	return n, err
}

// readN reads n elements: in one allocation when the source is known to
// hold them, else growing the slice as bytes arrive, so that a lying
// count costs at most what the stream holds.
func readN[T elem](r *source, n int, crc hash.Hash32, what string) ([]T, error) {
	var z T
	size := int(unsafe.Sizeof(z))
	var out []T
	if r.left >= 0 && int64(n) <= r.left/int64(size) {
		out = make([]T, 0, n)
	} else {
		out = make([]T, 0, min(n, readChunk/size))
	}
	for len(out) < n {
		step := min(n-len(out), max(cap(out)-len(out), readChunk/size, len(out)))
		at := len(out)
		out = slices.Grow(out, step)[:at+step]
		b := asBytes(out[at:])
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, readErr(what, err)
		}
		crc.Write(b)
	}
	if !littleEndian {
		swapBytes(out)
	}
	return out, nil
}

// readSection reads a section of the expected element counts.
func readSection[T elem](r *source, what string, counts ...int) ([][]T, error) {
	var lb [8]byte
	if _, err := io.ReadFull(r, lb[:]); err != nil {
		return nil, readErr(what, err)
	}
	var z T
	var want uint64
	for _, c := range counts {
		want += uint64(c) * uint64(unsafe.Sizeof(z))
	}
	if got := binary.LittleEndian.Uint64(lb[:]); got != want {
		return nil, corrupt("%s: section of %d bytes, want %d", what, got, want)
	}
	crc := crc32.New(castagnoli)
	out := make([][]T, len(counts))
	for i, c := range counts {
		s, err := readN[T](r, c, crc, what)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	var cb [4]byte
	if _, err := io.ReadFull(r, cb[:]); err != nil {
		return nil, readErr(what, err)
	}
	if got := binary.LittleEndian.Uint32(cb[:]); got != crc.Sum32() {
		return nil, corrupt("%s: checksum %08x, want %08x", what, got, crc.Sum32())
	}
	return out, nil
}

// WriteTo streams the graph in the versioned, checksummed format that
// ReadHNSW loads, with the sequence number of SetSeq. It holds an exclusive
// lock while it writes: searches and inserts wait.
func (h *HNSW) WriteTo(w io.Writer) (int64, error) {
	if h.cfgErr != nil {
		return 0, h.cfgErr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.n
	h.epMu.Lock()
	entry, top := h.entry, h.top
	h.epMu.Unlock()

	hdr := make([]byte, 0, hnswHeader)
	hdr = append(hdr, hnswMagic...)
	for _, v := range []int{hnswVersion, h.dim, int(h.cfg.Metric), h.m, h.cfg.EfConstruction, h.cfg.EfSearch} {
		hdr = binary.LittleEndian.AppendUint32(hdr, uint32(v))
	}
	hdr = binary.LittleEndian.AppendUint64(hdr, h.cfg.Seed)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(n))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(h.live.Load()))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(h.tomb))
	hdr = binary.LittleEndian.AppendUint32(hdr, entry)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(int32(top)))
	hdr = binary.LittleEndian.AppendUint64(hdr, h.seq.Load())
	var flags uint32
	if h.cfg.Quantize {
		flags |= flagQuantize
	}
	if h.quant != nil {
		flags |= flagTrained
	}
	hdr = binary.LittleEndian.AppendUint32(hdr, flags)
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(hdr, castagnoli))

	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	cw.write(hdr)
	states := make([]uint8, n)
	for i := range states {
		states[i] = uint8(h.state[i])
	}
	writeSection(cw, h.ids[:n])
	writeSection(cw, h.levels[:n], states)
	writeSection(cw, h.vecs[:n*h.dim])
	if h.quant != nil {
		writeSection(cw, h.quant.off, []float32{h.quant.scale})
		writeSection(cw, h.codes[:n*h.dim])
	}
	writeSection(cw, h.links0[:n*(1+h.m0)])
	var ups [][]uint32
	for i := range n {
		if h.levels[i] > 0 {
			ups = append(ups, h.upper[i])
		}
	}
	writeSection(cw, ups...)
	if cw.err == nil {
		cw.err = cw.w.Flush()
	}
	return cw.n, cw.err
}

// ReadHNSW loads a graph written by WriteTo without rebuilding it: the
// arrays are read in bulk and checked. Bytes that fail a check give an
// error wrapping ErrCorrupt. Fields of Config that are not stored
// (RepairFraction, ExactBelow, ExactSelectivity) take their defaults.
//
// Pass an *os.File (not a buffered reader over it) or a *bytes.Reader:
// knowing how many bytes remain, ReadHNSW reads each array in one piece.
func ReadHNSW(rd io.Reader) (*HNSW, error) {
	r := newSource(rd)
	var buf [hnswHeader]byte
	if _, err := io.ReadFull(r, buf[:12]); err != nil {
		return nil, readErr("header", err)
	}
	if string(buf[:8]) != hnswMagic {
		return nil, corrupt("header: bad magic %q", buf[:8])
	}
	version := binary.LittleEndian.Uint32(buf[8:])
	size := hnswHeader
	switch version {
	case 1:
		size = hnswHeaderV1
	case hnswVersion:
	default:
		return nil, corrupt("unsupported format version %d, this build reads 1 and %d", version, hnswVersion)
	}
	hdr := buf[:size]
	if _, err := io.ReadFull(r, hdr[12:]); err != nil {
		return nil, readErr("header", err)
	}
	if got, want := binary.LittleEndian.Uint32(hdr[size-4:]), crc32.Checksum(hdr[:size-4], castagnoli); got != want {
		return nil, corrupt("header: checksum %08x, want %08x", got, want)
	}
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(hdr[off:]) }
	u64 := func(off int) uint64 { return binary.LittleEndian.Uint64(hdr[off:]) }
	var flags uint32
	if version >= 2 {
		flags = u32(80)
	}
	dim, metric, m, efc, efs := u32(12), u32(16), u32(20), u32(24), u32(28)
	seed, slots, live, tombs := u64(32), u64(40), u64(48), u64(56)
	entry, top, seq := u32(64), int32(u32(68)), u64(72)
	switch {
	case dim < 1 || dim > maxDim:
		return nil, corrupt("dimension %d", dim)
	case metric > uint32(L2):
		return nil, corrupt("metric %d", metric)
	case m < 2 || m > maxM:
		return nil, corrupt("M %d", m)
	case efc < 1 || efc > maxEf || efs < 1 || efs > maxEf:
		return nil, corrupt("ef %d/%d", efc, efs)
	case slots >= noNode || live > slots || tombs > slots-live:
		return nil, corrupt("counts: %d slots, %d live, %d tombstones", slots, live, tombs)
	case top < -1 || top > maxLevel:
		return nil, corrupt("top level %d", top)
	case flags&^(flagQuantize|flagTrained) != 0 || flags == flagTrained:
		return nil, corrupt("flags %#x", flags)
	}
	cfg := Config{Metric: Metric(metric), M: int(m), EfConstruction: int(efc), EfSearch: int(efs), Seed: seed,
		Quantize: flags&flagQuantize != 0}
	h := NewHNSW(int(dim), cfg)
	if h.cfgErr != nil {
		return nil, corrupt("config: %v", h.cfgErr)
	}
	n := int(slots)

	s64, err := readSection[uint64](r, "ids", n)
	if err != nil {
		return nil, err
	}
	s8, err := readSection[uint8](r, "levels", n, n)
	if err != nil {
		return nil, err
	}
	ids, levels, states := s64[0], s8[0], s8[1]
	var nLive, nTomb uint64
	var upperLen uint64
	for i := range n {
		switch states[i] {
		case slotFree:
			if levels[i] != 0 {
				return nil, corrupt("free slot %d has level %d", i, levels[i])
			}
		case slotLive:
			nLive++
		case slotDeleted:
			nTomb++
		default:
			return nil, corrupt("slot %d state %d", i, states[i])
		}
		if levels[i] > maxLevel {
			return nil, corrupt("slot %d level %d", i, levels[i])
		}
		upperLen += uint64(levels[i]) * uint64(1+m)
	}
	if nLive != live || nTomb != tombs {
		return nil, corrupt("counts: header %d live %d tombstones, slots %d and %d", live, tombs, nLive, nTomb)
	}
	if n > 0 && uint64(n)*uint64(dim) > math.MaxInt/8 {
		return nil, corrupt("vectors: %d × %d too large", n, dim)
	}
	sf, err := readSection[float32](r, "vectors", n*int(dim))
	if err != nil {
		return nil, err
	}
	if h.cfg.Quantize {
		h.corr = make([]float32, n)
		if flags&flagTrained == 0 {
			h.codes = make([]int8, n*int(dim)) // trained codes are read below
		}
	}
	if flags&flagTrained != 0 {
		sq, err := readSection[float32](r, "quantizer", int(dim), 1)
		if err != nil {
			return nil, err
		}
		off, scale := sq[0], sq[1][0]
		for _, o := range off {
			if math.IsNaN(float64(o)) || math.IsInf(float64(o), 0) {
				return nil, corrupt("quantizer: centre %g", o)
			}
		}
		if !(scale > 0) || math.IsInf(float64(scale), 0) {
			return nil, corrupt("quantizer: scale %g", scale)
		}
		sc, err := readSection[int8](r, "codes", n*int(dim))
		if err != nil {
			return nil, err
		}
		h.quant, h.codes = newQuantizer(off, scale), sc[0]
	}
	s32, err := readSection[uint32](r, "layer 0", n*(1+h.m0))
	if err != nil {
		return nil, err
	}
	su, err := readSection[uint32](r, "upper layers", int(upperLen))
	if err != nil {
		return nil, err
	}

	h.ids, h.levels, h.vecs, h.links0 = ids, levels, sf[0], s32[0]
	h.state = make([]uint32, n)
	h.upper = make([][]uint32, n)
	h.n = n
	h.growLocks(n)
	h.tomb = int(tombs)
	h.live.Store(int64(live))
	h.seq.Store(seq)
	up := su[0]
	for i := range n {
		h.state[i] = uint32(states[i])
		if l := int(levels[i]); l > 0 {
			k := l * (1 + h.m)
			h.upper[i], up = up[:k:k], up[k:]
		}
		if states[i] == slotFree {
			h.free = append(h.free, uint32(i))
		} else if states[i] == slotLive {
			if _, dup := h.idmap[ids[i]]; dup {
				return nil, corrupt("id %d appears twice", ids[i])
			}
			h.idmap[ids[i]] = uint32(i)
		}
	}
	// Every list: count within bounds, neighbours are used slots that reach
	// the layer.
	for i := range n {
		u := uint32(i)
		if h.state[u] == slotFree {
			if h.links0[i*(1+h.m0)] != 0 {
				return nil, corrupt("free slot %d has links", i)
			}
			continue
		}
		for l := 0; l <= int(levels[i]); l++ {
			b := h.block(u, l)
			if int(b[0]) > h.maxLinks(l) {
				return nil, corrupt("slot %d layer %d: %d links", i, l, b[0])
			}
			for _, j := range b[1 : 1+b[0]] {
				if j >= uint32(n) || h.state[j] == slotFree || int(levels[j]) < l {
					return nil, corrupt("slot %d layer %d: bad link %d", i, l, j)
				}
			}
		}
	}
	if live+tombs == 0 {
		if top != -1 || entry != noNode {
			return nil, corrupt("entry %d/%d in an empty graph", entry, top)
		}
	} else if entry >= uint32(n) || h.state[entry] == slotFree || int(levels[entry]) != int(top) {
		return nil, corrupt("entry %d at level %d", entry, top)
	}
	h.entry, h.top = entry, int(top)
	if h.quant != nil {
		for i := range n {
			h.corr[i] = h.quant.corrOf(h.code(uint32(i)))
		}
	}
	return h, nil
}

// WriteTo streams the index in a versioned, checksummed format that
// ReadFlat loads. It is safe to call concurrently with searches.
func (f *Flat) WriteTo(w io.Writer) (int64, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	hdr := make([]byte, 0, flatHeader)
	hdr = append(hdr, flatMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, flatVersion)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(f.dim))
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(f.metric))
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(len(f.ids)))
	hdr = binary.LittleEndian.AppendUint64(hdr, f.seq)
	hdr = binary.LittleEndian.AppendUint32(hdr, crc32.Checksum(hdr, castagnoli))
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	cw.write(hdr)
	writeSection(cw, f.ids)
	writeSection(cw, f.vecs)
	if cw.err == nil {
		cw.err = cw.w.Flush()
	}
	return cw.n, cw.err
}

// ReadFlat loads an index written by Flat.WriteTo; corrupt bytes give an
// error wrapping ErrCorrupt.
func ReadFlat(rd io.Reader) (*Flat, error) {
	r := newSource(rd)
	var hdr [flatHeader + 4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, readErr("header", err)
	}
	if string(hdr[:8]) != flatMagic {
		return nil, corrupt("header: bad magic %q", hdr[:8])
	}
	if got, want := binary.LittleEndian.Uint32(hdr[flatHeader:]), crc32.Checksum(hdr[:flatHeader], castagnoli); got != want {
		return nil, corrupt("header: checksum %08x, want %08x", got, want)
	}
	if v := binary.LittleEndian.Uint32(hdr[8:]); v != flatVersion {
		return nil, corrupt("format version %d, this build reads %d", v, flatVersion)
	}
	dim, metric := binary.LittleEndian.Uint32(hdr[12:]), binary.LittleEndian.Uint32(hdr[16:])
	n, seq := binary.LittleEndian.Uint64(hdr[20:]), binary.LittleEndian.Uint64(hdr[28:])
	if dim < 1 || dim > maxDim || metric > uint32(L2) || n >= noNode {
		return nil, corrupt("header: dim %d metric %d count %d", dim, metric, n)
	}
	s64, err := readSection[uint64](r, "ids", int(n))
	if err != nil {
		return nil, err
	}
	sf, err := readSection[float32](r, "vectors", int(n)*int(dim))
	if err != nil {
		return nil, err
	}
	f := NewFlat(int(dim), Metric(metric))
	f.ids, f.vecs, f.seq = s64[0], sf[0], seq
	for i, id := range f.ids {
		if _, dup := f.pos[id]; dup {
			return nil, corrupt("id %d appears twice", id)
		}
		f.pos[id] = i
	}
	return f, nil
}
