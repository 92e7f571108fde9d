// Copyright 2014 The Go Authors.  All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package pdf implements reading of PDF files.
//
// # Overview
//
// PDF is Adobe's Portable Document Format, ubiquitous on the internet.
// A PDF document is a complex data format built on a fairly simple structure.
// This package exposes the simple structure along with some wrappers to
// extract basic information. If more complex information is needed, it is
// possible to extract that information by interpreting the structure exposed
// by this package.
//
// Specifically, a PDF is a data structure built from Values, each of which has
// one of the following Kinds:
//
//	Null, for the null object.
//	Integer, for an integer.
//	Real, for a floating-point number.
//	Bool, for a boolean value.
//	Name, for a name constant (as in /Helvetica).
//	String, for a string constant.
//	Dict, for a dictionary of name-value pairs.
//	Array, for an array of values.
//	Stream, for an opaque data stream and associated header dictionary.
//
// The accessors on Value—Int64, Float64, Bool, Name, and so on—return
// a view of the data as the given type. When there is no appropriate view,
// the accessor returns a zero result. For example, the Name accessor returns
// the empty string if called on a Value v for which v.Kind() != Name.
// Returning zero values this way, especially from the Dict and Array accessors,
// which themselves return Values, makes it possible to traverse a PDF quickly
// without writing any error checking. On the other hand, it means that mistakes
// can go unreported.
//
// The basic structure of the PDF file is exposed as the graph of Values.
//
// Most richer data structures in a PDF file are dictionaries with specific interpretations
// of the name-value pairs. The Font and Page wrappers make the interpretation
// of a specific Value as the corresponding type easier. They are only helpers, though:
// they are implemented only in terms of the Value API and could be moved outside
// the package. Equally important, traversal of other PDF data structures can be implemented
// in other packages as needed.
package pdf

// BUG(rsc): The package is incomplete, although it has been used successfully on some
// large real-world PDF files.

// BUG(rsc): There is no support for closing open PDF files. If you drop all references to a Reader,
// the underlying reader will eventually be garbage collected.

// BUG(rsc): The library makes no attempt at efficiency. A value cache maintained in the Reader
// would probably help significantly.

// BUG(rsc): The support for reading encrypted files is weak.

// BUG(rsc): The Value API does not support error reporting. The intent is to allow users to
// set an error reporting callback in Reader, but that code has not been implemented.

import (
	"bytes"
	"compress/zlib"
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/rc4"
	"encoding/ascii85"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
)

// DebugOn is responsible for logging messages into stdout. If problems arise during reading, set it true.
var DebugOn = false

// A Reader is a single PDF file open for reading.
type Reader struct {
	f          io.ReaderAt
	end        int64
	xref       []xref
	trailer    dict
	trailerptr objptr
	key        []byte
	useAES     bool
	aes256     bool // V5 encryption: the file key is used as is (no per-object MD5)

	g       *guard               // limits and cancellation; never nil after NewReaderOptions
	depth   int                  // resolve nesting, to stop reference cycles before the Go stack does
	cache   map[objptr]object    // resolved indirect objects
	objstms map[objptr]*objstm   // decoded object streams
	fonts   map[objptr]*textFont // fonts by object, shared across pages
}

type xref struct {
	ptr      objptr
	inStream bool
	stream   objptr
	offset   int64
}

// Open opens a file for reading.
func Open(file string) (*os.File, *Reader, error) {
	f, err := os.Open(file)
	if err != nil {
		// f is nil here; calling f.Close() would panic.
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	reader, err := NewReader(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, reader, err
}

// NewReader opens a file for reading, using the data in f with the given total size.
func NewReader(f io.ReaderAt, size int64) (*Reader, error) {
	return NewReaderEncrypted(f, size, nil)
}

// NewReaderEncrypted opens a file for reading, using the data in f with the given total size.
// If the PDF is encrypted, NewReaderEncrypted calls pw repeatedly to obtain passwords
// to try. If pw returns the empty string, NewReaderEncrypted stops trying to decrypt
// the file and returns an error.
func NewReaderEncrypted(f io.ReaderAt, size int64, pw func() string) (r *Reader, err error) {
	var passwords []string
	if pw != nil {
		for p := pw(); p != ""; p = pw() {
			passwords = append(passwords, p)
			if len(passwords) > 16 {
				break
			}
		}
	}
	return NewReaderOptions(f, size, Options{Passwords: passwords})
}

// NewReaderOptions opens a PDF for reading with the limits in opt.
//
// PATCHED (quarry): when the cross-reference data is missing or broken, the
// object table is rebuilt by scanning the file; streams are decoded under the
// limits in opt; a panic while opening is returned as an error.
func NewReaderOptions(f io.ReaderAt, size int64, opt Options) (r *Reader, err error) {
	r = &Reader{f: f, end: size}
	r.init(&opt)
	defer func() {
		if x := recover(); x != nil {
			r = nil
			err = panicError(x)
		}
	}()
	if err := r.g.check(); err != nil {
		return nil, err
	}
	buf := make([]byte, 8)
	f.ReadAt(buf, 0)
	if !bytes.HasPrefix(buf, []byte("%PDF-")) {
		return nil, fmt.Errorf("not a PDF file: invalid header")
	}
	if err := r.readXrefs(); err != nil {
		if gerr := r.g.check(); gerr != nil {
			return nil, gerr
		}
		r.xref, r.trailer, r.trailerptr = nil, nil, objptr{}
		r.cache = map[objptr]object{}
		r.objstms = map[objptr]*objstm{}
		if rerr := r.reconstruct(); rerr != nil {
			return nil, fmt.Errorf("%v (repair failed: %v)", err, rerr)
		}
	}
	if r.trailer["Encrypt"] == nil {
		return r, nil
	}
	err = r.initEncrypt("")
	if err == nil {
		return r, nil
	}
	if err != ErrInvalidPassword {
		return nil, err
	}
	for _, p := range opt.Passwords {
		if r.initEncrypt(p) == nil {
			return r, nil
		}
	}
	return nil, err
}

// readXrefs reads the cross-reference data the file's trailer points at.
func (r *Reader) readXrefs() (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = panicError(x)
		}
	}()
	end := r.end
	endChunk := int64(1024)
	if endChunk > end {
		endChunk = end
	}
	buf := make([]byte, endChunk)
	r.f.ReadAt(buf, end-endChunk)
	buf = bytes.TrimRight(buf, "\r\n\t \x00")
	i := findLastLine(buf, "startxref")
	if i < 0 {
		return fmt.Errorf("missing final startxref")
	}
	pos := end - endChunk + int64(i)
	b := newBuffer(io.NewSectionReader(r.f, pos, end-pos), pos, bufSize)
	if b.readToken() != keyword("startxref") {
		return fmt.Errorf("missing startxref")
	}
	startxref, ok := b.readToken().(int64)
	if !ok || startxref < 0 || startxref >= end {
		return fmt.Errorf("startxref not followed by a valid offset")
	}
	b = newBuffer(io.NewSectionReader(r.f, startxref, r.end-startxref), startxref, bufSize)
	xref, trailerptr, trailer, err := readXref(r, b)
	if err != nil {
		return err
	}
	r.xref = xref
	r.trailer = trailer
	r.trailerptr = trailerptr
	if r.trailer["Root"] == nil {
		return fmt.Errorf("trailer has no Root")
	}
	return nil
}

// Trailer returns the file's Trailer value.
func (r *Reader) Trailer() Value {
	return Value{r, r.trailerptr, r.trailer}
}

func readXref(r *Reader, b *buffer) ([]xref, objptr, dict, error) {
	tok := b.readToken()
	if tok == keyword("xref") {
		return readXrefTable(r, b)
	}
	if _, ok := tok.(int64); ok {
		b.unreadToken(tok)
		return readXrefStream(r, b)
	}
	return nil, objptr{}, nil, fmt.Errorf("cross-reference table not found: %v", tok)
}

// readPrevXrefs walks a /Prev chain of cross-reference sections. first is the
// /Prev entry of the most recently read section; parse is called with a buffer
// positioned at the start of each previous section and must return that
// section's own /Prev entry (or nil) to continue the chain.
func readPrevXrefs(r *Reader, first object, parse func(b *buffer) (object, error)) error {
	seen := map[int64]bool{}
	for prev := first; prev != nil; {
		off, ok := prev.(int64)
		if !ok {
			return fmt.Errorf("xref Prev is not integer: %v", prev)
		}
		// PATCHED: a /Prev chain that loops or points outside the file is an error.
		if seen[off] || off < 0 || off >= r.end || len(seen) > 1024 {
			return fmt.Errorf("bad xref Prev chain at %d", off)
		}
		seen[off] = true
		b := newBuffer(io.NewSectionReader(r.f, off, r.end-off), off, bufSize)
		next, err := parse(b)
		if err != nil {
			return err
		}
		prev = next
	}
	return nil
}

func readXrefStream(r *Reader, b *buffer) ([]xref, objptr, dict, error) {
	obj1 := b.readObject()
	obj, ok := obj1.(objdef)
	if !ok {
		return nil, objptr{}, nil, fmt.Errorf("cross-reference table not found: %v", objfmt(obj1))
	}
	strmptr := obj.ptr
	strm, ok := obj.obj.(stream)
	if !ok {
		return nil, objptr{}, nil, fmt.Errorf("cross-reference table not found: %v", objfmt(obj))
	}
	if strm.hdr["Type"] != name("XRef") {
		return nil, objptr{}, nil, fmt.Errorf("xref stream does not have type XRef")
	}
	size, ok := strm.hdr["Size"].(int64)
	if !ok || size < 0 || size > maxObjects {
		return nil, objptr{}, nil, fmt.Errorf("xref stream missing or bad Size")
	}
	table := make([]xref, size)

	table, err := readXrefStreamData(r, strm, table, size)
	if err != nil {
		return nil, objptr{}, nil, fmt.Errorf("%v", err)
	}

	err = readPrevXrefs(r, strm.hdr["Prev"], func(b *buffer) (object, error) {
		obj1 := b.readObject()
		obj, ok := obj1.(objdef)
		if !ok {
			return nil, fmt.Errorf("xref prev stream not found: %v", objfmt(obj1))
		}
		prevstrm, ok := obj.obj.(stream)
		if !ok {
			return nil, fmt.Errorf("xref prev stream not found: %v", objfmt(obj))
		}
		prev := Value{r, objptr{}, prevstrm}
		if prev.Kind() != Stream {
			return nil, fmt.Errorf("xref prev stream is not stream: %v", prev)
		}
		if prev.Key("Type").Name() != "XRef" {
			return nil, fmt.Errorf("xref prev stream does not have type XRef")
		}
		psize := prev.Key("Size").Int64()
		if psize > size {
			return nil, fmt.Errorf("xref prev stream larger than last stream")
		}
		var dataErr error
		table, dataErr = readXrefStreamData(r, prev.data.(stream), table, psize)
		if dataErr != nil {
			return nil, fmt.Errorf("reading xref prev stream: %v", dataErr)
		}
		return prevstrm.hdr["Prev"], nil
	})
	if err != nil {
		return nil, objptr{}, nil, err
	}

	return table, strmptr, strm.hdr, nil
}

func readXrefStreamData(r *Reader, strm stream, table []xref, size int64) ([]xref, error) {
	index, _ := strm.hdr["Index"].(array)
	if index == nil {
		index = array{int64(0), size}
	}
	if len(index)%2 != 0 {
		return nil, fmt.Errorf("invalid Index array %v", objfmt(index))
	}
	ww, ok := strm.hdr["W"].(array)
	if !ok {
		return nil, fmt.Errorf("xref stream missing W array")
	}

	var w []int
	for _, x := range ww {
		i, ok := x.(int64)
		if !ok || int64(int(i)) != i {
			return nil, fmt.Errorf("invalid W array %v", objfmt(ww))
		}
		w = append(w, int(i))
	}
	if len(w) < 3 || w[0] < 0 || w[1] < 0 || w[2] < 0 || w[0] > 8 || w[1] > 8 || w[2] > 8 {
		return nil, fmt.Errorf("invalid W array %v", objfmt(ww))
	}

	v := Value{r, objptr{}, strm}
	wtotal := 0
	for _, wid := range w {
		wtotal += wid
	}
	buf := make([]byte, wtotal)
	data := v.Reader()
	for len(index) > 0 {
		start, ok1 := index[0].(int64)
		n, ok2 := index[1].(int64)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("malformed Index pair %v %v %T %T", objfmt(index[0]), objfmt(index[1]), index[0], index[1])
		}
		index = index[2:]
		if start < 0 || n < 0 || start+n > maxObjects {
			return nil, fmt.Errorf("malformed Index pair %d %d", start, n)
		}
		for i := 0; i < int(n); i++ {
			_, err := io.ReadFull(data, buf)
			if err != nil {
				return nil, fmt.Errorf("error reading xref stream: %v", err)
			}
			v1 := decodeInt(buf[0:w[0]])
			if w[0] == 0 {
				v1 = 1
			}
			v2 := decodeInt(buf[w[0] : w[0]+w[1]])
			v3 := decodeInt(buf[w[0]+w[1] : w[0]+w[1]+w[2]])
			x := int(start) + i
			table = ensureXrefLen(table, x)
			if table[x].ptr != (objptr{}) {
				continue
			}
			switch v1 {
			case 0:
				table[x] = xref{ptr: objptr{0, 65535}}
			case 1:
				table[x] = xref{ptr: objptr{uint32(x), uint16(v3)}, offset: int64(v2)}
			case 2:
				table[x] = xref{ptr: objptr{uint32(x), 0}, inStream: true, stream: objptr{uint32(v2), 0}, offset: int64(v3)}
			default:
				if DebugOn {
					fmt.Printf("invalid xref stream type %d: %x\n", v1, buf)
				}
			}
		}
	}
	return table, nil
}

func decodeInt(b []byte) int {
	x := 0
	for _, c := range b {
		x = x<<8 | int(c)
	}
	return x
}

// ensureXrefLen grows table, if needed, so that table[x] is a valid element.
// The previous idiom (repeatedly append(table[:cap(table)], xref{})) was
// correct but hard to follow, so this replaces it with an explicit resize.
func ensureXrefLen(table []xref, x int) []xref {
	if x < len(table) {
		return table
	}
	return append(table, make([]xref, x-len(table)+1)...)
}

func readXrefTable(r *Reader, b *buffer) ([]xref, objptr, dict, error) {
	var table []xref

	table, err := readXrefTableData(b, table)
	if err != nil {
		return nil, objptr{}, nil, fmt.Errorf("%v", err)
	}

	trailer, ok := b.readObject().(dict)
	if !ok {
		return nil, objptr{}, nil, fmt.Errorf("xref table not followed by trailer dictionary")
	}

	err = readPrevXrefs(r, trailer["Prev"], func(b *buffer) (object, error) {
		if tok := b.readToken(); tok != keyword("xref") {
			return nil, fmt.Errorf("xref Prev does not point to xref")
		}
		var dataErr error
		table, dataErr = readXrefTableData(b, table)
		if dataErr != nil {
			return nil, fmt.Errorf("%v", dataErr)
		}
		prevTrailer, ok := b.readObject().(dict)
		if !ok {
			return nil, fmt.Errorf("xref Prev table not followed by trailer dictionary")
		}
		return prevTrailer["Prev"], nil
	})
	if err != nil {
		return nil, objptr{}, nil, err
	}

	size, ok := trailer[name("Size")].(int64)
	if !ok {
		return nil, objptr{}, nil, fmt.Errorf("trailer missing /Size entry")
	}

	if size < int64(len(table)) {
		table = table[:size]
	}

	return table, objptr{}, trailer, nil
}

func readXrefTableData(b *buffer, table []xref) ([]xref, error) {
	for {
		tok := b.readToken()
		if tok == keyword("trailer") {
			break
		}
		start, ok1 := tok.(int64)
		n, ok2 := b.readToken().(int64)
		if !ok1 || !ok2 || start < 0 || n < 0 || start+n > maxObjects {
			return nil, fmt.Errorf("malformed xref table")
		}
		for i := 0; i < int(n); i++ {
			off, ok1 := b.readToken().(int64)
			gen, ok2 := b.readToken().(int64)
			alloc, ok3 := b.readToken().(keyword)
			if !ok1 || !ok2 || !ok3 || alloc != keyword("f") && alloc != keyword("n") {
				return nil, fmt.Errorf("malformed xref table")
			}
			x := int(start) + i
			table = ensureXrefLen(table, x)
			if alloc == "n" && table[x].offset == 0 {
				table[x] = xref{ptr: objptr{uint32(x), uint16(gen)}, offset: int64(off)}
			}
		}
	}
	return table, nil
}

func findLastLine(buf []byte, s string) int {
	bs := []byte(s)
	max := len(buf)
	for {
		i := bytes.LastIndex(buf[:max], bs)
		if i <= 0 || i+len(bs) >= len(buf) {
			return -1
		}
		if (buf[i-1] == '\n' || buf[i-1] == '\r') && (buf[i+len(bs)] == '\n' || buf[i+len(bs)] == '\r') {
			return i
		}
		max = i
	}
}

// A Value is a single PDF value, such as an integer, dictionary, or array.
// The zero Value is a PDF null (Kind() == Null, IsNull() = true).
type Value struct {
	r    *Reader
	ptr  objptr
	data interface{}
}

// IsNull reports whether the value is a null. It is equivalent to Kind() == Null.
func (v Value) IsNull() bool {
	return v.data == nil
}

// A ValueKind specifies the kind of data underlying a Value.
type ValueKind int

// The PDF value kinds.
const (
	Null ValueKind = iota
	Bool
	Integer
	Real
	String
	Name
	Dict
	Array
	Stream
)

// Kind reports the kind of value underlying v.
func (v Value) Kind() ValueKind {
	switch v.data.(type) {
	default:
		return Null
	case bool:
		return Bool
	case int64:
		return Integer
	case float64:
		return Real
	case string:
		return String
	case name:
		return Name
	case dict:
		return Dict
	case array:
		return Array
	case stream:
		return Stream
	}
}

// String returns a textual representation of the value v.
// Note that String is not the accessor for values with Kind() == String.
// To access such values, see RawString, Text, and TextFromUTF16.
func (v Value) String() string {
	return objfmt(v.data)
}

func objfmt(x interface{}) string {
	switch x := x.(type) {
	default:
		return fmt.Sprint(x)
	case string:
		if isPDFDocEncoded(x) {
			return strconv.Quote(pdfDocDecode(x))
		}
		if isUTF16(x) {
			return strconv.Quote(utf16Decode(x[2:]))
		}
		return strconv.Quote(x)
	case name:
		return "/" + string(x)
	case dict:
		var keys []string
		for k := range x {
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		var buf bytes.Buffer
		buf.WriteString("<<")
		for i, k := range keys {
			elem := x[name(k)]
			if i > 0 {
				buf.WriteString(" ")
			}
			buf.WriteString("/")
			buf.WriteString(k)
			buf.WriteString(" ")
			buf.WriteString(objfmt(elem))
		}
		buf.WriteString(">>")
		return buf.String()

	case array:
		var buf bytes.Buffer
		buf.WriteString("[")
		for i, elem := range x {
			if i > 0 {
				buf.WriteString(" ")
			}
			buf.WriteString(objfmt(elem))
		}
		buf.WriteString("]")
		return buf.String()

	case stream:
		return fmt.Sprintf("%v@%d", objfmt(x.hdr), x.offset)

	case objptr:
		return fmt.Sprintf("%d %d R", x.id, x.gen)

	case objdef:
		return fmt.Sprintf("{%d %d obj}%v", x.ptr.id, x.ptr.gen, objfmt(x.obj))
	}
}

// Bool returns v's boolean value.
// If v.Kind() != Bool, Bool returns false.
func (v Value) Bool() bool {
	x, ok := v.data.(bool)
	if !ok {
		return false
	}
	return x
}

// Int64 returns v's int64 value.
// If v.Kind() != Int64, Int64 returns 0.
func (v Value) Int64() int64 {
	x, ok := v.data.(int64)
	if !ok {
		return 0
	}
	return x
}

// Float64 returns v's float64 value, converting from integer if necessary.
// If v.Kind() != Float64 and v.Kind() != Int64, Float64 returns 0.
func (v Value) Float64() float64 {
	x, ok := v.data.(float64)
	if !ok {
		x, ok := v.data.(int64)
		if ok {
			return float64(x)
		}
		return 0
	}
	return x
}

// RawString returns v's string value.
// If v.Kind() != String, RawString returns the empty string.
func (v Value) RawString() string {
	x, ok := v.data.(string)
	if !ok {
		return ""
	}
	return x
}

// Text returns v's string value interpreted as a “text string” (defined in the PDF spec)
// and converted to UTF-8.
// If v.Kind() != String, Text returns the empty string.
func (v Value) Text() string {
	x, ok := v.data.(string)
	if !ok {
		return ""
	}
	if isPDFDocEncoded(x) {
		return pdfDocDecode(x)
	}
	if isUTF16(x) {
		return utf16Decode(x[2:])
	}
	return x
}

// TextFromUTF16 returns v's string value interpreted as big-endian UTF-16
// and then converted to UTF-8.
// If v.Kind() != String or if the data is not valid UTF-16, TextFromUTF16 returns
// the empty string.
func (v Value) TextFromUTF16() string {
	x, ok := v.data.(string)
	if !ok {
		return ""
	}
	if len(x)%2 == 1 {
		return ""
	}
	if x == "" {
		return ""
	}
	return utf16Decode(x)
}

// Name returns v's name value.
// If v.Kind() != Name, Name returns the empty string.
// The returned name does not include the leading slash:
// if v corresponds to the name written using the syntax /Helvetica,
// Name() == "Helvetica".
func (v Value) Name() string {
	x, ok := v.data.(name)
	if !ok {
		return ""
	}
	return string(x)
}

// Key returns the value associated with the given name key in the dictionary v.
// Like the result of the Name method, the key should not include a leading slash.
// If v is a stream, Key applies to the stream's header dictionary.
// If v.Kind() != Dict and v.Kind() != Stream, Key returns a null Value.
func (v Value) Key(key string) Value {
	x, ok := v.data.(dict)
	if !ok {
		strm, ok := v.data.(stream)
		if !ok {
			return Value{}
		}
		x = strm.hdr
	}
	return v.r.resolve(v.ptr, x[name(key)])
}

// Keys returns a sorted list of the keys in the dictionary v.
// If v is a stream, Keys applies to the stream's header dictionary.
// If v.Kind() != Dict and v.Kind() != Stream, Keys returns nil.
func (v Value) Keys() []string {
	x, ok := v.data.(dict)
	if !ok {
		strm, ok := v.data.(stream)
		if !ok {
			return nil
		}
		x = strm.hdr
	}
	keys := []string{} // not nil
	for k := range x {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	return keys
}

// Index returns the i'th element in the array v.
// If v.Kind() != Array or if i is outside the array bounds,
// Index returns a null Value.
func (v Value) Index(i int) Value {
	x, ok := v.data.(array)
	if !ok || i < 0 || i >= len(x) {
		return Value{}
	}
	return v.r.resolve(v.ptr, x[i])
}

// Len returns the length of the array v.
// If v.Kind() != Array, Len returns 0.
func (v Value) Len() int {
	x, ok := v.data.(array)
	if !ok {
		return 0
	}
	return len(x)
}

func (r *Reader) resolve(parent objptr, x interface{}) Value {
	if ptr, ok := x.(objptr); ok {
		// PATCHED: resolved objects are cached, object streams are decoded
		// once, and nesting is bounded so that reference cycles (a stream
		// whose /Length lives in itself) fail instead of overflowing the stack.
		if obj, ok := r.cache[ptr]; ok {
			return r.value(ptr, obj)
		}
		if ptr.id >= uint32(len(r.xref)) {
			return Value{}
		}
		xref := r.xref[ptr.id]
		if xref.ptr != ptr || !xref.inStream && xref.offset == 0 {
			return Value{}
		}
		r.depth++
		defer func() { r.depth-- }()
		if r.depth > maxResolveDepth {
			panic(fmt.Errorf("object references nest too deep at %v", ptr))
		}
		if err := r.g.check(); err != nil {
			panic(err)
		}
		if xref.inStream {
			x = r.fromObjStm(ptr, xref)
		} else {
			b := newBuffer(io.NewSectionReader(r.f, xref.offset, r.end-xref.offset), xref.offset, bufSize)
			b.key = r.key
			b.useAES = r.useAES
			b.aes256 = r.aes256
			obj := b.readObject()
			def, ok := obj.(objdef)
			if !ok {
				panic(fmt.Errorf("loading %v: found %T instead of objdef", ptr, obj))
			}
			if def.ptr != ptr {
				panic(fmt.Errorf("loading %v: found %v", ptr, def.ptr))
			}
			x = def.obj
		}
		r.cache[ptr] = x
		parent = ptr
	}
	return r.value(parent, x)
}

func (r *Reader) value(parent objptr, x interface{}) Value {
	switch x := x.(type) {
	case nil, bool, int64, float64, name, dict, array, stream:
		return Value{r, parent, x}
	case string:
		return Value{r, parent, x}
	default:
		return Value{}
	}
}

// objstm is a decoded object stream.
type objstm struct {
	data []byte
	offs map[uint32]int64 // object id -> offset in data
}

// fromObjStm loads object ptr from the object stream its xref entry names.
func (r *Reader) fromObjStm(ptr objptr, xref xref) object {
	sp := xref.stream
	for hops := 0; hops < 16; hops++ {
		os, ok := r.objstms[sp]
		if !ok {
			strm := r.resolve(objptr{}, sp)
			if strm.Kind() != Stream {
				panic("not a stream")
			}
			if strm.Key("Type").Name() != "ObjStm" {
				panic("not an object stream")
			}
			n := strm.Key("N").Int64()
			first := strm.Key("First").Int64()
			if first <= 0 || n < 0 || n > maxObjects {
				panic("malformed object stream header")
			}
			rd := strm.Reader()
			data, err := io.ReadAll(rd)
			if err != nil {
				panic(fmt.Errorf("reading object stream: %w", err))
			}
			os = &objstm{data: data, offs: map[uint32]int64{}}
			b := newBuffer(bytes.NewReader(data), 0, bufSize)
			b.allowEOF = true
			for i := int64(0); i < n && !b.eof; i++ {
				id, _ := b.readToken().(int64)
				off, _ := b.readToken().(int64)
				if id >= 0 && off >= 0 && first+off < int64(len(data)) {
					if _, dup := os.offs[uint32(id)]; !dup {
						os.offs[uint32(id)] = first + off
					}
				}
			}
			r.objstms[sp] = os
			if off, ok := os.offs[ptr.id]; ok {
				return readObjAt(os.data, off)
			}
			ext := strm.Key("Extends")
			if ext.Kind() != Stream {
				panic("cannot find object in stream")
			}
			sp = ext.ptr
			continue
		}
		if off, ok := os.offs[ptr.id]; ok {
			return readObjAt(os.data, off)
		}
		ext := r.resolve(objptr{}, sp).Key("Extends")
		if ext.Kind() != Stream {
			panic("cannot find object in stream")
		}
		sp = ext.ptr
	}
	panic("object stream Extends chain too long")
}

func readObjAt(data []byte, off int64) object {
	b := newBuffer(bytes.NewReader(data[off:]), 0, bufSize)
	b.allowEOF = true
	return b.readObject()
}

type errorReadCloser struct {
	err error
}

func (e *errorReadCloser) Read([]byte) (int, error) {
	return 0, e.err
}

func (e *errorReadCloser) Close() error {
	return e.err
}

// Reader returns the data contained in the stream v.
// If v.Kind() != Stream, Reader returns a ReadCloser that
// responds to all reads with a “stream not present” error.
//
// PATCHED (quarry): unknown filters give a reader that fails instead of a
// panic; LZW, RunLength and ASCIIHex are decoded; every decoded stream is
// metered against the Reader's limits (total bytes, ratio, cancellation).
func (v Value) Reader() io.ReadCloser {
	x, ok := v.data.(stream)
	if !ok {
		return &errorReadCloser{fmt.Errorf("stream not present")}
	}
	streamLen := v.Key("Length").Int64()
	if streamLen > 0 && !v.r.endstreamAt(x.offset+streamLen) {
		if n := v.r.findEndstream(x.offset); n > 0 {
			streamLen = n // PATCHED: a wrong /Length cut streams short
		}
	}
	if streamLen <= 0 {
		// /Length missing, broken or indirect to nowhere: find endstream.
		streamLen = v.r.findEndstream(x.offset)
	}
	if streamLen <= 0 {
		return io.NopCloser(bytes.NewReader(nil))
	}
	if rest := v.r.end - x.offset; streamLen > rest {
		streamLen = rest
	}
	var rd io.Reader
	rd = io.NewSectionReader(v.r.f, x.offset, streamLen)
	if v.r.key != nil {
		rd = decryptStream(v.r.key, v.r.useAES, v.r.aes256, x.ptr, rd)
	}
	filter := v.Key("Filter")
	param := v.Key("DecodeParms")
	if param.IsNull() {
		param = v.Key("DP")
	}
	filtered := false
	switch filter.Kind() {
	default:
		return &errorReadCloser{fmt.Errorf("unsupported filter %v", filter)}
	case Null:
		// ok
	case Name:
		rd = applyFilter(rd, filter.Name(), param)
		filtered = true
	case Array:
		if filter.Len() > 8 {
			return &errorReadCloser{fmt.Errorf("too many filters")}
		}
		for i := 0; i < filter.Len(); i++ {
			p := param
			if param.Kind() == Array {
				p = param.Index(i)
			}
			rd = applyFilter(rd, filter.Index(i).Name(), p)
			filtered = true
		}
	}
	return io.NopCloser(v.r.g.meter(rd, streamLen, filtered))
}

// endstreamAt reports whether "endstream" follows off, after optional space.
func (r *Reader) endstreamAt(off int64) bool {
	var buf [32]byte
	n, _ := r.f.ReadAt(buf[:], off)
	return bytes.Contains(buf[:n], []byte("endstream"))
}

// findEndstream returns the length of the stream data starting at off, up to
// the next "endstream", or 0 when there is none.
func (r *Reader) findEndstream(off int64) int64 {
	const chunk = 64 << 10
	buf := make([]byte, chunk+16)
	for pos := off; pos < r.end; pos += chunk {
		n, _ := r.f.ReadAt(buf, pos)
		if n <= 0 {
			break
		}
		if i := bytes.Index(buf[:n], []byte("endstream")); i >= 0 {
			return pos - off + int64(i)
		}
		if r.g.check() != nil {
			break
		}
	}
	return 0
}

func applyFilter(rd io.Reader, name string, param Value) io.Reader {
	switch name {
	default:
		return &errorReadCloser{fmt.Errorf("unsupported filter %s", name)}
	case "FlateDecode", "Fl":
		zr, err := zlib.NewReader(rd)
		if err != nil {
			return &errorReadCloser{err}
		}
		return predictor(zr, param)
	case "LZWDecode", "LZW":
		early := true
		if e := param.Key("EarlyChange"); e.Kind() == Integer && e.Int64() == 0 {
			early = false
		}
		return predictor(newLZWReader(rd, early), param)
	case "ASCII85Decode", "A85":
		return ascii85.NewDecoder(newAlphaReader(rd))
	case "ASCIIHexDecode", "AHx":
		return &asciiHexReader{r: rd}
	case "RunLengthDecode", "RL":
		return &runLengthReader{r: rd}
	}
}

var passwordPad = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

// PDF encryption parameters. See PDF 32000-1:2008, §7.6.
const (
	// minKeyBits and maxKeyBits bound the /Length value (in bits) in the
	// encryption dictionary.
	minKeyBits = 40
	maxKeyBits = 128

	// ouEntryLen is the byte length of the O and U entries for encryption
	// revisions 2 through 4.
	ouEntryLen = 32

	// md5KeyIterations is the number of MD5 rounds used to derive the file
	// key for revisions >= 3 (Algorithm 2, step (b)).
	md5KeyIterations = 50

	// rc4UIterations is the number of RC4 rounds used to derive U for
	// revisions >= 3 (Algorithm 5).
	rc4UIterations = 19
)

func (r *Reader) initEncrypt(password string) error {
	// See PDF 32000-1:2008, §7.6.
	encrypt, _ := r.resolve(objptr{}, r.trailer["Encrypt"]).data.(dict)
	if encrypt["Filter"] != name("Standard") {
		return fmt.Errorf("unsupported PDF: encryption filter %v", objfmt(encrypt["Filter"]))
	}
	if v, _ := encrypt["V"].(int64); v == 5 {
		return r.initEncryptV5(encrypt, password)
	}
	n, _ := encrypt["Length"].(int64)
	if n == 0 {
		n = minKeyBits
	}
	if n%8 != 0 || n > maxKeyBits || n < minKeyBits {
		return fmt.Errorf("%d-bit encryption key", n)
	}
	V, _ := encrypt["V"].(int64)
	if V != 1 && V != 2 && (V != 4 || !okayV4(encrypt)) {
		return fmt.Errorf("unsupported PDF: encryption version V=%d; %v", V, objfmt(encrypt))
	}

	ids, ok := r.trailer["ID"].(array)
	if !ok || len(ids) < 1 {
		return fmt.Errorf("missing ID in trailer")
	}
	idstr, ok := ids[0].(string)
	if !ok {
		return fmt.Errorf("missing ID in trailer")
	}
	ID := []byte(idstr)

	R, _ := encrypt["R"].(int64)
	if R < 2 {
		return fmt.Errorf("encryption revision R=%d", R)
	}
	if R > 4 {
		return fmt.Errorf("unsupported PDF: encryption revision R=%d", R)
	}
	O, _ := encrypt["O"].(string)
	U, _ := encrypt["U"].(string)
	if len(O) != ouEntryLen || len(U) != ouEntryLen {
		return fmt.Errorf("missing O= or U= encryption parameters")
	}
	p, _ := encrypt["P"].(int64)
	P := uint32(p)

	// TODO: Password should be converted to Latin-1.
	pw := []byte(password)
	h := md5.New()
	if len(pw) >= len(passwordPad) {
		h.Write(pw[:len(passwordPad)])
	} else {
		h.Write(pw)
		h.Write(passwordPad[:len(passwordPad)-len(pw)])
	}
	h.Write([]byte(O))
	h.Write([]byte{byte(P), byte(P >> 8), byte(P >> 16), byte(P >> 24)})
	h.Write([]byte(ID))
	key := h.Sum(nil)

	keyLen := int(n / 8) // encryption key length in bytes
	if R >= 3 {
		for i := 0; i < md5KeyIterations; i++ {
			h.Reset()
			h.Write(key[:keyLen])
			key = h.Sum(key[:0])
		}
		key = key[:keyLen]
	} else {
		key = key[:minKeyBits/8]
	}

	c, err := rc4.NewCipher(key)
	if err != nil {
		return fmt.Errorf("invalid RC4 key: %v", err)
	}

	var u []byte
	if R == 2 {
		u = make([]byte, len(passwordPad))
		copy(u, passwordPad)
		c.XORKeyStream(u, u)
	} else {
		h.Reset()
		h.Write(passwordPad)
		h.Write([]byte(ID))
		u = h.Sum(nil)
		c.XORKeyStream(u, u)

		for i := 1; i <= rc4UIterations; i++ {
			key1 := make([]byte, len(key))
			copy(key1, key)
			for j := range key1 {
				key1[j] ^= byte(i)
			}
			c, _ = rc4.NewCipher(key1)
			c.XORKeyStream(u, u)
		}
	}

	if !bytes.HasPrefix([]byte(U), u) {
		return ErrInvalidPassword
	}

	r.key = key
	r.useAES = V == 4

	return nil
}

var ErrInvalidPassword = fmt.Errorf("encrypted PDF: invalid password")

func okayV4(encrypt dict) bool {
	cf, ok := encrypt["CF"].(dict)
	if !ok {
		return false
	}
	stmf, ok := encrypt["StmF"].(name)
	if !ok {
		return false
	}
	strf, ok := encrypt["StrF"].(name)
	if !ok {
		return false
	}
	if stmf != strf {
		return false
	}
	cfparam, ok := cf[stmf].(dict)
	if !ok {
		return false
	}
	if cfparam["AuthEvent"] != nil && cfparam["AuthEvent"] != name("DocOpen") {
		return false
	}
	if cfparam["Length"] != nil && cfparam["Length"] != int64(16) {
		return false
	}
	if cfparam["CFM"] != name("AESV2") {
		return false
	}
	return true
}

func cryptKey(key []byte, useAES, aes256 bool, ptr objptr) []byte {
	if aes256 {
		return key
	}
	h := md5.New()
	h.Write(key)
	h.Write([]byte{byte(ptr.id), byte(ptr.id >> 8), byte(ptr.id >> 16), byte(ptr.gen), byte(ptr.gen >> 8)})
	if useAES {
		h.Write([]byte("sAlT"))
	}
	sum := h.Sum(nil)
	// Algorithm 1: the object key is n+5 bytes of the hash, at most 16.
	if n := len(key) + 5; n < len(sum) {
		sum = sum[:n]
	}
	return sum
}

// PATCHED: AES strings that are short or not whole blocks no longer panic.
func decryptString(key []byte, useAES, aes256 bool, ptr objptr, x string) string {
	key = cryptKey(key, useAES, aes256, ptr)
	if useAES {
		s := []byte(x)
		if len(s) < 2*aes.BlockSize {
			return ""
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return ""
		}
		iv := s[:aes.BlockSize]
		s = s[aes.BlockSize:]
		s = s[:len(s)/aes.BlockSize*aes.BlockSize]
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(s, s)
		if n := int(s[len(s)-1]); n >= 1 && n <= aes.BlockSize && n <= len(s) {
			s = s[:len(s)-n]
		}
		return string(s)
	}
	c, err := rc4.NewCipher(key)
	if err != nil {
		return x
	}
	data := []byte(x)
	c.XORKeyStream(data, data)
	return string(data)
}

func decryptStream(key []byte, useAES, aes256 bool, ptr objptr, rd io.Reader) io.Reader {
	key = cryptKey(key, useAES, aes256, ptr)
	if useAES {
		cb, err := aes.NewCipher(key)
		if err != nil {
			return &errorReadCloser{err}
		}
		iv := make([]byte, 16)
		if _, err := io.ReadFull(rd, iv); err != nil {
			return &errorReadCloser{err}
		}
		cbc := cipher.NewCBCDecrypter(cb, iv)
		return &cbcReader{cbc: cbc, rd: rd, buf: make([]byte, 16)}
	}
	c, err := rc4.NewCipher(key)
	if err != nil {
		return &errorReadCloser{err}
	}
	return &cipher.StreamReader{S: c, R: rd}
}

type cbcReader struct {
	cbc  cipher.BlockMode
	rd   io.Reader
	buf  []byte
	next []byte
	done bool
	pend []byte
}

func (r *cbcReader) Read(b []byte) (n int, err error) {
	if len(r.pend) == 0 {
		if r.next == nil {
			r.next = make([]byte, 16)
			if _, err = io.ReadFull(r.rd, r.next); err != nil {
				return 0, io.EOF
			}
		}
		if r.done {
			return 0, io.EOF
		}
		copy(r.buf, r.next)
		r.cbc.CryptBlocks(r.buf, r.buf)
		r.pend = r.buf
		if _, err = io.ReadFull(r.rd, r.next); err != nil {
			// r.buf is the last block: strip its PKCS#5 padding.
			r.done = true
			if p := int(r.buf[15]); p >= 1 && p <= 16 {
				r.pend = r.buf[:16-p]
			}
		}
	}
	n = copy(b, r.pend)
	r.pend = r.pend[n:]
	if n == 0 && r.done {
		return 0, io.EOF
	}
	return n, nil
}
