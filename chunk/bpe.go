package chunk

import (
	"fmt"
	"math"
	"sync"

	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// encoder is one tiktoken encoding: a pre-tokenizer and a byte-pair merge
// over the encoding's rank table. It is immutable and safe for concurrent
// use.
type encoder struct {
	name   string
	o200k  bool
	ranks  map[string]int
	maxLen int // length in bytes of the longest token
}

// smallPiece is the longest piece merged with tiktoken's own quadratic
// loop; longer pieces use a heap, which performs the same merges in the
// same order in O(n log n).
const smallPiece = 64

var encoders struct {
	sync.Mutex
	m map[string]*encoder
}

// loadEncoder returns the encoder for name, loading its rank table from the
// files embedded by tiktoken-go-loader on first use.
func loadEncoder(name string) (*encoder, error) {
	initASCIIClass()
	encoders.Lock()
	defer encoders.Unlock()
	if e, ok := encoders.m[name]; ok {
		return e, nil
	}
	ranks, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe(name + ".tiktoken")
	if err != nil {
		return nil, fmt.Errorf("chunk: load %s: %w", name, err)
	}
	e := &encoder{name: name, o200k: name == O200K, ranks: ranks}
	for k := range ranks {
		e.maxLen = max(e.maxLen, len(k))
	}
	for b := 0; b < 256; b++ {
		if _, ok := ranks[string([]byte{byte(b)})]; !ok {
			return nil, fmt.Errorf("chunk: load %s: no token for byte %#x", name, b)
		}
	}
	if encoders.m == nil {
		encoders.m = make(map[string]*encoder)
	}
	encoders.m[name] = e
	return e, nil
}

// count returns the number of tokens in s.
func (e *encoder) count(s string) int {
	n := 0
	for i := 0; i < len(s); {
		j := nextPiece(s, i, e.o200k)
		n += e.pieceTokens(s[i:j], nil, 0)
		i = j
	}
	return n
}

// tokenize returns the end offset of every token of s and, in pieces, the
// end offset and token count of every pre-token piece.
func (e *encoder) tokenize(s string) (ends []int32, pieces []piece) {
	ends = make([]int32, 0, len(s)/4+1)
	for i := 0; i < len(s); {
		j := nextPiece(s, i, e.o200k)
		before := len(ends)
		e.pieceTokens(s[i:j], &ends, i)
		pieces = append(pieces, piece{end: int32(j), tokens: int32(len(ends) - before)})
		i = j
	}
	return ends, pieces
}

type piece struct {
	end, tokens int32
}

// pieceTokens returns the number of tokens of one pre-token piece and, when
// ends is not nil, appends their end offsets (plus base) to it.
func (e *encoder) pieceTokens(p string, ends *[]int32, base int) int {
	if len(p) == 1 || len(p) <= e.maxLen && e.hasToken(p) {
		if ends != nil {
			*ends = append(*ends, int32(base+len(p)))
		}
		return 1
	}
	if len(p) <= smallPiece {
		return e.mergeSmall(p, ends, base)
	}
	return e.mergeHeap(p, ends, base)
}

func (e *encoder) hasToken(p string) bool {
	_, ok := e.ranks[p]
	return ok
}

// rank returns the rank of p, or math.MaxInt32 when p is not a token.
func (e *encoder) rank(p string) int32 {
	if len(p) > e.maxLen {
		return math.MaxInt32
	}
	if r, ok := e.ranks[p]; ok {
		return int32(r)
	}
	return math.MaxInt32
}

// mergeSmall is tiktoken's byte-pair merge: repeatedly merge the adjacent
// pair whose concatenation has the lowest rank, leftmost first.
func (e *encoder) mergeSmall(p string, ends *[]int32, base int) int {
	var startBuf, rankBuf [smallPiece + 1]int32
	n := len(p) + 1 // boundaries, including the end
	starts, ranks := startBuf[:n], rankBuf[:n]
	for i := range starts {
		starts[i] = int32(i)
	}
	pairRank := func(i int) int32 {
		if i+2 < n {
			return e.rank(p[starts[i]:starts[i+2]])
		}
		return math.MaxInt32
	}
	for i := range ranks {
		ranks[i] = pairRank(i)
	}
	for n > 2 {
		best, bi := int32(math.MaxInt32), -1
		for i := 0; i < n-2; i++ {
			if ranks[i] < best {
				best, bi = ranks[i], i
			}
		}
		if bi < 0 {
			break
		}
		copy(starts[bi+1:n-1], starts[bi+2:n])
		copy(ranks[bi+1:n-1], ranks[bi+2:n])
		n--
		ranks[bi] = pairRank(bi)
		if bi > 0 {
			ranks[bi-1] = pairRank(bi - 1)
		}
	}
	if ends != nil {
		for _, s := range starts[1:n] {
			*ends = append(*ends, int32(base)+s)
		}
	}
	return n - 1
}

// mergeHeap performs exactly the merges of mergeSmall, in the same order
// (lowest rank first, leftmost among equal ranks), with a priority queue and
// a linked list of parts, so that it takes O(n log n) for a piece of n bytes
// instead of O(n²).
//
// A queue entry packs rank<<32 | position, so that plain integer order is
// merge order. An entry is stale, and skipped, when the pair now starting at
// its position has another rank; a pair with the same rank at the same
// position has the same bytes, so such an entry is still the right merge.
func (e *encoder) mergeHeap(p string, ends *[]int32, base int) int {
	n := int32(len(p))
	next := make([]int32, n+1) // next[i]: start of the part after the part at i
	prev := make([]int32, n+1)
	pair := make([]int32, n+1) // pair[i]: rank of the part at i joined with the next one
	h := make([]uint64, 0, n)
	for i := int32(0); i <= n; i++ {
		next[i], prev[i], pair[i] = i+1, i-1, math.MaxInt32
		if i+2 <= n {
			if r := e.rank(p[i : i+2]); r != math.MaxInt32 {
				pair[i] = r
				h = append(h, uint64(r)<<32|uint64(i))
			}
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(h, i)
	}
	// update sets the rank of the pair starting at pos and queues it.
	update := func(pos int32) {
		pair[pos] = math.MaxInt32
		if mid := next[pos]; mid < n {
			if r := e.rank(p[pos:next[mid]]); r != math.MaxInt32 {
				pair[pos] = r
				h = append(h, uint64(r)<<32|uint64(pos))
				up(h, len(h)-1)
			}
		}
	}
	parts := n
	for len(h) > 0 {
		top := h[0]
		last := len(h) - 1
		h[0] = h[last]
		h = h[:last]
		if last > 0 {
			down(h, 0)
		}
		pos, r := int32(top&math.MaxUint32), int32(top>>32)
		if pair[pos] != r {
			continue // stale
		}
		mid := next[pos]
		end := next[mid]
		next[pos] = end
		prev[end] = pos
		pair[mid] = math.MaxInt32
		parts--
		update(pos)
		if pp := prev[pos]; pp >= 0 {
			update(pp)
		}
	}
	if ends != nil {
		for i := next[0]; ; i = next[i] {
			*ends = append(*ends, int32(base)+i)
			if i >= n {
				break
			}
		}
	}
	return int(parts)
}

func up(h []uint64, i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h[i] >= h[parent] {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func down(h []uint64, i int) {
	x := h[i]
	for {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && h[r] < h[l] {
			m = r
		}
		if h[m] >= x {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = x
}
