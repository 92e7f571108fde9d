package parse

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// An OLE2 compound file (MS-CFB) is a little FAT file system inside a file:
// fixed-size sectors chained by a file allocation table, a directory of
// 128-byte entries, and a mini stream with its own table for small streams.
// Every index read from the file is bounds-checked and every chain walk is
// bounded by the number of sectors, so hostile files fail instead of looping.

const (
	cfbFree       = 0xFFFFFFFF
	cfbEndOfChain = 0xFFFFFFFE
	cfbFATSect    = 0xFFFFFFFD
	cfbMaxRegSect = 0xFFFFFFFA
	cfbNoStream   = 0xFFFFFFFF

	cfbStream = 2
	cfbRoot   = 5
)

var cfbSignature = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// errCFB is the cause of every malformed compound file error.
var errCFB = errors.New("malformed compound file")

// cfbFile is a parsed compound file. It keeps data; streams are copied out.
type cfbFile struct {
	data     []byte
	secSize  int
	nSect    uint32 // sectors in the file
	fat      []uint32
	miniFAT  []uint32
	mini     []byte // the mini stream
	cutoff   uint64
	dir      []cfbEntry
	maxBytes int64
}

type cfbEntry struct {
	name               string
	typ                byte
	left, right, child uint32
	start              uint32
	size               uint64
}

func cfbErr(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errCFB}, a...)...)
}

// openCFB parses the header, FAT, directory and mini stream of data.
// maxBytes bounds any one stream.
func openCFB(data []byte, maxBytes int64) (*cfbFile, error) {
	if len(data) < 512 || !bytes.Equal(data[:8], cfbSignature) {
		return nil, cfbErr("no compound file header")
	}
	le := binary.LittleEndian
	shift := le.Uint16(data[0x1E:])
	if shift != 9 && shift != 12 {
		return nil, cfbErr("sector shift %d", shift)
	}
	if ms := le.Uint16(data[0x20:]); ms != 6 {
		return nil, cfbErr("mini sector shift %d", ms)
	}
	f := &cfbFile{data: data, secSize: 1 << shift, cutoff: uint64(le.Uint32(data[0x38:])), maxBytes: maxBytes}
	if f.cutoff != 4096 {
		return nil, cfbErr("mini stream cutoff %d", f.cutoff)
	}
	if len(data) <= f.secSize {
		return nil, cfbErr("no sectors")
	}
	f.nSect = uint32((len(data) - f.secSize + f.secSize - 1) / f.secSize)
	nFAT := le.Uint32(data[0x2C:])
	if nFAT > f.nSect {
		return nil, cfbErr("%d FAT sectors in a file of %d", nFAT, f.nSect)
	}
	// The FAT's own sectors: 109 in the header, the rest in the DIFAT chain.
	var fatSecs []uint32
	for i := 0; i < 109 && uint32(len(fatSecs)) < nFAT; i++ {
		if s := le.Uint32(data[0x4C+4*i:]); s != cfbFree {
			fatSecs = append(fatSecs, s)
		}
	}
	per := f.secSize/4 - 1
	for s, n := le.Uint32(data[0x44:]), uint32(0); s != cfbEndOfChain && s != cfbFree && uint32(len(fatSecs)) < nFAT; n++ {
		if n >= f.nSect {
			return nil, cfbErr("DIFAT chain loops")
		}
		sec, err := f.sector(s)
		if err != nil {
			return nil, err
		}
		for i := 0; i < per && uint32(len(fatSecs)) < nFAT; i++ {
			if v := le.Uint32(sec[4*i:]); v != cfbFree {
				fatSecs = append(fatSecs, v)
			}
		}
		s = le.Uint32(sec[4*per:])
	}
	f.fat = make([]uint32, 0, len(fatSecs)*f.secSize/4)
	for _, s := range fatSecs {
		sec, err := f.sector(s)
		if err != nil {
			return nil, err
		}
		for i := 0; i < f.secSize; i += 4 {
			f.fat = append(f.fat, le.Uint32(sec[i:]))
		}
	}
	dirData, err := f.chain(le.Uint32(data[0x30:]), -1)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	for off := 0; off+128 <= len(dirData); off += 128 {
		e := dirData[off : off+128]
		nameLen := int(le.Uint16(e[64:]))
		if nameLen > 64 {
			nameLen = 64
		}
		u := make([]uint16, 0, 32)
		for i := 0; i+1 < nameLen; i += 2 {
			if c := le.Uint16(e[i:]); c != 0 {
				u = append(u, c)
			}
		}
		ent := cfbEntry{
			name:  string(utf16.Decode(u)),
			typ:   e[66],
			left:  le.Uint32(e[68:]),
			right: le.Uint32(e[72:]),
			child: le.Uint32(e[76:]),
			start: le.Uint32(e[116:]),
			size:  le.Uint64(e[120:]),
		}
		if f.secSize == 512 {
			ent.size &= 0xFFFFFFFF // version 3 files may leave garbage in the high half
		}
		f.dir = append(f.dir, ent)
	}
	if len(f.dir) == 0 || f.dir[0].typ != cfbRoot {
		return nil, cfbErr("no root entry")
	}
	miniFAT, err := f.chain(le.Uint32(data[0x3C:]), -1)
	if err != nil {
		return nil, fmt.Errorf("mini FAT: %w", err)
	}
	for i := 0; i+4 <= len(miniFAT); i += 4 {
		f.miniFAT = append(f.miniFAT, le.Uint32(miniFAT[i:]))
	}
	root := f.dir[0]
	if root.size > 0 {
		if f.mini, err = f.chain(root.start, int64(root.size)); err != nil {
			return nil, fmt.Errorf("mini stream: %w", err)
		}
	}
	return f, nil
}

// sector returns sector s, which must lie wholly inside the file.
func (f *cfbFile) sector(s uint32) ([]byte, error) {
	if s > cfbMaxRegSect || s >= f.nSect {
		return nil, cfbErr("sector %#x out of range", s)
	}
	off := (int(s) + 1) * f.secSize
	end := off + f.secSize
	if end > len(f.data) {
		return nil, cfbErr("sector %d truncated", s)
	}
	return f.data[off:end], nil
}

// chain reads the sector chain starting at s. With size >= 0 it reads
// exactly size bytes; with size < 0 it reads the whole chain.
func (f *cfbFile) chain(s uint32, size int64) ([]byte, error) {
	if size > f.maxBytes || size > int64(len(f.data)) {
		return nil, cfbErr("stream of %d bytes is larger than the file", size)
	}
	var out []byte
	if size >= 0 {
		out = make([]byte, 0, size)
	}
	for n := uint32(0); s != cfbEndOfChain; n++ {
		if size >= 0 && int64(len(out)) >= size {
			break
		}
		if n >= f.nSect {
			return nil, cfbErr("sector chain loops")
		}
		sec, err := f.sector(s)
		if err != nil {
			return nil, err
		}
		out = append(out, sec...)
		if int(s) >= len(f.fat) {
			return nil, cfbErr("sector %d has no FAT entry", s)
		}
		s = f.fat[s]
	}
	if size >= 0 {
		if int64(len(out)) < size {
			return nil, cfbErr("stream shorter than its size")
		}
		out = out[:size]
	}
	return out, nil
}

// miniChain reads size bytes of the mini stream chain starting at s.
func (f *cfbFile) miniChain(s uint32, size int64) ([]byte, error) {
	const mss = 64
	if size > int64(len(f.mini)) {
		return nil, cfbErr("mini stream of %d bytes is larger than the mini stream", size)
	}
	out := make([]byte, 0, size)
	for n := 0; int64(len(out)) < size; n++ {
		if n > len(f.miniFAT) || s == cfbEndOfChain {
			return nil, cfbErr("mini sector chain loops or ends early")
		}
		off := int64(s) * mss
		if s > cfbMaxRegSect || off+mss > int64(len(f.mini)) || int(s) >= len(f.miniFAT) {
			return nil, cfbErr("mini sector %#x out of range", s)
		}
		out = append(out, f.mini[off:off+mss]...)
		s = f.miniFAT[s]
	}
	return out[:size], nil
}

// stream returns the content of the stream named name (case-insensitive)
// directly inside the root storage, or nil and false when there is none.
func (f *cfbFile) stream(name string) ([]byte, bool, error) {
	e, ok := f.find(name)
	if !ok {
		return nil, false, nil
	}
	if e.size > uint64(f.maxBytes) || e.size > uint64(len(f.data)) {
		return nil, true, cfbErr("stream %s of %d bytes is larger than the file", e.name, e.size)
	}
	var data []byte
	var err error
	if e.size < f.cutoff {
		data, err = f.miniChain(e.start, int64(e.size))
	} else {
		data, err = f.chain(e.start, int64(e.size))
	}
	if err != nil {
		return nil, true, fmt.Errorf("stream %s: %w", e.name, err)
	}
	return data, true, nil
}

// find walks the root storage's red-black tree of children.
func (f *cfbFile) find(name string) (cfbEntry, bool) {
	seen := make(map[uint32]bool)
	stack := []uint32{f.dir[0].child}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if i == cfbNoStream || int(i) >= len(f.dir) || seen[i] {
			continue
		}
		seen[i] = true
		e := f.dir[i]
		if e.typ == cfbStream && strings.EqualFold(e.name, name) {
			return e, true
		}
		stack = append(stack, e.left, e.right)
	}
	return cfbEntry{}, false
}
