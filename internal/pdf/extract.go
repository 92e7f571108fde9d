// PATCHED (quarry): text extraction that splits strings into character codes
// with the font's code space, maps them through ToUnicode or the font's
// encoding, and advances by the real glyph widths (simple, Type0 and Type3
// fonts), following form XObjects. It replaces Content for text.

package pdf

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// textFont is a font prepared for extraction.
type textFont struct {
	name     string
	twoByte  bool    // Type0 without a usable code space: 2-byte codes
	space    *cmap   // code space and ToUnicode map, or nil
	uni      *uniMap // ToUnicode lookups
	table    *[256]rune
	first    int
	widths   []float64
	dw       float64
	cidW     map[int]float64
	scale    float64 // glyph space to text space (1/1000 or Type3 FontMatrix)
	vertical bool
}

type uniMap struct {
	chars  map[string]string
	ranges []bfrange
}

func (u *uniMap) lookup(code string) (string, bool) {
	if s, ok := u.chars[code]; ok {
		return s, true
	}
	for _, r := range u.ranges {
		if len(r.lo) != len(code) || code < r.lo || code > r.hi {
			continue
		}
		off := codeInt(code) - codeInt(r.lo)
		switch r.dst.Kind() {
		case String:
			d := []byte(r.dst.RawString())
			if len(d) < 2 {
				return "", false
			}
			v := int(d[len(d)-2])<<8 | int(d[len(d)-1]) + off
			d[len(d)-2], d[len(d)-1] = byte(v>>8), byte(v)
			return utf16Decode(string(d)), true
		case Array:
			return utf16Decode(r.dst.Index(off).RawString()), true
		}
		return "", false
	}
	return "", false
}

func codeInt(s string) int {
	x := 0
	for i := 0; i < len(s); i++ {
		x = x<<8 | int(s[i])
	}
	return x
}

func (r *Reader) textFont(v Value) *textFont {
	if f, ok := r.fonts[v.ptr]; ok && v.ptr != (objptr{}) {
		return f
	}
	f := &textFont{name: v.Key("BaseFont").Name(), scale: 0.001, dw: 1000}
	if i := strings.Index(f.name, "+"); i >= 0 {
		f.name = f.name[i+1:]
	}
	sub := v.Key("Subtype").Name()
	if tu := v.Key("ToUnicode"); tu.Kind() == Stream {
		if m := safeReadCmap(tu); m != nil {
			f.uni = &uniMap{chars: make(map[string]string, len(m.bfchar)), ranges: m.bfrange}
			for _, c := range m.bfchar {
				f.uni.chars[c.orig] = utf16Decode(c.repl)
			}
			for _, sp := range m.space {
				if len(sp) > 0 {
					f.space = m
					break
				}
			}
		}
	}
	if sub == "Type0" {
		f.twoByte = true
		enc := v.Key("Encoding").Name()
		f.vertical = strings.HasSuffix(enc, "-V")
		if f.uni == nil && strings.HasPrefix(enc, "Uni") && strings.Contains(enc, "UCS2") {
			f.uni = &uniMap{} // UCS-2 codes decode as themselves below
			f.space = nil
		}
		d := v.Key("DescendantFonts").Index(0)
		if dw := d.Key("DW"); dw.Kind() == Integer || dw.Kind() == Real {
			f.dw = dw.Float64()
		}
		f.cidW = map[int]float64{}
		w := d.Key("W")
		for i := 0; i < w.Len() && len(f.cidW) < 1<<16; {
			c := int(w.Index(i).Int64())
			next := w.Index(i + 1)
			if next.Kind() == Array {
				for j := 0; j < next.Len() && j < 1<<16; j++ {
					f.cidW[c+j] = next.Index(j).Float64()
				}
				i += 2
				continue
			}
			hi := int(next.Int64())
			wd := w.Index(i + 2).Float64()
			for c2 := c; c2 <= hi && c2-c < 1<<16; c2++ {
				f.cidW[c2] = wd
			}
			i += 3
		}
	} else {
		f.table = simpleTable(v)
		f.first = int(v.Key("FirstChar").Int64())
		ws := v.Key("Widths")
		for i := 0; i < ws.Len() && i < 256; i++ {
			f.widths = append(f.widths, ws.Index(i).Float64())
		}
		if sub == "Type3" {
			if m := v.Key("FontMatrix"); m.Len() == 6 {
				f.scale = m.Index(0).Float64()
			}
		}
	}
	if v.ptr != (objptr{}) {
		r.fonts[v.ptr] = f
	}
	return f
}

func safeReadCmap(v Value) (m *cmap) {
	defer func() {
		if recover() != nil {
			m = nil
		}
	}()
	return readCmap(v)
}

// simpleTable is the byte-to-rune table of a simple font's encoding.
func simpleTable(v Value) *[256]rune {
	enc := v.Key("Encoding")
	base := enc
	if enc.Kind() == Dict {
		base = enc.Key("BaseEncoding")
	}
	var t [256]rune
	switch base.Name() {
	case "WinAnsiEncoding":
		t = winAnsiEncoding
	case "MacRomanEncoding":
		t = macRomanEncoding
	default:
		t = pdfDocEncoding
		for i := 0; i < 256; i++ { // StandardEncoding differs from PDFDoc in a few places
			if t[i] == noRune && i >= 0x20 {
				t[i] = winAnsiEncoding[i]
			}
		}
		t['\''] = '’'
		t['`'] = '‘'
	}
	if enc.Kind() == Dict {
		d := enc.Key("Differences")
		code := 0
		for i := 0; i < d.Len(); i++ {
			x := d.Index(i)
			switch x.Kind() {
			case Integer:
				code = int(x.Int64())
			case Name:
				if code >= 0 && code < 256 {
					if r := glyphRune(x.Name()); r != 0 {
						t[code] = r
					}
				}
				code++
			}
		}
	}
	return &t
}

func glyphRune(n string) rune {
	if r, ok := nameToRune[n]; ok {
		return r
	}
	if i := strings.IndexByte(n, '.'); i > 0 { // "a.sc", "one.oldstyle"
		if r, ok := nameToRune[n[:i]]; ok {
			return r
		}
	}
	for _, p := range []string{"uni", "u"} {
		if strings.HasPrefix(n, p) && len(n) >= len(p)+4 {
			if x, err := strconv.ParseUint(n[len(p):len(p)+4], 16, 32); err == nil {
				return rune(x)
			}
		}
	}
	return 0
}

// codes splits a shown string into character codes.
func (f *textFont) codes(s string) []string {
	var out []string
	for len(s) > 0 {
		n := 1
		if f.space != nil {
			n = 0
			for k := 1; k <= 4 && k <= len(s) && n == 0; k++ {
				for _, sp := range f.space.space[k-1] {
					if sp.low <= s[:k] && s[:k] <= sp.high {
						n = k
						break
					}
				}
			}
			if n == 0 {
				n = 1
				if f.twoByte {
					n = 2
				}
			}
		} else if f.twoByte {
			n = 2
		}
		if n > len(s) {
			n = len(s)
		}
		out = append(out, s[:n])
		s = s[n:]
	}
	return out
}

func (f *textFont) decode(code string) string {
	if f.uni != nil {
		if s, ok := f.uni.lookup(code); ok {
			return s
		}
		if f.twoByte && f.uni.chars == nil && len(code) == 2 { // UCS-2 encodings
			return string(utf16.Decode([]uint16{uint16(codeInt(code))}))
		}
	}
	if f.table != nil && len(code) == 1 {
		if r := f.table[code[0]]; r != noRune && r != 0 {
			return string(r)
		}
		return ""
	}
	return ""
}

func (f *textFont) width(code string) float64 {
	c := codeInt(code)
	if f.cidW != nil {
		if w, ok := f.cidW[c]; ok {
			return w
		}
		return f.dw
	}
	if i := c - f.first; i >= 0 && i < len(f.widths) {
		return f.widths[i]
	}
	if len(f.widths) == 0 && f.scale == 0.001 {
		return approxWidth(f.name, c)
	}
	return 0
}

// approxWidth guesses a glyph width for the standard 14 fonts, which files
// may use without /Widths: exact for Courier, rough for the others.
func approxWidth(font string, c int) float64 {
	if strings.Contains(font, "Courier") {
		return 600
	}
	switch {
	case c == ' ':
		return 250
	case c >= '0' && c <= '9':
		return 500
	case c == 'i' || c == 'j' || c == 'l' || c == 'f' || c == 't' || c == 'r':
		return 300
	case c == 'm' || c == 'w':
		return 780
	case c >= 'a' && c <= 'z':
		return 500
	case c == 'M' || c == 'W':
		return 880
	case c == 'I' || c == 'J':
		return 330
	case c >= 'A' && c <= 'Z':
		return 680
	case c == '.' || c == ',' || c == ':' || c == ';' || c == '\'' || c == '!' || c == '|':
		return 270
	}
	return 500
}

// Texts returns the text drawn on the page, one Text per character code, in
// content-stream order. X and Y are the start of the glyph in user space,
// W its advance and FontSize its size in user space.
func (p Page) Texts() (out []Text, err error) {
	defer Recover(&err)
	if p.V.IsNull() {
		return nil, nil
	}
	x := &textExtractor{r: p.V.r, out: &out}
	x.run(p.V.Key("Contents"), p.Resources(), ident, 0)
	return out, nil
}

type textExtractor struct {
	r     *Reader
	out   *[]Text
	forms int
}

func (x *textExtractor) run(strm, res Value, ctm matrix, depth int) {
	if strm.IsNull() {
		return
	}
	g := gstate{Th: 1, CTM: ctm}
	var f *textFont
	var gstack []gstate
	var fstack []*textFont
	fonts := res.Key("Font")
	show := func(s string) {
		if f == nil {
			return
		}
		for _, code := range f.codes(s) {
			w0 := f.width(code) * f.scale
			tx := w0*g.Tfs + g.Tc
			if len(code) == 1 && code[0] == ' ' {
				tx += g.Tw
			}
			tx *= g.Th
			if f.vertical {
				tx = 0
			}
			// Text rendering matrix, Trm = [Tfs*Th 0; 0 Tfs; 0 Trise] x Tm x CTM,
			// computed on the affine parts only.
			m := affine(g.Tm, g.CTM)
			ox, oy := g.Trise*m[1][0]+m[2][0], g.Trise*m[1][1]+m[2][1]
			// The direction is Trm's first row, Tfs*Th times m's: its sign
			// matters (a negative font size or horizontal scaling reverses
			// it), and when it is zero (or NaN) the direction is 1 0.
			dx, dy := m[0][0], m[0][1]
			base := math.Hypot(dx, dy)
			if s := g.Tfs * g.Th; base > 0 && (s > 0 || s < 0) {
				dx, dy = dx/base, dy/base
				if s < 0 {
					dx, dy = -dx, -dy
				}
			} else {
				dx, dy = 1, 0
			}
			size := math.Abs(g.Tfs) * math.Hypot(m[1][0], m[1][1])
			if size == 0 {
				size = math.Abs(g.Tfs*g.Th) * base
			}
			if len(*x.out) < 1<<22 {
				*x.out = append(*x.out, Text{Font: f.name, FontSize: size, X: ox, Y: oy, W: math.Abs(tx) * base, S: f.decode(code), DX: dx, DY: dy})
			}
			g.Tm[2][0] += tx * g.Tm[0][0]
			g.Tm[2][1] += tx * g.Tm[0][1]
		}
	}
	num := func(args []Value, i int) float64 {
		if i < len(args) {
			return args[i].Float64()
		}
		return 0
	}
	newline := func() {
		g.Tlm = matrix{{1, 0, 0}, {0, 1, 0}, {0, -g.Tl, 1}}.mul(g.Tlm)
		g.Tm = g.Tlm
	}
	Interpret(strm, func(stk *Stack, op string) {
		args := popArgs(stk)
		switch op {
		case "cm":
			if len(args) == 6 {
				var m matrix
				for i := 0; i < 6; i++ {
					m[i/2][i%2] = args[i].Float64()
				}
				m[2][2] = 1
				g.CTM = m.mul(g.CTM)
			}
		case "q":
			if len(gstack) < 1024 {
				gstack = append(gstack, g)
				fstack = append(fstack, f)
			}
		case "Q":
			if n := len(gstack) - 1; n >= 0 {
				g, f = gstack[n], fstack[n]
				gstack, fstack = gstack[:n], fstack[:n]
			}
		case "BT":
			g.Tm, g.Tlm = ident, ident
		case "T*":
			newline()
		case "Tc":
			g.Tc = num(args, 0)
		case "Tw":
			g.Tw = num(args, 0)
		case "Tz":
			g.Th = num(args, 0) / 100
		case "TL":
			g.Tl = num(args, 0)
		case "Ts":
			g.Trise = num(args, 0)
		case "TD", "Td":
			if op == "TD" {
				g.Tl = -num(args, 1)
			}
			g.Tlm = matrix{{1, 0, 0}, {0, 1, 0}, {num(args, 0), num(args, 1), 1}}.mul(g.Tlm)
			g.Tm = g.Tlm
		case "Tm":
			if len(args) == 6 {
				var m matrix
				for i := 0; i < 6; i++ {
					m[i/2][i%2] = args[i].Float64()
				}
				m[2][2] = 1
				g.Tm, g.Tlm = m, m
			}
		case "Tf":
			if len(args) == 2 {
				fv := fonts.Key(args[0].Name())
				if fv.Kind() == Dict {
					f = x.r.textFont(fv)
				} else {
					f = nil
				}
				g.Tfs = args[1].Float64()
			}
		case "\"":
			if len(args) == 3 {
				g.Tw, g.Tc = args[0].Float64(), args[1].Float64()
				newline()
				show(args[2].RawString())
			}
		case "'":
			if len(args) == 1 {
				newline()
				show(args[0].RawString())
			}
		case "Tj":
			if len(args) == 1 {
				show(args[0].RawString())
			}
		case "TJ":
			if len(args) == 1 {
				v := args[0]
				for i := 0; i < v.Len(); i++ {
					e := v.Index(i)
					if e.Kind() == String {
						show(e.RawString())
					} else {
						tx := -e.Float64() / 1000 * g.Tfs * g.Th
						g.Tm[2][0] += tx * g.Tm[0][0]
						g.Tm[2][1] += tx * g.Tm[0][1]
					}
				}
			}
		case "Do":
			if len(args) != 1 || depth >= 8 || x.forms >= 4096 {
				return
			}
			xo := res.Key("XObject").Key(args[0].Name())
			if xo.Kind() != Stream || xo.Key("Subtype").Name() != "Form" {
				return
			}
			x.forms++
			m := ident
			if mv := xo.Key("Matrix"); mv.Len() == 6 {
				for i := 0; i < 6; i++ {
					m[i/2][i%2] = mv.Index(i).Float64()
				}
			}
			fres := xo.Key("Resources")
			if fres.IsNull() {
				fres = res
			}
			x.run(xo, fres, m.mul(g.CTM), depth+1)
		}
	})
}

// affine multiplies two affine matrices (third column 0 0 1).
func affine(x, y matrix) matrix {
	return matrix{
		{x[0][0]*y[0][0] + x[0][1]*y[1][0], x[0][0]*y[0][1] + x[0][1]*y[1][1], 0},
		{x[1][0]*y[0][0] + x[1][1]*y[1][0], x[1][0]*y[0][1] + x[1][1]*y[1][1], 0},
		{x[2][0]*y[0][0] + x[2][1]*y[1][0] + y[2][0], x[2][0]*y[0][1] + x[2][1]*y[1][1] + y[2][1], 1},
	}
}
