package embed

import (
	"strings"
	"unicode/utf16"

	"golang.org/x/text/unicode/norm"
)

// sentencePiece is the unigram SentencePiece tokenizer of Universal
// Sentence Encoder lite, reproducing the TF.js reference (the Tokenizer of
// @tensorflow-models/universal-sentence-encoder, as @energetic-ai/embeddings
// ships it) token for token, quirks included, because the model was run
// against those ids:
//
//   - the text is NFKC-normalized, "▁" is prepended and every U+0020 space
//     becomes "▁" (other white space is left as it is);
//   - pieces 0..5 (unknown, <s>, </s>, three extra ids) are never matched;
//   - at a position where no piece starts, one character becomes the
//     unknown piece 0 with score 0, which beats every real piece (their
//     scores are negative log-probabilities);
//   - the Viterbi pass keeps, for each end position, the last candidate
//     whose path score is >= the best so far, and treats a best score of
//     exactly 0 as "none yet";
//   - the backtrace steps back by the UTF-16 length of each piece (the
//     JavaScript string length), not by its length in characters;
//   - runs of unknown pieces are merged into one.
//
// A *sentencePiece is read-only after newSentencePiece and safe for
// concurrent use.
type sentencePiece struct {
	scores  []float64
	jsLen   []int // UTF-16 length of each piece
	nodes   []spNode
	reserve int
}

type spNode struct {
	next map[rune]int32
	id   int32 // piece ending here, or -1
}

// newSentencePiece builds the tokenizer from pieces and their scores; the
// first reserved pieces are never produced except 0, the unknown piece.
func newSentencePiece(pieces []string, scores []float64, reserved int) *sentencePiece {
	sp := &sentencePiece{
		scores:  scores,
		jsLen:   make([]int, len(pieces)),
		nodes:   []spNode{{id: -1}},
		reserve: reserved,
	}
	for i, p := range pieces {
		sp.jsLen[i] = len(utf16.Encode([]rune(p)))
		if i < reserved || p == "" {
			continue
		}
		n := int32(0)
		for _, r := range p {
			c, ok := sp.nodes[n].next[r]
			if !ok {
				if sp.nodes[n].next == nil {
					sp.nodes[n].next = map[rune]int32{}
				}
				c = int32(len(sp.nodes))
				sp.nodes[n].next[r] = c
				sp.nodes = append(sp.nodes, spNode{id: -1})
			}
			n = c
		}
		sp.nodes[n].id = int32(i)
	}
	return sp
}

// encode returns the piece ids of text. Time and memory are linear in
// len(text) (times the length of the longest piece).
func (sp *sentencePiece) encode(text string) []int32 {
	s := norm.NFKC.String(text)
	if s == "" {
		return nil
	}
	sym := []rune("▁" + strings.ReplaceAll(s, " ", "▁"))
	n := len(sym)
	best := make([]float64, n+1)
	words := make([]int32, n+1)
	for i := 0; i < n; i++ {
		found := false
		node, ok := sp.nodes[0].next[sym[i]]
		for k := i; ok; {
			if id := sp.nodes[node].id; id >= 0 {
				found = true
				e := k + 1
				sc := sp.scores[id] + best[i]
				if best[e] == 0 || sc >= best[e] {
					best[e], words[e] = sc, id
				}
			}
			k++
			if k >= n {
				break
			}
			node, ok = sp.nodes[node].next[sym[k]]
		}
		if !found {
			e := i + 1
			sc := best[i]
			if best[e] == 0 || sc >= best[e] {
				best[e], words[e] = sc, 0
			}
		}
	}
	var rev []int32
	for it := n; it > 0; it -= sp.jsLen[words[it]] {
		rev = append(rev, words[it])
	}
	out := make([]int32, 0, len(rev))
	prevUnk := false
	for _, id := range rev {
		if !(prevUnk && id == 0) {
			out = append(out, id)
		}
		prevUnk = id == 0
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}
