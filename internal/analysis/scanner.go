package analysis

import (
	"unicode"
	"unicode/utf8"
)

// Scanner splits text into tokens: lower-cased, accent-folded runs of
// letters and digits, and bigrams over runs of CJK characters (a lone CJK
// character is a token of its own). It does not remove stop words or stem.
// Next returns a slice of an internal buffer that is valid until the next
// call; a Scanner never allocates once that buffer has grown to the longest
// token. A Scanner is not safe for concurrent use.
//
// Unlike [NewAnalyzer] it does not apply NFKC to the whole text (that would
// copy it); compatibility forms other than Latin accents are left as they
// are.
type Scanner struct {
	s   string
	i   int
	buf []byte
}

// Reset starts scanning s.
func (t *Scanner) Reset(s string) { t.s, t.i = s, 0 }

// Seek restarts scanning s at byte offset i, which must start a rune.
func (t *Scanner) Seek(s string, i int) { t.s, t.i = s, i }

// Offset is the byte offset just past the last token returned (for a CJK
// bigram, past its first character, where the next bigram starts).
func (t *Scanner) Offset() int { return t.i }

// Byte classes of ByteClass.
const (
	ClassSep   = 0 // ASCII separator
	ClassLower = 1 // ASCII lower-case letter or digit
	ClassUpper = 2 // ASCII upper-case letter
	ClassMulti = 3 // part of a multi-byte UTF-8 sequence: decode to decide
)

// ByteClass classifies bytes for callers that skip text byte by byte
// before handing a plausible token to the Scanner.
var ByteClass = [256]uint8{
	'0': 1, '1': 1, '2': 1, '3': 1, '4': 1, '5': 1, '6': 1, '7': 1, '8': 1, '9': 1, 'A': 2,
	'B': 2, 'C': 2, 'D': 2, 'E': 2, 'F': 2, 'G': 2, 'H': 2, 'I': 2, 'J': 2, 'K': 2, 'L': 2,
	'M': 2, 'N': 2, 'O': 2, 'P': 2, 'Q': 2, 'R': 2, 'S': 2, 'T': 2, 'U': 2, 'V': 2, 'W': 2,
	'X': 2, 'Y': 2, 'Z': 2, 'a': 1, 'b': 1, 'c': 1, 'd': 1, 'e': 1, 'f': 1, 'g': 1, 'h': 1,
	'i': 1, 'j': 1, 'k': 1, 'l': 1, 'm': 1, 'n': 1, 'o': 1, 'p': 1, 'q': 1, 'r': 1, 's': 1,
	't': 1, 'u': 1, 'v': 1, 'w': 1, 'x': 1, 'y': 1, 'z': 1, 0x80: 3, 0x81: 3, 0x82: 3, 0x83: 3,
	0x84: 3, 0x85: 3, 0x86: 3, 0x87: 3, 0x88: 3, 0x89: 3, 0x8a: 3, 0x8b: 3, 0x8c: 3, 0x8d: 3,
	0x8e: 3, 0x8f: 3, 0x90: 3, 0x91: 3, 0x92: 3, 0x93: 3, 0x94: 3, 0x95: 3, 0x96: 3, 0x97: 3,
	0x98: 3, 0x99: 3, 0x9a: 3, 0x9b: 3, 0x9c: 3, 0x9d: 3, 0x9e: 3, 0x9f: 3, 0xa0: 3, 0xa1: 3,
	0xa2: 3, 0xa3: 3, 0xa4: 3, 0xa5: 3, 0xa6: 3, 0xa7: 3, 0xa8: 3, 0xa9: 3, 0xaa: 3, 0xab: 3,
	0xac: 3, 0xad: 3, 0xae: 3, 0xaf: 3, 0xb0: 3, 0xb1: 3, 0xb2: 3, 0xb3: 3, 0xb4: 3, 0xb5: 3,
	0xb6: 3, 0xb7: 3, 0xb8: 3, 0xb9: 3, 0xba: 3, 0xbb: 3, 0xbc: 3, 0xbd: 3, 0xbe: 3, 0xbf: 3,
	0xc0: 3, 0xc1: 3, 0xc2: 3, 0xc3: 3, 0xc4: 3, 0xc5: 3, 0xc6: 3, 0xc7: 3, 0xc8: 3, 0xc9: 3,
	0xca: 3, 0xcb: 3, 0xcc: 3, 0xcd: 3, 0xce: 3, 0xcf: 3, 0xd0: 3, 0xd1: 3, 0xd2: 3, 0xd3: 3,
	0xd4: 3, 0xd5: 3, 0xd6: 3, 0xd7: 3, 0xd8: 3, 0xd9: 3, 0xda: 3, 0xdb: 3, 0xdc: 3, 0xdd: 3,
	0xde: 3, 0xdf: 3, 0xe0: 3, 0xe1: 3, 0xe2: 3, 0xe3: 3, 0xe4: 3, 0xe5: 3, 0xe6: 3, 0xe7: 3,
	0xe8: 3, 0xe9: 3, 0xea: 3, 0xeb: 3, 0xec: 3, 0xed: 3, 0xee: 3, 0xef: 3, 0xf0: 3, 0xf1: 3,
	0xf2: 3, 0xf3: 3, 0xf4: 3, 0xf5: 3, 0xf6: 3, 0xf7: 3, 0xf8: 3, 0xf9: 3, 0xfa: 3, 0xfb: 3,
	0xfc: 3, 0xfd: 3, 0xfe: 3, 0xff: 3,
}

// IsWordRune reports whether r continues a (non-CJK) word: a letter, a
// digit or a combining mark.
func IsWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// Next returns the next token, or false at the end of the text.
func (t *Scanner) Next() ([]byte, bool) {
	s := t.s
	i := t.i
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if ByteClass[b] != ClassSep {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if IsCJK(r) {
			// A bigram starts at every CJK character followed by another;
			// the last character of a run was already covered by the
			// bigram before it.
			r2, n2 := utf8.DecodeRuneInString(s[i+n:])
			if n2 > 0 && IsCJK(r2) {
				t.buf = utf8.AppendRune(utf8.AppendRune(t.buf[:0], r), r2)
				t.i = i + n
				return t.buf, true
			}
			if p, _ := utf8.DecodeLastRuneInString(s[:i]); i > 0 && IsCJK(p) {
				i += n
				continue
			}
			t.buf = utf8.AppendRune(t.buf[:0], r)
			t.i = i + n
			return t.buf, true
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			break
		}
		i += n
	}
	if i >= len(s) {
		t.i = i
		return nil, false
	}
	buf := t.buf[:0]
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			switch ByteClass[b] {
			case ClassSep:
				t.i = i
				t.buf = buf
				return buf, true
			case ClassUpper:
				b += 'a' - 'A'
			}
			buf = append(buf, b)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !IsWordRune(r) || IsCJK(r) {
			break
		}
		if f := FoldRune(r); f >= 0 {
			buf = utf8.AppendRune(buf, f)
		}
		i += n
	}
	t.i = i
	t.buf = buf
	return buf, true
}

// Tokens returns the Scanner's tokens of s, copied.
func Tokens(s string) []string {
	var sc Scanner
	sc.Reset(s)
	var out []string
	for {
		tok, ok := sc.Next()
		if !ok {
			return out
		}
		out = append(out, string(tok))
	}
}
