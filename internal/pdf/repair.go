// PATCHED (quarry): rebuild the object table of a file whose cross-reference
// data is missing or broken (truncated files, wrong offsets, junk).

package pdf

import (
	"bytes"
	"fmt"
	"io"
)

// reconstruct scans the file for "N G obj" and rebuilds r.xref and r.trailer.
func (r *Reader) reconstruct() error {
	data := make([]byte, r.end)
	n, err := r.f.ReadAt(data, 0)
	if n < len(data) && err != nil && err != io.EOF {
		return err
	}
	data = data[:n]
	var table []xref
	var trailers []dict
	for i := 0; i < len(data); {
		j := bytes.Index(data[i:], []byte("obj"))
		if j < 0 {
			break
		}
		pos := i + j
		i = pos + 3
		if pos+3 < len(data) && !isSpace(data[pos+3]) && !isDelim(data[pos+3]) {
			continue
		}
		// Walk back over "id gen ".
		k := pos
		for k > 0 && isSpace(data[k-1]) {
			k--
		}
		g1 := k
		for k > 0 && data[k-1] >= '0' && data[k-1] <= '9' {
			k--
		}
		if k == g1 || g1-k > 5 {
			continue
		}
		gen := atoi(data[k:g1])
		for k > 0 && isSpace(data[k-1]) {
			k--
		}
		i1 := k
		for k > 0 && data[k-1] >= '0' && data[k-1] <= '9' {
			k--
		}
		if k == i1 || i1-k > 10 || (k > 0 && !isSpace(data[k-1]) && !isDelim(data[k-1])) {
			continue
		}
		id := atoi(data[k:i1])
		if id <= 0 || id >= maxObjects || gen > 65535 {
			continue
		}
		table = ensureXrefLen(table, int(id))
		table[id] = xref{ptr: objptr{uint32(id), uint16(gen)}, offset: int64(k)}
		if err := r.g.check(); err != nil {
			return err
		}
	}
	for i := 0; i < len(data); {
		j := bytes.Index(data[i:], []byte("trailer"))
		if j < 0 {
			break
		}
		pos := i + j + len("trailer")
		i = pos
		if d, ok := readDictAt(data, pos); ok && d["Root"] != nil {
			trailers = append(trailers, d)
		}
	}
	r.xref = table
	if len(trailers) > 0 {
		r.trailer = trailers[len(trailers)-1]
	}
	// Cross-reference streams carry the trailer keys, and object streams
	// hold objects the scan above cannot see.
	var root object
	for id := range table {
		if r.g.check() != nil {
			return r.g.err
		}
		x := table[id]
		if x.offset == 0 {
			continue
		}
		v, ok := r.tryResolve(x.ptr)
		if !ok {
			continue
		}
		switch v.Key("Type").Name() {
		case "XRef":
			if r.trailer == nil {
				if s, ok := v.data.(stream); ok && s.hdr["Root"] != nil {
					r.trailer = s.hdr
				}
			}
		case "Catalog":
			root = x.ptr
		case "ObjStm":
			r.indexObjStm(x.ptr, v)
		}
	}
	if r.trailer == nil {
		if root == nil {
			return fmt.Errorf("no catalog found")
		}
		r.trailer = dict{"Root": root}
	}
	return nil
}

func (r *Reader) tryResolve(ptr objptr) (v Value, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return r.resolve(objptr{}, ptr), true
}

// indexObjStm adds the objects of an object stream to r.xref where the
// direct scan did not find them.
func (r *Reader) indexObjStm(sp objptr, v Value) {
	defer func() { recover() }()
	n := v.Key("N").Int64()
	if n <= 0 || n > maxObjects {
		return
	}
	b := newBuffer(v.Reader(), 0, bufSize)
	b.allowEOF = true
	for i := int64(0); i < n && !b.eof; i++ {
		id, ok1 := b.readToken().(int64)
		off, ok2 := b.readToken().(int64)
		if !ok1 || !ok2 || id <= 0 || id >= maxObjects {
			return
		}
		r.xref = ensureXrefLen(r.xref, int(id))
		if r.xref[id].offset == 0 && !r.xref[id].inStream {
			r.xref[id] = xref{ptr: objptr{uint32(id), 0}, inStream: true, stream: sp, offset: off}
		}
	}
}

func readDictAt(data []byte, pos int) (d dict, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	b := newBuffer(bytes.NewReader(data[pos:]), 0, bufSize)
	b.allowEOF = true
	b.allowStream = false
	d, ok = b.readObject().(dict)
	return d, ok
}

func atoi(b []byte) int64 {
	var x int64
	for _, c := range b {
		x = x*10 + int64(c-'0')
	}
	return x
}
