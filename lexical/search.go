package lexical

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"sync"

	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/quarrylabs/quarry/filter"
)

// docNum decodes a scorch internal id (8 bytes, big endian).
func docNum(id bindex.IndexInternalID) (uint64, error) {
	if len(id) != 8 {
		return 0, fmt.Errorf("%w: internal document id of %d bytes", ErrCorrupt, len(id))
	}
	return binary.BigEndian.Uint64(id), nil
}

// accumulator holds per-document score sums indexed by internal document
// number; touched lists the numbers set, so reset costs O(hits).
type accumulator struct {
	score   []float64
	touched []uint64
}

var accPool = sync.Pool{New: func() any { return new(accumulator) }}

func (a *accumulator) add(n uint64, s float64) {
	if n >= uint64(len(a.score)) {
		grown := make([]float64, max(n+1, uint64(2*len(a.score))))
		copy(grown, a.score)
		a.score = grown
	}
	if a.score[n] == 0 {
		a.touched = append(a.touched, n)
	}
	a.score[n] += s
}

func (a *accumulator) reset() {
	for _, n := range a.touched {
		a.score[n] = 0
	}
	a.touched = a.touched[:0]
}

// posting is one document of a term's postings list.
type posting struct {
	num uint64
	tf  uint64
	dl  uint64
}

// Search returns the k documents with the highest BM25 score for query,
// best first (ties broken by insertion order), among the documents that
// satisfy f (nil for all). f is evaluated against the index before ranking,
// so k filtered hits come back whenever k documents match.
//
// The query is analyzed like document text and scored as a bag of words
// (an OR of its terms; a term repeated n times counts n times). A
// document's score is the sum over fields (text, and title, filename and
// headings with their boosts) and query terms of
//
//	idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·dl/avgdl))
//	idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5))
//
// with N, df, dl and avgdl exact and per field (N counts documents with at
// least one token in the field). This is Lucene's BM25 up to its constant
// factor k1+1 and its one-byte length quantization.
func (ix *Index) Search(ctx context.Context, query string, k int, f *filter.Filter) ([]Hit, error) {
	return ix.SearchTerms(ctx, ix.queryTerms(query), k, f)
}

// WeightedTerm is an analyzed term (see Terms) with a query weight.
type WeightedTerm struct {
	Term   string
	Weight float64
}

// SearchTerms is Search for a query given as analyzed terms with weights:
// each term's BM25 contribution is multiplied by its weight. Search is
// SearchTerms with each distinct term weighted by its count. It is how
// callers run expanded queries, such as pseudo-relevance feedback.
func (ix *Index) SearchTerms(ctx context.Context, terms []WeightedTerm, k int, f *filter.Filter) ([]Hit, error) {
	if f != nil {
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, st, err := ix.reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if k <= 0 {
		return nil, nil
	}
	if len(terms) == 0 {
		return nil, nil
	}
	var allow bitset
	if f != nil {
		if allow, err = ix.filterSet(ctx, r, f); err != nil {
			return nil, err
		}
		if len(allow) == 0 {
			return []Hit{}, nil
		}
	}

	acc := accPool.Get().(*accumulator)
	defer func() { acc.reset(); accPool.Put(acc) }()
	boosts := [numFields]float64{1, ix.opts.TitleBoost, ix.opts.FilenameBoost, ix.opts.HeadingBoost}
	k1, b := ix.opts.K1, ix.opts.B
	var (
		buf []posting
		tfd bindex.TermFieldDoc
	)
	for fi, fs := range st.Fields {
		if fs.Docs == 0 || boosts[fi] == 0 {
			continue
		}
		n := float64(fs.Docs)
		avgdl := float64(fs.Tokens) / n
		for _, qt := range terms {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if qt.Weight <= 0 || math.IsNaN(qt.Weight) {
				continue
			}
			buf, err = postings(ctx, r, qt.Term, fieldNames[fi], buf[:0], &tfd)
			if err != nil {
				return nil, err
			}
			if len(buf) == 0 {
				continue
			}
			df := float64(len(buf))
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			w := boosts[fi] * qt.Weight * idf * (k1 + 1)
			for _, p := range buf {
				if allow != nil && !allow.has(p.num) {
					continue
				}
				tf, dl := float64(p.tf), p.dl
				if ix.opts.LuceneLengths {
					dl = luceneLength(dl)
				}
				acc.add(p.num, w*tf/(tf+k1*(1-b+b*float64(dl)/avgdl)))
			}
		}
	}
	return ix.topK(r, acc, k)
}

// queryTerms analyzes q into distinct terms weighted by their counts, in
// order of first appearance.
func (ix *Index) queryTerms(q string) []WeightedTerm {
	ts := ix.analyzer.Analyze([]byte(q))
	out := make([]WeightedTerm, 0, len(ts))
next:
	for _, t := range ts {
		for i := range out {
			if out[i].Term == string(t.Term) {
				out[i].Weight++
				continue next
			}
		}
		out = append(out, WeightedTerm{Term: string(t.Term), Weight: 1})
	}
	return out
}

// postings appends term's postings in field to buf.
func postings(ctx context.Context, r bindex.IndexReader, term, field string, buf []posting, tfd *bindex.TermFieldDoc) ([]posting, error) {
	tfr, err := r.TermFieldReader(ctx, []byte(term), field, true, true, false)
	if err != nil {
		return buf, fmt.Errorf("lexical: read postings: %w", translate(err))
	}
	defer tfr.Close()
	for {
		d, err := tfr.Next(tfd)
		if err != nil {
			return buf, fmt.Errorf("lexical: read postings: %w", translate(err))
		}
		if d == nil {
			return buf, nil
		}
		num, err := docNum(d.ID)
		if err != nil {
			return buf, err
		}
		// scorch stores the field length exactly and hands it back as
		// float32(1/sqrt(length)); rounding recovers it exactly for any
		// length below 2^22.
		dl := uint64(math.Round(1 / (d.Norm * d.Norm)))
		buf = append(buf, posting{num: num, tf: d.Freq, dl: dl})
	}
}

// cand is a scored document number.
type cand struct {
	num   uint64
	score float64
}

// worse reports whether a ranks below b: lower score, or equal score and
// later insertion.
func worse(a, b cand) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.num > b.num
}

// topK picks the k best documents of acc with a bounded min-heap and
// resolves their IDs.
func (ix *Index) topK(r bindex.IndexReader, acc *accumulator, k int) ([]Hit, error) {
	h := make([]cand, 0, min(k, len(acc.touched)))
	for _, n := range acc.touched {
		c := cand{n, acc.score[n]}
		if len(h) < k {
			h = append(h, c)
			siftUp(h, len(h)-1)
			continue
		}
		if worse(c, h[0]) || c == h[0] {
			continue
		}
		h[0] = c
		siftDown(h, 0)
	}
	// Pop the heap from worst to best into place.
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		siftDown(h[:end], 0)
	}
	hits := make([]Hit, len(h))
	var id [8]byte
	for i, c := range h {
		binary.BigEndian.PutUint64(id[:], c.num)
		ext, err := r.ExternalID(id[:])
		if err != nil {
			return nil, fmt.Errorf("lexical: resolve document: %w", translate(err))
		}
		u, err := strconv.ParseUint(ext, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: document id %q", ErrCorrupt, ext)
		}
		hits[i] = Hit{ID: u, Score: c.score}
	}
	return hits, nil
}

// siftUp and siftDown keep h a min-heap under worse (h[0] is the worst).
func siftUp(h []cand, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			return
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func siftDown(h []cand, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// luceneLength is dl after Lucene 8's norm encoding and decoding
// (SmallFloat.intToByte4 then byte4ToInt, as BM25Similarity's LENGTH_TABLE).
func luceneLength(dl uint64) uint64 {
	const free = 24 // 255 - longToInt4(MaxInt32)
	if dl < free {
		return dl
	}
	dl = min(dl, math.MaxInt32)
	// longToInt4: keep the 4 most significant bits (3 stored, one implicit).
	i := dl - free
	var enc uint64
	if nb := bits.Len64(i); nb < 4 {
		enc = i
	} else {
		shift := uint64(nb - 4)
		enc = (i>>shift)&7 | (shift+1)<<3
	}
	// int4ToLong
	shift := int(enc>>3) - 1
	if shift < 0 {
		return free + enc&7
	}
	return free + (enc&7|8)<<shift
}
