package rerank

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/internal/analysis"
)

// Candidate is one first-stage result handed to a Reranker.
type Candidate struct {
	ID uint64
	// Text is the chunk text.
	Text string
	// Score is the first-stage (fused) score in 0..1. A Reranker replaces it.
	Score float64
	// Vector is the chunk's stored (possibly quantized or shortened) vector;
	// may be nil. Local uses it for MMR diversity.
	Vector []float32
	// FullVector is the optional full-precision vector; Local uses it for the
	// cosine re-score when the query vector is known.
	FullVector []float32
	// Headings is the heading path of the chunk, outermost first.
	Headings []string
	// Filename is the name of the file the chunk comes from.
	Filename string
}

// Reranker re-scores first-stage candidates for a query. It returns the same
// candidates (no more, no fewer) with Score replaced by a value in 0..1, best
// first. Implementations in this package are safe for concurrent use and do
// not modify cands.
type Reranker interface {
	Rerank(ctx context.Context, query string, cands []Candidate) ([]Candidate, error)
}

// VectorReranker is a Reranker that can also use the query's embedding.
// Local implements it.
type VectorReranker interface {
	Reranker
	RerankWithVector(ctx context.Context, query string, qvec []float32, cands []Candidate) ([]Candidate, error)
}

// LocalOptions configures Local. The zero value is the documented defaults.
//
// Each weight is the share of one feature in the final score: the score is
// the weighted mean of the features that are defined for the query, each in
// 0..1. A weight of 0 means its default; a negative weight turns the feature
// off.
type LocalOptions struct {
	// FirstStageWeight weighs the candidate's first-stage Score. Default 0.5.
	FirstStageWeight float64
	// CoverageWeight weighs the share of the query's distinct terms (lower
	// cased, stop words removed, Porter-stemmed) present in Text, each term
	// weighted by its rarity among the candidates (a BM25-style idf over the
	// candidate set; terms found in no candidate are ignored). Default 0.3.
	CoverageWeight float64
	// UniformTerms weighs every query term equally in coverage instead of by
	// its rarity among the candidates.
	UniformTerms bool
	// ProximityWeight weighs how close together the matched terms are:
	// coverage × matched/window, where window is the smallest span of tokens
	// holding every matched term. Defined for queries of two or more terms.
	// Default 0.1.
	ProximityWeight float64
	// PhraseWeight weighs the fraction of adjacent query-term pairs found in
	// Text in query order with at most PhraseSlop tokens between them; 1 when
	// the query appears as a phrase. Defined for queries of two or more terms.
	// Default 0.2.
	PhraseWeight float64
	// PhraseSlop is how many tokens may separate two adjacent query terms
	// and still count as a phrase ("state of the art" against "state art").
	// Default 2; negative means 0.
	PhraseSlop int
	// MetadataWeight weighs the fraction of query terms found in Headings
	// and Filename. Default 0.05.
	MetadataWeight float64
	// VectorWeight weighs max(0, cosine(query vector, FullVector)); used
	// only by RerankWithVector, for candidates whose FullVector has the
	// query vector's length. Default 0.5.
	VectorWeight float64
	// MMRLambda, when in (0, 1), reorders the result by maximal marginal
	// relevance over the candidates' Vector (FullVector when Vector is nil):
	// each next pick maximizes λ·score − (1−λ)·max cosine to those already
	// picked. Scores are then made non-increasing along the new order. 0 (the
	// default) or >= 1 disables MMR.
	MMRLambda float64
	// DisableStemming matches lower-cased words exactly instead of by stem.
	DisableStemming bool
	// MaxQueryTerms caps the distinct query terms considered (the first
	// ones win). Default 32, maximum 64.
	MaxQueryTerms int
	// MaxTextBytes, when positive, limits the lexical features to the first
	// MaxTextBytes bytes of each candidate's Text: a latency lever for long
	// chunks, as the scan costs time linear in the text. Default 0: all.
	MaxTextBytes int
}

// Default weights of LocalOptions.
const (
	DefaultFirstStageWeight = 0.5
	DefaultCoverageWeight   = 0.3
	DefaultProximityWeight  = 0.1
	DefaultPhraseWeight     = 0.2
	DefaultMetadataWeight   = 0.05
	DefaultVectorWeight     = 0.5
	DefaultPhraseSlop       = 2
	DefaultMaxQueryTerms    = 32
)

// EnsureDefaults replaces zero fields with their defaults and clamps
// negative weights to 0 (off). It returns o for chaining.
func (o *LocalOptions) EnsureDefaults() *LocalOptions {
	w := func(p *float64, def float64) {
		switch {
		case *p == 0:
			*p = def
		case *p < 0 || math.IsNaN(*p):
			*p = 0
		}
	}
	w(&o.FirstStageWeight, DefaultFirstStageWeight)
	w(&o.CoverageWeight, DefaultCoverageWeight)
	w(&o.ProximityWeight, DefaultProximityWeight)
	w(&o.PhraseWeight, DefaultPhraseWeight)
	w(&o.MetadataWeight, DefaultMetadataWeight)
	w(&o.VectorWeight, DefaultVectorWeight)
	switch {
	case o.PhraseSlop == 0:
		o.PhraseSlop = DefaultPhraseSlop
	case o.PhraseSlop < 0:
		o.PhraseSlop = 0
	}
	if o.MaxQueryTerms <= 0 {
		o.MaxQueryTerms = DefaultMaxQueryTerms
	}
	o.MaxQueryTerms = min(o.MaxQueryTerms, 64)
	return o
}

// Validate reports every problem with o at once: infinite weights, an MMR
// lambda outside 0..1, or a MaxQueryTerms above 64.
func (o LocalOptions) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"FirstStageWeight", o.FirstStageWeight}, {"CoverageWeight", o.CoverageWeight},
		{"ProximityWeight", o.ProximityWeight}, {"PhraseWeight", o.PhraseWeight},
		{"MetadataWeight", o.MetadataWeight}, {"VectorWeight", o.VectorWeight},
	} {
		if math.IsInf(f.v, 0) || math.IsNaN(f.v) {
			errs = append(errs, fmt.Errorf("%w: %s is %v", ErrInvalidOptions, f.name, f.v))
		}
	}
	if o.MMRLambda < 0 || o.MMRLambda > 1 || math.IsNaN(o.MMRLambda) {
		errs = append(errs, fmt.Errorf("%w: MMRLambda %v outside 0..1", ErrInvalidOptions, o.MMRLambda))
	}
	if o.MaxQueryTerms > 64 {
		errs = append(errs, fmt.Errorf("%w: MaxQueryTerms %d above 64", ErrInvalidOptions, o.MaxQueryTerms))
	}
	return errors.Join(errs...)
}

// Local is a reranker that needs no network or model: it blends the
// first-stage score with lexical evidence computed from the candidates' text
// (query-term coverage, proximity, phrase matches, heading and filename
// matches), optionally with a full-precision cosine re-score and MMR
// diversity. It is safe for concurrent use.
type Local struct {
	opts LocalOptions
	pool sync.Pool // *scratch
}

// NewLocal returns a Local reranker; zero fields of opts take their defaults
// (see LocalOptions). Out-of-range values are clamped: call opts.Validate
// first to report them instead.
func NewLocal(opts LocalOptions) *Local {
	opts.EnsureDefaults()
	if opts.MMRLambda < 0 || math.IsNaN(opts.MMRLambda) {
		opts.MMRLambda = 0
	}
	return &Local{opts: opts}
}

// Options returns the options in effect, defaults filled in.
func (l *Local) Options() LocalOptions { return l.opts }

// Rerank re-scores cands for query; see RerankWithVector. It returns a new
// slice and never fails except when ctx is done.
func (l *Local) Rerank(ctx context.Context, query string, cands []Candidate) ([]Candidate, error) {
	return l.RerankWithVector(ctx, query, nil, cands)
}

// RerankWithVector re-scores cands for query, using qvec (the query's
// embedding, may be nil) for the cosine feature against each candidate's
// FullVector. The result is a new slice holding every candidate once, best
// first; ties keep the first-stage order. cands is not modified.
func (l *Local) RerankWithVector(ctx context.Context, query string, qvec []float32, cands []Candidate) ([]Candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return []Candidate{}, nil
	}
	out := cands // read only
	sc, _ := l.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer l.pool.Put(sc)
	q := l.prepare(sc, query)
	var qnorm float64
	if len(qvec) > 0 {
		qnorm = math.Sqrt(dot(qvec, qvec))
	}
	// Pass 1: lexical evidence per candidate.
	n := len(q.terms)
	feats := sc.feats[:0]
	for i := range out {
		if i&15 == 15 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var f textFeatures
		if n > 0 {
			text := out[i].Text
			if m := l.opts.MaxTextBytes; m > 0 && len(text) > m {
				text = text[:m] // a cut rune just ends the last token
			}
			f = l.textFeatures(sc, q, text)
			if l.opts.MetadataWeight > 0 {
				f.meta = l.metaCoverage(sc, q, &out[i])
			}
		}
		feats = append(feats, f)
	}
	sc.feats = feats
	// Term weights: rarer terms among the candidates count more.
	weights := sc.weights[:0]
	var total float64
	for t := range n {
		df := 0
		for i := range feats {
			df += int(feats[i].seen >> t & 1)
		}
		w := 0.0
		switch {
		case df == 0: // found nowhere: cannot separate candidates
		case l.opts.UniformTerms:
			w = 1
		default:
			w = math.Log(1 + (float64(len(feats)-df)+0.5)/(float64(df)+0.5))
		}
		weights = append(weights, w)
		total += w
	}
	sc.weights = weights
	// Pass 2: the weighted mean of the defined features.
	order := sc.order[:0]
	for i := range out {
		c := &out[i]
		f := &feats[i]
		num := l.opts.FirstStageWeight * clamp01(c.Score)
		den := l.opts.FirstStageWeight
		if n > 0 {
			cov := 0.0
			if total > 0 {
				for m := f.seen; m != 0; m &= m - 1 {
					cov += weights[bits.TrailingZeros64(m)]
				}
				cov /= total
			}
			num += l.opts.CoverageWeight * cov
			den += l.opts.CoverageWeight
			if n >= 2 {
				num += l.opts.ProximityWeight * cov * f.density
				den += l.opts.ProximityWeight
			}
			if len(q.pairs) > 0 {
				num += l.opts.PhraseWeight * f.phrase
				den += l.opts.PhraseWeight
			}
			if l.opts.MetadataWeight > 0 {
				num += l.opts.MetadataWeight * f.meta
				den += l.opts.MetadataWeight
			}
		}
		if qnorm > 0 && len(c.FullVector) == len(qvec) && l.opts.VectorWeight > 0 {
			if cn := math.Sqrt(dot(c.FullVector, c.FullVector)); cn > 0 {
				cos := dot(qvec, c.FullVector) / (qnorm * cn)
				num += l.opts.VectorWeight * clamp01(cos)
				den += l.opts.VectorWeight
			}
		}
		s := 0.0
		if den > 0 {
			s = clamp01(num / den)
		}
		order = append(order, ranked{idx: int32(i), score: s})
	}
	slices.SortStableFunc(order, func(a, b ranked) int { return cmp.Compare(b.score, a.score) })
	if lam := l.opts.MMRLambda; lam > 0 && lam < 1 && len(order) > 2 {
		order = mmr(out, order, lam)
	}
	sc.order = order
	res := make([]Candidate, len(cands))
	prev := 1.0
	for i, r := range order {
		res[i] = out[r.idx]
		s := min(r.score, prev) // non-increasing even after MMR
		res[i].Score = s
		prev = s
	}
	return res, nil
}

type ranked struct {
	idx   int32
	score float64
}

// query is a prepared query: distinct stemmed terms and ordered term pairs.
type query struct {
	terms []string
	// first[b] is a bitmask of terms whose first byte is b (a fast reject).
	first [256]uint64
	// single[b] is set when a one-byte term b exists.
	single [256]bool
	// pair is a bitset over b0<<8|b1, set when a term starts with bytes b0
	// b1. Together with single it rejects tokens that cannot match without
	// copying them.
	pair [1024]uint64
	// pairKeys lists the set entries of pair, to clear them cheaply.
	pairKeys []uint16
	// pairs holds adjacent distinct term pairs in query order; pairs[k] is
	// (a, b) meaning term a directly followed by term b.
	pairs [][2]uint8
	// pairsEnding[b] is a bitmask over pairs whose second term is b.
	pairsEnding []uint64
}

// scratch is per-call reusable memory.
type scratch struct {
	tok   analysis.Scanner
	q     query
	occ   []occurrence
	last  []int32
	count []int32
	order []ranked
	feats []textFeatures
	// weights are the query terms' weights for the current call.
	weights []float64
	// cache maps a token to its term index + 1, or 0 for no match.
	cache map[string]int8
}

type occurrence struct {
	pos  int32
	term uint8
}

func (l *Local) prepare(sc *scratch, text string) *query {
	q := &sc.q
	q.terms = q.terms[:0]
	q.pairs = q.pairs[:0]
	q.first = [256]uint64{}
	q.single = [256]bool{}
	for _, k := range q.pairKeys {
		q.pair[k>>6] = 0
	}
	q.pairKeys = q.pairKeys[:0]
	clear(sc.cache)
	if sc.cache == nil {
		sc.cache = make(map[string]int8, 64)
	}
	prev := -1
	sc.tok.Reset(text)
	for {
		b, ok := sc.tok.Next()
		if !ok {
			break
		}
		w := string(b)
		if analysis.IsStopWord(w) {
			continue
		}
		if !l.opts.DisableStemming {
			w = analysis.Stem(w)
		}
		idx := slices.Index(q.terms, w)
		if idx < 0 {
			if len(q.terms) >= l.opts.MaxQueryTerms {
				prev = -1
				continue
			}
			idx = len(q.terms)
			q.terms = append(q.terms, w)
			q.first[w[0]] |= 1 << idx
			if len(w) == 1 {
				q.single[w[0]] = true
			} else {
				k := uint16(w[0])<<8 | uint16(w[1])
				q.pair[k>>6] |= 1 << (k & 63)
				q.pairKeys = append(q.pairKeys, k)
			}
		}
		if prev >= 0 && prev != idx && len(q.pairs) < 64 {
			p := [2]uint8{uint8(prev), uint8(idx)}
			if !slices.Contains(q.pairs, p) {
				q.pairs = append(q.pairs, p)
			}
		}
		prev = idx
	}
	q.pairsEnding = q.pairsEnding[:0]
	for range q.terms {
		q.pairsEnding = append(q.pairsEnding, 0)
	}
	for k, p := range q.pairs {
		q.pairsEnding[p[1]] |= 1 << k
	}
	if cap(sc.last) < len(q.terms) {
		sc.last = make([]int32, len(q.terms))
		sc.count = make([]int32, len(q.terms))
	}
	sc.last = sc.last[:len(q.terms)]
	sc.count = sc.count[:len(q.terms)]
	return q
}

// match returns the index of the query term tok matches, or -1.
func (l *Local) match(sc *scratch, q *query, tok []byte) int {
	cand := q.first[tok[0]]
	if cand == 0 {
		return -1
	}
	if v, ok := sc.cache[string(tok)]; ok {
		return int(v) - 1
	}
	res := -1
	for m := cand; m != 0; m &= m - 1 {
		i := bits.TrailingZeros64(m)
		t := q.terms[i]
		if string(tok) == t {
			res = i
			break
		}
		if l.opts.DisableStemming {
			continue
		}
		// A Porter stem is the word's prefix except, at most, for its last
		// letter (happy → happi), so check that before stemming.
		p := len(t) - 1
		if len(tok) < p || p < 2 || string(tok[:p]) != t[:p] {
			continue
		}
		if analysis.Stem(string(tok)) == t {
			res = i
			break
		}
	}
	if len(sc.cache) < 4096 {
		sc.cache[string(tok)] = int8(res + 1)
	}
	return res
}

// textFeatures is the lexical evidence of one candidate.
type textFeatures struct {
	seen    uint64  // query terms present in the text
	density float64 // matched terms / smallest window holding them, 0..1
	phrase  float64 // fraction of query-term pairs found as phrases
	meta    float64 // fraction of query terms in headings and filename
}

func (l *Local) textFeatures(sc *scratch, q *query, text string) textFeatures {
	var f textFeatures
	n := len(q.terms)
	for i := range sc.last {
		sc.last[i] = -1 << 30
	}
	occ := sc.occ[:0]
	var seen, pairsHit uint64
	slop := int32(l.opts.PhraseSlop)
	pos := int32(0)
	// The hot loop: most tokens are rejected by their first two bytes
	// without being copied; only plausible matches go through the tokenizer
	// (lower-casing, Unicode) and match.
	s := text
	for i := 0; i < len(s); {
		c := analysis.ByteClass[s[i]]
		if c == analysis.ClassSep {
			i++
			continue
		}
		check := c == analysis.ClassMulti
		if !check {
			b0 := s[i] | 0x20 // lower-cases letters, keeps digits
			if q.single[b0] {
				check = true
			} else if i+1 < len(s) {
				switch b1 := s[i+1]; analysis.ByteClass[b1] {
				case analysis.ClassMulti:
					check = q.first[b0] != 0
				case analysis.ClassLower, analysis.ClassUpper:
					k := uint16(b0)<<8 | uint16(b1|0x20)
					check = q.pair[k>>6]&(1<<(k&63)) != 0
				}
			}
		}
		if check {
			sc.tok.Seek(s, i)
			tok, ok := sc.tok.Next()
			if !ok {
				break
			}
			i = sc.tok.Offset()
			if t := l.match(sc, q, tok); t >= 0 {
				seen |= 1 << t
				occ = append(occ, occurrence{pos: pos, term: uint8(t)})
				for m := q.pairsEnding[t]; m != 0; m &= m - 1 {
					k := bits.TrailingZeros64(m)
					if pos-sc.last[q.pairs[k][0]] <= slop+1 {
						pairsHit |= 1 << k
					}
				}
				sc.last[t] = pos
			}
			pos++
			continue
		}
		// Skip the token: ASCII letters and digits, and non-ASCII letters.
		for i++; i < len(s); {
			// analysis.ClassLower and analysis.ClassUpper are 1 and 2: one compare per byte.
			for i < len(s) && analysis.ByteClass[s[i]]-1 < 2 {
				i++
			}
			if i == len(s) || analysis.ByteClass[s[i]] == analysis.ClassSep {
				break
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if !analysis.IsWordRune(r) || analysis.IsCJK(r) {
				break
			}
			i += n
		}
		pos++
	}
	sc.occ = occ
	f.seen = seen
	matched := bits.OnesCount64(seen)
	if len(q.pairs) > 0 {
		f.phrase = float64(bits.OnesCount64(pairsHit)) / float64(len(q.pairs))
	}
	if n >= 2 && matched >= 2 {
		w := minWindow(occ, sc.count, matched)
		f.density = float64(matched) / float64(w)
	}
	return f
}

// minWindow returns the length in tokens of the smallest span of occ holding
// all distinct terms (matched of them). count is zeroed scratch per term.
func minWindow(occ []occurrence, count []int32, matched int) int32 {
	clear(count)
	best := int32(math.MaxInt32)
	have := 0
	lo := 0
	for hi := range occ {
		t := occ[hi].term
		if count[t] == 0 {
			have++
		}
		count[t]++
		for have == matched {
			if w := occ[hi].pos - occ[lo].pos + 1; w < best {
				best = w
			}
			lt := occ[lo].term
			count[lt]--
			if count[lt] == 0 {
				have--
			}
			lo++
		}
	}
	return best
}

func (l *Local) metaCoverage(sc *scratch, q *query, c *Candidate) float64 {
	if len(c.Headings) == 0 && c.Filename == "" {
		return 0
	}
	var seen uint64
	scan := func(s string) {
		sc.tok.Reset(s)
		for {
			tok, ok := sc.tok.Next()
			if !ok {
				return
			}
			if i := l.match(sc, q, tok); i >= 0 {
				seen |= 1 << i
			}
		}
	}
	for _, h := range c.Headings {
		scan(h)
	}
	scan(c.Filename)
	return float64(bits.OnesCount64(seen)) / float64(len(q.terms))
}

// mmr reorders order (sorted by score) by maximal marginal relevance.
func mmr(cands []Candidate, order []ranked, lambda float64) []ranked {
	vec := func(r ranked) []float32 {
		c := &cands[r.idx]
		if c.Vector != nil {
			return c.Vector
		}
		return c.FullVector
	}
	n := len(order)
	norms := make([]float64, n)
	for i, r := range order {
		v := vec(r)
		norms[i] = math.Sqrt(dot(v, v))
	}
	maxSim := make([]float64, n)
	done := make([]bool, n)
	out := make([]ranked, 0, n)
	for len(out) < n {
		best, bestVal := -1, math.Inf(-1)
		for i := range order {
			if done[i] {
				continue
			}
			v := lambda*order[i].score - (1-lambda)*maxSim[i]
			if v > bestVal {
				best, bestVal = i, v
			}
		}
		done[best] = true
		out = append(out, order[best])
		bv := vec(order[best])
		for i := range order {
			if done[i] || norms[i] == 0 || norms[best] == 0 {
				continue
			}
			v := vec(order[i])
			if len(v) != len(bv) {
				continue
			}
			if s := dot(v, bv) / (norms[i] * norms[best]); s > maxSim[i] {
				maxSim[i] = s
			}
		}
	}
	return out
}

func dot(a, b []float32) float64 {
	var s float32
	b = b[:len(a)]
	for i, x := range a {
		s += x * b[i]
	}
	return float64(s)
}

func clamp01(x float64) float64 {
	if x != x || x < 0 { // NaN or negative
		return 0
	}
	return min(x, 1)
}
