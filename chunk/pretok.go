package chunk

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Character classes used by the two pre-tokenizer patterns.
const (
	clL    = 1 << iota // \p{L}
	clN                // \p{N}
	clS                // \s (Unicode White_Space)
	clCRLF             // \r or \n
	clUp               // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k)
	clLow              // [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k)
)

// asciiClass holds classOf for ASCII. It is filled by loadEncoder, once,
// before the first encoder is handed out: every use goes through an
// encoder, and nothing is computed at import time.
var (
	asciiClass     [128]uint8
	asciiClassOnce sync.Once
)

func initASCIIClass() {
	asciiClassOnce.Do(func() {
		for r := rune(0); r < 128; r++ {
			asciiClass[r] = classOf(r)
		}
	})
}

func classOf(r rune) uint8 {
	var c uint8
	switch {
	case unicode.IsLetter(r):
		c |= clL
		if unicode.IsUpper(r) || unicode.Is(unicode.Lt, r) || unicode.Is(unicode.Lm, r) || unicode.Is(unicode.Lo, r) {
			c |= clUp
		}
		if unicode.IsLower(r) || unicode.Is(unicode.Lm, r) || unicode.Is(unicode.Lo, r) {
			c |= clLow
		}
	case unicode.IsNumber(r):
		c |= clN
	case unicode.IsSpace(r):
		c |= clS
		if r == '\r' || r == '\n' {
			c |= clCRLF
		}
	case unicode.IsMark(r):
		c |= clUp | clLow
	}
	return c
}

// at decodes the rune at s[i] and returns its class and width. An invalid
// UTF-8 byte is one character of no class (it behaves as punctuation).
func at(s string, i int) (uint8, int) {
	if b := s[i]; b < utf8.RuneSelf {
		return asciiClass[b], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && w == 1 {
		return 0, 1
	}
	if r < 1<<16 {
		return bmpClasses()[r], w
	}
	return classOf(r), w
}

// bmpClasses holds classOf for the Basic Multilingual Plane, built on first
// use (a few milliseconds): the unicode tables are binary searches, too
// slow to consult for every character of CJK text.
var bmpClasses = sync.OnceValue(func() *[1 << 16]uint8 {
	t := new([1 << 16]uint8)
	for r := range t {
		t[r] = classOf(rune(r))
	}
	return t
})

// skip returns the end of the run of characters from i whose class
// intersects want.
func skip(s string, i int, want uint8) int {
	for i < len(s) {
		c, w := at(s, i)
		if c&want == 0 {
			break
		}
		i += w
	}
	return i
}

// skipNot returns the end of the run of characters from i whose class does
// not intersect avoid.
func skipNot(s string, i int, avoid uint8) int {
	for i < len(s) {
		c, w := at(s, i)
		if c&avoid != 0 {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of (?i:'s|'t|'re|'ve|'m|'ll|'d) at s[i:],
// or 0.
func contraction(s string, i int) int {
	if i+1 >= len(s) || s[i] != '\'' {
		return 0
	}
	switch s[i+1] | 0x20 {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if i+2 < len(s) && s[i+2]|0x20 == 'e' {
			return 3
		}
	case 'l':
		if i+2 < len(s) && s[i+2]|0x20 == 'l' {
			return 3
		}
	}
	return 0
}

// nextPiece returns the end of the pre-token that starts at s[i]
// (i < len(s)). It is a hand-written, linear-time equivalent of tiktoken's
// regular expression for the encoding:
//
// cl100k_base:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// o200k_base:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//	\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// The backtracking of each alternative is resolved by hand; the tests check
// the result against the regexp2-based pieces of pkoukk/tiktoken-go.
func nextPiece(s string, i int, o200k bool) int {
	c0, w0 := at(s, i)
	if o200k {
		if e := o200kWord(s, i, c0, w0); e >= 0 {
			return e
		}
	} else {
		if s[i] == '\'' {
			if n := contraction(s, i); n > 0 {
				return i + n
			}
		}
		if c0&clL != 0 {
			return skip(s, i+w0, clL)
		}
		if c0&(clL|clN|clCRLF) == 0 && i+w0 < len(s) {
			if c1, w1 := at(s, i+w0); c1&clL != 0 {
				return skip(s, i+w0+w1, clL)
			}
		}
	}
	// \p{N}{1,3}
	if c0&clN != 0 {
		j := i + w0
		for k := 1; k < 3 && j < len(s); k++ {
			c, w := at(s, j)
			if c&clN == 0 {
				break
			}
			j += w
		}
		return j
	}
	// ' ?[^\s\p{L}\p{N}]+[\r\n]*' ('[\r\n/]*' for o200k)
	j := i
	if s[i] == ' ' {
		j++
	}
	if j < len(s) {
		if c, _ := at(s, j); c&(clS|clL|clN) == 0 {
			j = skipNot(s, j, clS|clL|clN)
			for j < len(s) && (s[j] == '\r' || s[j] == '\n' || (o200k && s[j] == '/')) {
				j++
			}
			return j
		}
	}
	// Only whitespace is left: c0 is \s.
	end, lastNL, lastStart := i, -1, i
	for end < len(s) {
		c, w := at(s, end)
		if c&clS == 0 {
			break
		}
		if c&clCRLF != 0 {
			lastNL = end
		}
		lastStart = end
		end += w
	}
	if lastNL >= 0 { // \s*[\r\n]+
		return lastNL + 1
	}
	if end == len(s) || lastStart == i { // \s+(?!\S) at the end, or \s+
		return end
	}
	return lastStart // \s+(?!\S): leave the last space to the next word
}

// o200kWord matches the first two o200k alternatives at s[i], or returns -1.
func o200kWord(s string, i int, c0 uint8, w0 int) int {
	prefix := c0&(clL|clN|clCRLF) == 0 && i+w0 < len(s)
	if prefix {
		if e := o200kLowerAt(s, i+w0); e >= 0 {
			return e
		}
	}
	if e := o200kLowerAt(s, i); e >= 0 {
		return e
	}
	if prefix {
		if e := o200kUpperAt(s, i+w0); e >= 0 {
			return e
		}
	}
	return o200kUpperAt(s, i)
}

// o200kLowerAt matches [Up]*[Low]+ contraction? at s[p], or returns -1.
func o200kLowerAt(s string, p int) int {
	j, lastLow := p, -1
	for j < len(s) {
		c, w := at(s, j)
		if c&clUp == 0 {
			break
		}
		if c&clLow != 0 {
			lastLow = j
		}
		j += w
	}
	var e int
	if c, _ := atOrZero(s, j); c&clLow != 0 {
		e = skip(s, j, clLow)
	} else if lastLow >= 0 {
		// Backtrack [Up]* to the last character that is also in [Low];
		// the character after it is in [Up] but not [Low].
		_, w := at(s, lastLow)
		e = lastLow + w
	} else {
		return -1
	}
	return e + contraction(s, e)
}

// o200kUpperAt matches [Up]+[Low]* contraction? at s[p], or returns -1.
func o200kUpperAt(s string, p int) int {
	if c, _ := atOrZero(s, p); c&clUp == 0 {
		return -1
	}
	e := skip(s, skip(s, p, clUp), clLow)
	return e + contraction(s, e)
}

func atOrZero(s string, i int) (uint8, int) {
	if i >= len(s) {
		return 0, 0
	}
	return at(s, i)
}
