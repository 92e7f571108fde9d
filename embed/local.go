package embed

import (
	"context"
	"math"
	"unicode"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/analysis"
)

// DefaultLocalDimensions is the hashing embedder's dimension when NewLocal
// is given none.
const DefaultLocalDimensions = 384

// localModel is the hashing embedder's model name in its identity.
const localModel = "hash-v3"

// Local is the hashing embedder (the offline default before NewDefault's
// GloVe model; spec "local:hash-v3"): signed feature hashing of
// normalized words and character trigrams, with CJK text
// handled as character unigrams and bigrams, log-scaled counts,
// L2-normalized. It needs no files and no network, allocates one vector
// per input, and is deterministic across processes and platforms.
//
// Features (model "hash-v3"; v3 normalizes words with the engine's one
// analyzer, internal/analysis, so its vectors differ from hash-v2's):
//   - every word (maximal run of letters, digits and marks, lower-cased
//     and Latin-accent-folded: "café" and "cafe" are one word), weight 1,
//     or 0.25 for the engine's stop words;
//   - the first 5 characters of every word of 5 or more, weight 1.5: a
//     crude, language-agnostic stemmer ("retrieval", "retrieve" and
//     "retrieving" share "retri");
//   - every character trigram of " word " (boundaries included), weight
//     0.35, so inflections and typos still share most features;
//   - for Han, Hiragana, Katakana and Hangul, which have no spaces, every
//     character (weight 1) and every pair of adjacent characters (0.5).
//
// Each feature is hashed to one of Dimensions buckets with a hash-derived
// sign; each bucket x becomes sign(x)·log(1+|x|) (sublinear term frequency)
// and the vector is L2-normalized. An input with no letters or digits maps
// to the zero vector. Word bigrams were tried and left out: at 384
// dimensions their collisions cost more than they gained (measured with
// BenchmarkLocalQuality), so word order does not matter.
//
// A *Local is safe for concurrent use.
type Local struct {
	dim  int
	stop map[uint64]struct{} // hashes of function words; read-only after NewLocal
}

// NewLocal returns the offline embedder with dim dimensions
// (DefaultLocalDimensions when dim <= 0).
func NewLocal(dim int) *Local {
	if dim <= 0 {
		dim = DefaultLocalDimensions
	}
	stopWords := analysis.StopWords()
	l := &Local{dim: dim, stop: make(map[uint64]struct{}, len(stopWords))}
	for _, w := range stopWords {
		var h uint64 = fnvOffset
		for i := 0; i < len(w); i++ {
			h = (h ^ uint64(w[i])) * fnvPrime
		}
		l.stop[h] = struct{}{}
	}
	return l
}

// Identity implements Embedder.
func (l *Local) Identity() Identity {
	return Identity{Provider: "local", Model: localModel, Dimensions: l.dim}
}

// Embed implements Embedder. It never fails except when ctx is done.
func (l *Local) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = l.embedOne(t)
	}
	return out, nil
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211

	seedWord   = 0x9e3779b97f4a7c15
	seedTri    = 0x165667b19e3779f9
	seedCJK    = 0x27d4eb2f165667c5
	seedCJK2   = 0x85ebca77c2b2ae63
	seedPrefix = 0x51afd7ed558ccd

	wWord     = 1.0
	wStop     = 0.25
	wTrigram  = 0.35
	wPrefix   = 1.5
	prefixLen = 5
	wCJK      = 1.0
	wCJKPair  = 0.5
	boundary  = ' '
)

// mix is a 64-bit finalizer (splitmix64): it spreads the bits of a feature
// key so that bucket and sign are independent.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// embedder holds the per-call state of one embedOne.
type hasher struct {
	v   []float32
	dim uint64
}

func (h *hasher) add(key uint64, w float32) {
	k := mix(key)
	idx := ((k >> 32) * h.dim) >> 32
	if k&1 == 1 {
		w = -w
	}
	h.v[idx] += w
}

func (l *Local) embedOne(text string) []float32 {
	h := hasher{v: make([]float32, l.dim), dim: uint64(l.dim)}
	var (
		prevCJK  rune   // previous CJK character, 0 when none
		wordHash uint64 = fnvOffset
		wordLen  int
		r0, r1   rune = boundary, boundary // the two runes before the current one
	)
	endWord := func() {
		if wordLen == 0 {
			return
		}
		// closing trigram: last two runes + boundary
		h.add(uint64(r0)*0x100000001b3^uint64(r1)*0xff51afd7ed558ccd^uint64(boundary)^seedTri, wTrigram)
		w := float32(wWord)
		if _, stop := l.stop[wordHash]; stop {
			w = wStop
		}
		h.add(wordHash^seedWord, w)
		wordHash, wordLen = fnvOffset, 0
		r0, r1 = boundary, boundary
	}
	for i := 0; i < len(text); {
		c := text[i]
		var r rune
		if c < utf8.RuneSelf {
			i++
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				r = rune(c)
			case c >= 'A' && c <= 'Z':
				r = rune(c + 'a' - 'A')
			default:
				endWord()
				prevCJK = 0
				continue
			}
		} else {
			var n int
			r, n = utf8.DecodeRuneInString(text[i:])
			i += n
			if analysis.IsCJK(r) {
				endWord()
				h.add(uint64(r)^seedCJK, wCJK)
				if prevCJK != 0 {
					h.add(uint64(prevCJK)*0xff51afd7ed558ccd^uint64(r)^seedCJK2, wCJKPair)
				}
				prevCJK = r
				continue
			}
			if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.Is(unicode.Mn, r) {
				endWord()
				prevCJK = 0
				continue
			}
			if r = analysis.FoldRune(r); r < 0 {
				continue // a combining accent, folded away
			}
		}
		prevCJK = 0
		// FNV-1a over the rune's value (1 step for ASCII, up to 3 otherwise)
		for x := uint32(r); ; x >>= 8 {
			wordHash = (wordHash ^ uint64(x&0xff)) * fnvPrime
			if x < 0x100 {
				break
			}
		}
		if wordLen > 0 {
			h.add(uint64(r0)*0x100000001b3^uint64(r1)*0xff51afd7ed558ccd^uint64(r)^seedTri, wTrigram)
		}
		wordLen++
		if wordLen == prefixLen {
			h.add(wordHash^seedPrefix, wPrefix)
		}
		r0, r1 = r1, r
	}
	endWord()

	v := h.v
	var norm float64
	for i, x := range v {
		if x != 0 {
			s := float32(math.Log1p(math.Abs(float64(x))))
			if x < 0 {
				s = -s
			}
			v[i] = s
			norm += float64(s) * float64(s)
		}
	}
	if norm > 0 {
		inv := float32(1 / math.Sqrt(norm))
		for i := range v {
			v[i] *= inv
		}
	}
	return v
}
