package rerank

import (
	"unicode"
	"unicode/utf8"

	porterstemmer "github.com/blevesearch/go-porterstemmer"
)

// tokenizer splits text into lower-cased runs of letters and digits. Next
// returns a slice of an internal buffer that is valid until the next call.
// It never allocates once the buffer has grown to the longest token.
type tokenizer struct {
	s   string
	i   int
	buf []byte
}

func (t *tokenizer) reset(s string) { t.s, t.i = s, 0 }

// Byte classes of byteClass.
const (
	classSep   = 0 // ASCII separator
	classLower = 1 // ASCII lower-case letter or digit
	classUpper = 2 // ASCII upper-case letter
	classMulti = 3 // part of a multi-byte UTF-8 sequence: decode to decide
)

// byteClass classifies bytes; a composite literal, so it costs nothing at
// start-up.
var byteClass = [256]uint8{
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

func (t *tokenizer) next() ([]byte, bool) {
	s := t.s
	i := t.i
	// Skip separators.
	for i < len(s) {
		b := s[i]
		if b < utf8.RuneSelf {
			if byteClass[b] != classSep {
				break
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
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
			switch byteClass[b] {
			case classSep:
				t.i = i
				t.buf = buf
				return buf, true
			case classUpper:
				b += 'a' - 'A'
			}
			buf = append(buf, b)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
			break
		}
		buf = utf8.AppendRune(buf, unicode.ToLower(r))
		i += n
	}
	t.i = i
	t.buf = buf
	return buf, true
}

// stem returns the Porter stem of a lower-cased token. Tokens that are not
// plain ASCII letters are returned unchanged: the Porter rules are English.
func stem(tok string) string {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 'a' || c > 'z' {
			return tok
		}
	}
	if len(tok) <= 2 {
		return tok
	}
	return string(porterstemmer.StemWithoutLowerCasing([]rune(tok)))
}

// isStopWord reports whether a lower-cased token is an English stop word.
// A switch compiles to a binary search with no start-up cost.
func isStopWord(w string) bool {
	switch w {
	case "a", "about", "above", "after", "again", "against", "all", "am", "an", "and",
		"any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
		"between", "both", "but", "by", "can", "could", "did", "do", "does", "doing",
		"down", "during", "each", "few", "for", "from", "further", "had", "has", "have",
		"having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how",
		"i", "if", "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most",
		"my", "myself", "no", "nor", "not", "now", "of", "off", "on", "once", "only", "or",
		"other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should",
		"so", "some", "such", "than", "that", "the", "their", "theirs", "them",
		"themselves", "then", "there", "these", "they", "this", "those", "through", "to",
		"too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
		"which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
		"yours", "yourself", "yourselves", "s", "t", "d", "ll", "m", "re", "ve", "don",
		"doesn", "didn", "isn", "aren", "wasn", "weren", "won", "shall", "may", "might",
		"must", "also", "tell", "please", "know", "explain", "describe":
		return true
	}
	return false
}
