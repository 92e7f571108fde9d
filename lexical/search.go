package lexical

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	bindex "github.com/blevesearch/bleve_index_api"
	"golang.org/x/sync/errgroup"

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
// number; touched lists the numbers set, so reset costs O(hits). It also
// carries a search's scratch slices, reused across searches by accPool.
type accumulator struct {
	score   []float64
	touched []uint64

	scores []float64 // kthBest's working copy
	cands  []uint64  // refine's candidates
	top    []cand    // topK's candidates
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

// Search returns the k documents with the highest BM25 score for query,
// best first (ties broken by insertion order), among the documents that
// satisfy f (nil for all). f is evaluated against the index before ranking,
// so k filtered hits come back whenever k documents match.
//
// The query is analyzed like document text and scored as a bag of words
// (an OR of its terms; a term repeated n times counts n times; at most
// MaxQueryTerms distinct terms, the first ones, are kept). A
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
//
// SearchTerms prunes exactly (MaxScore): once the query terms not yet
// read cannot lift a document that matched none of the terms read so far
// into the top k, those terms only update the documents already in
// contention, skipping through their postings, and documents that can no
// longer reach the top k are dropped. The hits and scores are those of
// scoring every document.
func (ix *Index) SearchTerms(ctx context.Context, terms []WeightedTerm, k int, f *filter.Filter) ([]Hit, error) {
	hits, _, err := ix.searchTerms(ctx, terms, k, f, false)
	return hits, err
}

// searchStats tells how a search went, for tests.
type searchStats struct {
	clauses int // (term, field) pairs with postings
	full    int // clauses whose postings were read in full
}

// clause is one (query term, field) pair of a search: its postings reader,
// its BM25 weight and an upper bound of its contribution to any document.
type clause struct {
	tfr   bindex.TermFieldReader
	df    uint64
	w     float64 // boost · weight · idf · (k1+1)
	ub    float64 // > w·tf/(tf + k1·(1 − b + b·dl/avgdl)) for any tf, dl
	avgdl float64
}

// slack widens every pruning comparison so that rounding in the sums of
// bounds and partial scores (relative errors near 1e-15) never prunes a
// document that belongs in the top k.
const slack = 1e-9

// searchTerms is SearchTerms; exhaustive scores every matching document
// without pruning (the reference the tests compare the pruned search to).
func (ix *Index) searchTerms(ctx context.Context, terms []WeightedTerm, k int, f *filter.Filter, exhaustive bool) ([]Hit, searchStats, error) {
	var ss searchStats
	if f != nil {
		if err := f.Validate(); err != nil {
			return nil, ss, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, st, err := ix.reader()
	if err != nil {
		return nil, ss, err
	}
	defer r.Close()
	if k <= 0 {
		return nil, ss, nil
	}
	if len(terms) == 0 {
		return nil, ss, nil
	}
	var allow bitset
	if f != nil {
		if allow, err = ix.filterSet(ctx, r, f); err != nil {
			return nil, ss, err
		}
		if len(allow) == 0 {
			return []Hit{}, ss, nil
		}
	}
	cls, err := ix.clauses(ctx, r, st, terms)
	defer closeClauses(cls)
	if err != nil {
		return nil, ss, err
	}
	var postings uint64
	for _, c := range cls {
		postings += c.df
	}
	parts := searchParts()
	space := docSpace(r)
	if exhaustive || parts < 2 || postings < parallelPostings || space < uint64(parts) {
		acc := accPool.Get().(*accumulator)
		defer func() { acc.reset(); accPool.Put(acc) }()
		best, ss, err := ix.rank(ctx, cls, allow, acc, k, exhaustive, nil, 0)
		if err != nil {
			return nil, ss, err
		}
		hits, err := ix.resolveHits(r, best)
		return hits, ss, err
	}
	// A long search runs on parts of the document space side by side
	// (each with its own readers and accumulator), pruning by a bound of
	// the k-th score they share; the parts' top k are merged. Each document's score is summed in the same clause order
	// either way, so the hits are those of one pass.
	shared := newSharedBound(parts, k)
	bests := make([][]cand, parts)
	stats := make([]searchStats, parts)
	g, gctx := errgroup.WithContext(ctx)
	for p := range parts {
		lo, hi := space*uint64(p)/uint64(parts), space*uint64(p+1)/uint64(parts)
		g.Go(func() error {
			pcls := cls // the first part reads the clauses already open
			if p > 0 {
				var err error
				pcls, err = ix.clauses(gctx, r, st, terms)
				defer closeClauses(pcls)
				if err != nil {
					return err
				}
			}
			for i := range pcls {
				pcls[i].tfr = &span{tfr: pcls[i].tfr, lo: lo, hi: hi}
			}
			acc := accPool.Get().(*accumulator)
			defer func() { acc.reset(); accPool.Put(acc) }()
			best, pss, err := ix.rank(gctx, pcls, allow, acc, k, false, shared, p)
			// rank's result aliases acc, which goes back to the pool.
			bests[p], stats[p] = slices.Clone(best), pss
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, ss, err
	}
	var all []cand
	for p := range parts {
		all = append(all, bests[p]...)
		ss.clauses = max(ss.clauses, stats[p].clauses)
		ss.full = max(ss.full, stats[p].full)
	}
	hits, err := ix.resolveHits(r, bestK(all, k))
	return hits, ss, err
}

// parallelPostings is the number of postings (summed over a search's
// clauses) from which a search runs on several parts of the index at once;
// searchParts is how many (1: never). Shorter searches cost less than
// starting the parts. Variables for the tests.
var (
	parallelPostings uint64 = 1 << 16
	searchParts             = func() int { return min(runtime.GOMAXPROCS(0), 4) }
)

func closeClauses(cls []clause) {
	for _, c := range cls {
		c.tfr.Close()
	}
}

// docSpace is one more than the highest internal document number of r.
func docSpace(r bindex.IndexReader) uint64 {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return 0
	}
	var n uint64
	for _, s := range snap.Segments() {
		n += s.Segment().Count()
	}
	return n
}

// sharedBound is a lower bound of the final k-th best score that the
// parts of a search share: the k-th best of the union of the top k
// partial scores each part last published. Partial scores only grow, and
// the parts hold distinct documents, so any k of the published scores are
// k documents scoring at least that much in the end. Parts that publish
// prune as one pass over the whole index would.
type sharedBound struct {
	mu    sync.Mutex
	k     int
	tops  [][]float64 // per part: its last published top k partial scores
	bound float64
	all   []float64 // scratch
}

func newSharedBound(parts, k int) *sharedBound {
	return &sharedBound{k: k, tops: make([][]float64, parts)}
}

// load returns the bound.
func (b *sharedBound) load() float64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bound
}

// publish records part's top k partial scores (any order; top is copied)
// and returns the bound.
func (b *sharedBound) publish(part int, top []float64) float64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tops[part] = append(b.tops[part][:0], top...)
	all := b.all[:0]
	for _, t := range b.tops {
		all = append(all, t...)
	}
	b.all = all
	if len(all) >= b.k {
		b.bound = max(b.bound, kthLargest(all, b.k))
	}
	return b.bound
}

// span restricts a postings reader to the documents numbered lo..hi-1.
type span struct {
	tfr     bindex.TermFieldReader
	lo, hi  uint64
	started bool
	done    bool
	key     [8]byte
}

func (s *span) clip(d *bindex.TermFieldDoc, err error) (*bindex.TermFieldDoc, error) {
	if err != nil || d == nil {
		s.done = true
		return nil, err
	}
	n, err := docNum(d.ID)
	if err != nil {
		return nil, err
	}
	if n >= s.hi {
		s.done = true
		return nil, nil
	}
	return d, nil
}

func (s *span) Next(tfd *bindex.TermFieldDoc) (*bindex.TermFieldDoc, error) {
	if s.done {
		return nil, nil
	}
	if !s.started {
		s.started = true
		if s.lo > 0 {
			binary.BigEndian.PutUint64(s.key[:], s.lo)
			return s.clip(s.tfr.Advance(s.key[:], tfd))
		}
	}
	return s.clip(s.tfr.Next(tfd))
}

func (s *span) Advance(id bindex.IndexInternalID, tfd *bindex.TermFieldDoc) (*bindex.TermFieldDoc, error) {
	if s.done {
		return nil, nil
	}
	s.started = true
	if n, err := docNum(id); err != nil {
		return nil, err
	} else if n < s.lo {
		binary.BigEndian.PutUint64(s.key[:], s.lo)
		id = s.key[:]
	}
	return s.clip(s.tfr.Advance(id, tfd))
}

func (s *span) Count() uint64 { return s.tfr.Count() }
func (s *span) Close() error  { return s.tfr.Close() }
func (s *span) Size() int     { return s.tfr.Size() }

// rank finds the k best documents for the clauses cls (whose readers it
// consumes) among those allow admits, best first, scoring into acc; the
// result aliases acc's scratch. shared (nil for none) is the bound other
// parts of the same search share.
func (ix *Index) rank(ctx context.Context, cls []clause, allow bitset, acc *accumulator, k int, exhaustive bool, shared *sharedBound, part int) ([]cand, searchStats, error) {
	var ss searchStats
	k1, b := ix.opts.K1, ix.opts.B
	// Read the clauses by decreasing bound (both modes, so that both add
	// each document's contributions in the same order).
	slices.SortStableFunc(cls, func(x, y clause) int { return cmp.Compare(y.ub, x.ub) })
	// suffix[i] bounds what clauses i.. can add to any document.
	suffix := make([]float64, len(cls)+1)
	for i := len(cls) - 1; i >= 0; i-- {
		suffix[i] = suffix[i+1] + cls[i].ub
		if !(cls[i].ub > 0) || math.IsInf(suffix[i], 0) {
			exhaustive = true // bounds are meaningless: score everything
		}
	}

	sc := scorer{k1: k1, b: b, lucene: ix.opts.LuceneLengths}
	var (
		theta float64
		at    = -1 // the clause θ was last computed before, if any
	)
	for i := range cls {
		if err := ctx.Err(); err != nil {
			return nil, ss, err
		}
		// No document has a partial score above suffix[0]−suffix[i], so θ
		// can exceed suffix[i] only then; and θ grew by at most the bounds
		// of the clauses read since it was last computed.
		if !exhaustive && i > 0 && len(acc.touched) >= k && suffix[i] < suffix[0]-suffix[i] &&
			(at < 0 || suffix[i] < (theta+suffix[at]-suffix[i])*(1+slack)) {
			theta, acc.scores = kthBest(acc.touched, acc.score, k, acc.scores)
			theta = max(theta, shared.publish(part, acc.scores[:k]))
			at = i
			if suffix[i]*(1+slack) < theta {
				// Documents not seen yet score at most suffix[i] < θ, and k
				// documents already score θ or more: only the documents seen
				// can make the top k.
				ss.clauses, ss.full = len(cls), i
				cands, err := ix.refine(ctx, cls[i:], suffix[i:], acc, sc, k, theta, shared, part)
				if err != nil {
					return nil, ss, err
				}
				return acc.best(cands, k), ss, nil
			}
		}
		if err := sc.accumulate(ctx, &cls[i], acc, allow, exhaustive); err != nil {
			return nil, ss, err
		}
	}
	ss.clauses, ss.full = len(cls), len(cls)
	return acc.best(acc.touched, k), ss, nil
}

// clauses opens the postings of every (term, field) pair with documents,
// with each pair's weight and bound. The caller closes the readers, also
// on error.
func (ix *Index) clauses(ctx context.Context, r bindex.IndexReader, st stats, terms []WeightedTerm) ([]clause, error) {
	boosts := [numFields]float64{1, ix.opts.TitleBoost, ix.opts.FilenameBoost, ix.opts.HeadingBoost}
	k1, b := ix.opts.K1, ix.opts.B
	var cls []clause
	for fi, fs := range st.Fields {
		if fs.Docs == 0 || boosts[fi] == 0 {
			continue
		}
		n := float64(fs.Docs)
		avgdl := float64(fs.Tokens) / n
		// Every posting has dl >= tf (dl/2 with Lucene's rounding), so
		// tf/(tf + k1·(1−b) + k1·b·dl/avgdl) < 1/(1 + k1·b/avgdl).
		lift := k1 * b / avgdl
		if ix.opts.LuceneLengths {
			lift /= 2
		}
		for _, qt := range terms {
			if qt.Weight <= 0 || math.IsNaN(qt.Weight) {
				continue
			}
			tfr, err := r.TermFieldReader(ctx, []byte(qt.Term), fieldNames[fi], true, true, false)
			if err != nil {
				return cls, fmt.Errorf("lexical: read postings: %w", translate(err))
			}
			df := tfr.Count()
			if df == 0 {
				tfr.Close()
				continue
			}
			idf := bm25IDF(n, float64(df))
			w := boosts[fi] * qt.Weight * idf * (k1 + 1)
			cls = append(cls, clause{tfr: tfr, df: df, w: w, ub: w / (1 + lift) * (1 + slack), avgdl: avgdl})
		}
	}
	return cls, nil
}

// ScoreAmong returns the BM25 scores, for a query of weighted terms, of
// the documents ids only (those matching no term are left out), best
// first. It reranks a candidate set without searching the whole index:
// each term's postings are skipped through to the candidates. Scores equal
// those SearchTerms gives the same documents.
func (ix *Index) ScoreAmong(ctx context.Context, terms []WeightedTerm, ids []uint64) ([]Hit, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, st, err := ix.reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if len(ids) == 0 || len(terms) == 0 {
		return nil, nil
	}
	// Internal document numbers, in increasing order as Advance needs.
	type doc struct {
		num, id uint64
		score   float64
	}
	docs := make([]doc, 0, len(ids))
	for _, id := range ids {
		iid, err := r.InternalID(docKey(id))
		if err != nil {
			return nil, fmt.Errorf("lexical: look up %d: %w", id, translate(err))
		}
		if iid == nil {
			continue // not (or no longer) in the index
		}
		n, err := docNum(iid)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc{num: n, id: id})
	}
	slices.SortFunc(docs, func(a, b doc) int { return cmp.Compare(a.num, b.num) })
	docs = slices.CompactFunc(docs, func(a, b doc) bool { return a.num == b.num })
	cls, err := ix.clauses(ctx, r, st, terms)
	defer func() {
		for _, c := range cls {
			c.tfr.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	sc := scorer{k1: ix.opts.K1, b: ix.opts.B, lucene: ix.opts.LuceneLengths}
	for i := range cls {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := &cls[i]
		pc := cursor{tfr: c.tfr}
		for j := range docs {
			ok, err := pc.at(docs[j].num)
			if err != nil {
				return nil, err
			}
			if ok {
				docs[j].score += sc.contribution(c, pc.tfd.Freq, pc.tfd.Norm)
			}
		}
	}
	hits := make([]Hit, 0, len(docs))
	for _, d := range docs {
		if d.score > 0 {
			hits = append(hits, Hit{ID: d.id, Score: d.score})
		}
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return hits, nil
}

// cursor skips through one postings list to documents in increasing order.
type cursor struct {
	tfr  bindex.TermFieldReader
	tfd  bindex.TermFieldDoc // the posting at pn, once have
	key  [8]byte
	pn   uint64
	have bool
	done bool
}

// at reports whether document n is in the postings, leaving its posting in
// c.tfd. Successive calls must pass increasing n (as Advance requires).
func (c *cursor) at(n uint64) (bool, error) {
	if c.done {
		return false, nil
	}
	if !c.have || c.pn < n {
		binary.BigEndian.PutUint64(c.key[:], n)
		d, err := c.tfr.Advance(c.key[:], &c.tfd)
		if err != nil {
			return false, fmt.Errorf("lexical: read postings: %w", translate(err))
		}
		if d == nil {
			c.done = true
			return false, nil
		}
		if c.pn, err = docNum(d.ID); err != nil {
			return false, err
		}
		c.have = true
	}
	return c.pn == n, nil
}

// scorer computes BM25 contributions.
type scorer struct {
	k1, b  float64
	lucene bool
}

// contribution is c's score for a posting of frequency tf in a field of
// norm (scorch's 1/sqrt(length), from a float32).
func (s scorer) contribution(c *clause, tf uint64, norm float64) float64 {
	// scorch stores the field length exactly and hands it back as
	// float32(1/sqrt(length)); rounding recovers it exactly for any
	// length below 2^22.
	dl := uint64(math.Round(1 / (norm * norm)))
	if s.lucene {
		dl = luceneLength(dl)
	}
	ftf := float64(tf)
	return c.w * ftf / (ftf + s.k1*(1-s.b+s.b*float64(dl)/c.avgdl))
}

// accumulate adds c's contribution to every document of its postings that
// allow admits (nil admits all). check verifies that c.df counted them.
func (s scorer) accumulate(ctx context.Context, c *clause, acc *accumulator, allow bitset, check bool) error {
	var (
		tfd  bindex.TermFieldDoc
		seen uint64
	)
	for {
		d, err := c.tfr.Next(&tfd)
		if err != nil {
			return fmt.Errorf("lexical: read postings: %w", translate(err))
		}
		if d == nil {
			break
		}
		seen++
		if seen%(1<<14) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		n, err := docNum(d.ID)
		if err != nil {
			return err
		}
		if allow != nil && !allow.has(n) {
			continue
		}
		acc.add(n, s.contribution(c, d.Freq, d.Norm))
	}
	if check && seen != c.df {
		return fmt.Errorf("%w: postings list counts %d documents, holds %d", ErrCorrupt, c.df, seen)
	}
	return nil
}

// refine finishes a search whose remaining clauses cls (with suffix sums
// of their bounds) can no longer admit new documents into the top k: θ is
// the k-th best partial score in acc. It adds the clauses to the documents
// still in contention only, and returns those.
func (ix *Index) refine(ctx context.Context, cls []clause, suffix []float64, acc *accumulator, sc scorer, k int, theta float64, shared *sharedBound, part int) ([]uint64, error) {
	// The candidates in increasing order: sorted, or read off the dense
	// scores when many documents were touched (only touched ones are
	// nonzero).
	cands := acc.cands[:0]
	defer func() { acc.cands = cands[:0] }()
	if len(acc.touched) < len(acc.score)/32 {
		for _, n := range acc.touched {
			if (acc.score[n]+suffix[0])*(1+slack) >= theta {
				cands = append(cands, n)
			}
		}
		slices.Sort(cands)
	} else {
		for n, s := range acc.score {
			if s != 0 && (s+suffix[0])*(1+slack) >= theta {
				cands = append(cands, uint64(n))
			}
		}
	}
	var tfd bindex.TermFieldDoc
	top := make([]uint64, 0, k) // the best k candidates after the last clause, once known
	for i := range cls {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := &cls[i]
		if uint64(len(cands))*4 < c.df {
			// Few candidates: skip through the postings to each of them.
			pc := cursor{tfr: c.tfr}
			for _, n := range cands {
				ok, err := pc.at(n)
				if err != nil {
					return nil, err
				}
				if ok {
					acc.score[n] += sc.contribution(c, pc.tfd.Freq, pc.tfd.Norm)
				}
			}
		} else {
			// Many candidates: read the postings and update the documents
			// already scored (those dropped as well, harmlessly).
			for {
				d, err := c.tfr.Next(&tfd)
				if err != nil {
					return nil, fmt.Errorf("lexical: read postings: %w", translate(err))
				}
				if d == nil {
					break
				}
				n, err := docNum(d.ID)
				if err != nil {
					return nil, err
				}
				if n < uint64(len(acc.score)) && acc.score[n] != 0 {
					acc.score[n] += sc.contribution(c, d.Freq, d.Norm)
				}
			}
		}
		// Partial scores only grew, so θ did too; drop the documents that
		// cannot reach it any more. The k documents that were best before
		// this clause still score at least their lowest score now: a bound
		// found in O(k) that drops most candidates before the exact k-th
		// best is selected among those left.
		if len(top) == k {
			low := math.Inf(1)
			for _, n := range top {
				low = min(low, acc.score[n])
			}
			theta = max(theta, low, shared.load())
			cands = keep(cands, acc.score, suffix[i+1], theta)
		}
		local, scratch := kthBest(cands, acc.score, k, acc.scores)
		acc.scores = scratch
		theta = max(theta, local)
		if len(cands) >= k {
			theta = max(theta, shared.publish(part, scratch[:k]))
		}
		cands = keep(cands, acc.score, suffix[i+1], theta)
		if i+1 < len(cls) && len(cands) >= k {
			top = topDocs(top[:0], cands, acc.score, local)
		}
	}
	return cands, nil
}

// keep drops from cands, in place, the documents whose partial score plus
// rest cannot reach theta.
func keep(cands []uint64, score []float64, rest, theta float64) []uint64 {
	kept := cands[:0]
	for _, n := range cands {
		if (score[n]+rest)*(1+slack) >= theta {
			kept = append(kept, n)
		}
	}
	return kept
}

// topDocs appends to dst k documents of cands scoring at least kth, the
// k-th best score among them (so there are k such).
func topDocs(dst, cands []uint64, score []float64, kth float64) []uint64 {
	k := cap(dst)
	for _, n := range cands {
		if len(dst) == k {
			break
		}
		if score[n] > kth {
			dst = append(dst, n)
		}
	}
	for _, n := range cands {
		if len(dst) == k {
			break
		}
		if score[n] == kth {
			dst = append(dst, n)
		}
	}
	return dst
}

// MaxQueryTerms bounds the distinct terms Search takes from one query
// string: terms beyond the first MaxQueryTerms distinct ones are dropped
// (repeats of kept terms still add weight). It keeps the cost of a hostile
// query linear in its length and bounded in its postings reads.
const MaxQueryTerms = 1024

// queryTerms analyzes q into distinct terms weighted by their counts, in
// order of first appearance, at most MaxQueryTerms of them. It runs in time
// linear in len(q).
func (ix *Index) queryTerms(q string) []WeightedTerm {
	ts := ix.analyzer.Analyze([]byte(q))
	out := make([]WeightedTerm, 0, min(len(ts), MaxQueryTerms))
	at := make(map[string]int, min(len(ts), MaxQueryTerms))
	for _, t := range ts {
		if i, ok := at[string(t.Term)]; ok {
			out[i].Weight++
			continue
		}
		if len(out) == MaxQueryTerms {
			continue
		}
		at[string(t.Term)] = len(out)
		out = append(out, WeightedTerm{Term: string(t.Term), Weight: 1})
	}
	return out
}

// cand is a scored document number.
type cand struct {
	num   uint64
	score float64
}

// best picks the k best of docs (scored by acc.score; ties go to the
// earlier document), best first, in acc's scratch.
func (acc *accumulator) best(docs []uint64, k int) []cand {
	c := acc.top[:0]
	for _, n := range docs {
		c = append(c, cand{n, acc.score[n]})
	}
	acc.top = c[:0]
	return bestK(c, k)
}

// resolveHits turns ranked candidates into hits with our ids.
func (ix *Index) resolveHits(r bindex.IndexReader, c []cand) ([]Hit, error) {
	nums := make([]uint64, len(c))
	for i, c := range c {
		nums[i] = c.num
	}
	ids, err := ix.ids.resolve(r, nums)
	if err != nil {
		return nil, err
	}
	hits := make([]Hit, len(c))
	for i, c := range c {
		hits[i] = Hit{ID: ids[i], Score: c.score}
	}
	return hits, nil
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

// bm25IDF is BM25's idf of a term in df of n documents (Lucene's, never
// negative).
func bm25IDF(n, df float64) float64 { return math.Log(1 + (n-df+0.5)/(df+0.5)) }

// FullMatchScore is the BM25 score, for a query of weighted terms, of a
// document of the collection's average length whose text holds every term
// once: the sum over terms of weight · idf(t), idf as in Search over the
// text field (a term no document holds has the idf of df = 0), since at
// tf = 1 and average length BM25's saturation (k1+1)·tf/(tf+k1·(1-b+b·dl/avgdl))
// is exactly 1. It depends only on the terms and the collection, so
// score/FullMatchScore compares across queries: about the idf-weighted
// share of the query's terms a document holds, 1 for a full match (more
// for repeated terms or a short document; callers cap it). It is 0 for no
// terms or an empty index.
func (ix *Index) FullMatchScore(ctx context.Context, terms []WeightedTerm) (float64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, st, err := ix.reader()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := float64(st.Fields[fieldText].Docs)
	if n == 0 {
		return 0, nil
	}
	var bound float64
	for _, qt := range terms {
		if qt.Weight <= 0 || math.IsNaN(qt.Weight) || math.IsInf(qt.Weight, 0) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		dict, err := r.TermFieldReader(ctx, []byte(qt.Term), fieldNames[fieldText], false, false, false)
		if err != nil {
			return 0, fmt.Errorf("lexical: read postings: %w", translate(err))
		}
		df := float64(dict.Count())
		dict.Close()
		idf := bm25IDF(n, df)
		bound += qt.Weight * idf
	}
	return bound, nil
}

// QueryTerms is the analyzed query Search runs for query: its distinct
// terms weighted by their counts, at most MaxQueryTerms of them.
func (ix *Index) QueryTerms(query string) []WeightedTerm { return ix.queryTerms(query) }

// CollectionProbs estimates, for each term, the probability that a token
// of the collection's text is that term: its document frequency over the
// text field's token count (each document holding it counted once), the
// collection model P(t|C) of language-model feedback. It also returns the
// smallest probability a term of the collection can have, 1 over the token
// count. Unknown terms get 0, as every term of an empty index (floor 0).
func (ix *Index) CollectionProbs(ctx context.Context, terms []string) (probs []float64, floor float64, err error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	gen := ix.gen.Load()
	r, st, err := ix.reader()
	if err != nil {
		return nil, 0, err
	}
	defer r.Close()
	probs = make([]float64, len(terms))
	tokens := float64(st.Fields[fieldText].Tokens)
	if tokens == 0 {
		return probs, 0, nil
	}
	dfs := ix.dfs.get(gen, terms)
	var read map[string]uint64 // read here, for the cache
	for i, t := range terms {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		df := dfs[i]
		if df < 0 { // not cached
			tfr, err := r.TermFieldReader(ctx, []byte(t), fieldNames[fieldText], false, false, false)
			if err != nil {
				return nil, 0, fmt.Errorf("lexical: read postings: %w", translate(err))
			}
			df = int64(tfr.Count())
			tfr.Close()
			if read == nil {
				read = map[string]uint64{}
			}
			read[t] = uint64(df)
		}
		probs[i] = float64(df) / tokens
	}
	// Cached only when no batch began since gen was read: the reader then
	// saw the index as it is at gen.
	ix.dfs.put(gen, ix.gen.Load(), read)
	return probs, 1 / tokens, nil
}

// dfCache holds document frequencies of the text field, valid for one
// batch generation (Index.gen, even) and dropped when it changes. Feedback
// asks for the frequencies of a few hundred terms per search, many of them
// the same from one search to the next, and each read opens a postings
// list in every segment. Bounded by dfCacheMax terms.
type dfCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]uint64
}

const dfCacheMax = 1 << 16

// get returns, for each term, its cached frequency at gen or -1.
func (c *dfCache) get(gen uint64, terms []string) []int64 {
	out := make([]int64, len(terms))
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, t := range terms {
		out[i] = -1
		if c.gen == gen && c.m != nil {
			if df, ok := c.m[t]; ok {
				out[i] = int64(df)
			}
		}
	}
	return out
}

// put caches read, frequencies read at gen, when gen is even and still
// current (now).
func (c *dfCache) put(gen, now uint64, read map[string]uint64) {
	if len(read) == 0 || gen%2 == 1 || now != gen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.m == nil || len(c.m)+len(read) > dfCacheMax {
		c.gen, c.m = gen, make(map[string]uint64, len(read))
	}
	for t, df := range read {
		c.m[t] = df
	}
}
