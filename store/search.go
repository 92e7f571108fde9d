package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/lexical"
	"github.com/quarrylabs/quarry/rerank"
)

// Ranker values of RankingOptions.Ranker, as in the OpenAI API.
const (
	RankerNone    = "none"
	RankerAuto    = "auto"
	RankerDefault = "default-2024-11-15"
)

// SearchRequest is a search, as the OpenAI vector-store search request.
type SearchRequest struct {
	// Query is one or more queries; their results are fused.
	Query []string `json:"query"`
	// RewriteQuery rewrites each query before search (see Options.Rewriter);
	// the queries actually run come back in SearchResults.SearchQuery.
	RewriteQuery bool `json:"rewrite_query,omitempty"`
	// MaxResults caps the number of chunks returned: 1..50, default 10
	// (with CountFiles, the number of files).
	MaxResults int `json:"max_num_results,omitempty"`
	// CountFiles makes MaxResults count files, as the HTTP API's
	// max_num_results does: the results are the first MaxResults files in
	// ranking order, each carrying its best chunk and, while the page holds
	// fewer than MaxResults chunks, its further chunks in ranking order. A
	// page holds at most MaxResults files and 2·MaxResults−1 chunks.
	CountFiles bool `json:"-"`
	// Filter keeps only chunks of files whose attributes match. It applies
	// before retrieval in both indexes.
	Filter  *filter.Filter `json:"filters,omitempty"`
	Ranking RankingOptions `json:"ranking_options"`
}

// RankingOptions tunes ranking.
type RankingOptions struct {
	// Ranker is "auto" (default), "default-2024-11-15" (same as auto) or
	// "none", which skips reranking.
	Ranker string `json:"ranker,omitempty"`
	// ScoreThreshold drops results scoring below it, 0..1. Scores are
	// absolute (see SearchResult.Score), so a threshold means the same for
	// every query: with the default weights 0.1 drops the chunks that share
	// no keyword with the query.
	ScoreThreshold float64 `json:"score_threshold,omitempty"`
	// Hybrid weighs the dense and keyword rankings; nil means the DB's
	// defaults (Options.Hybrid).
	Hybrid *HybridWeights `json:"hybrid_search,omitempty"`
	// Fusion is rerank.NormalizedScore or rerank.RRF; empty means the DB's
	// default (Options.Fusion). It orders the results; their scores are
	// absolute whatever the fusion.
	Fusion rerank.Fusion `json:"fusion,omitempty"`
}

// HybridWeights are the weights of the two first-stage rankings.
type HybridWeights struct {
	EmbeddingWeight float64 `json:"embedding_weight"`
	TextWeight      float64 `json:"text_weight"`
}

// valid reports whether no weight is negative and not both are 0.
func (h HybridWeights) valid() bool {
	return !(h.EmbeddingWeight < 0 || h.TextWeight < 0 || h.EmbeddingWeight+h.TextWeight == 0)
}

// validFusion reports whether f is a fusion method or "" (the default).
func validFusion(f rerank.Fusion) bool {
	return f == "" || f == rerank.RRF || f == rerank.NormalizedScore
}

// SearchResults is a page of results grouped by file, best file first.
type SearchResults struct {
	SearchQuery []string       `json:"search_query"`
	Data        []SearchResult `json:"data"`
	// HasMore is set when more chunks passed the threshold than
	// MaxNumResults.
	HasMore bool `json:"-"`
}

// SearchResult is one file and its matching chunks, best first.
type SearchResult struct {
	FileID        string `json:"file_id"`
	Filename      string `json:"filename"`
	VectorStoreID string `json:"vector_store_id"`
	// Score is the best chunk's score. A chunk's score, 0..1, is absolute:
	// it depends only on the query, the chunk and the collection's
	// statistics, not on the other candidates. It is the weighted mean
	// (HybridWeights) of the chunk's cosine similarity to the query (0 when
	// negative) and its BM25 score over a full match's (see
	// lexical.Index.FullMatchScore: a chunk of average length holding every
	// query term once; capped at 1), itself averaged with the same ratio for the
	// feedback-expanded query when feedback ran; with several queries, the
	// mean over them. Feedback needs chunks holding a query term, so when
	// none does (a nonsense query) every chunk scores at most
	// EmbeddingWeight/(EmbeddingWeight+TextWeight): 1/11 with the default
	// local embedder's weights. The fusion and the reranker order results;
	// a result may score above the one before it.
	Score      float64        `json:"score"`
	Attributes map[string]any `json:"attributes"`
	Content    []ChunkResult  `json:"content"`
}

// ChunkResult is a matching chunk with its citation.
type ChunkResult struct {
	Type string `json:"type"` // "text"
	Text string `json:"text"`
	// Prefix is the part of Text not in the file at the chunk's range: a
	// table's header row repeated in a continuation chunk.
	Prefix    string   `json:"prefix,omitempty"`
	Score     float64  `json:"score"` // 0..1, absolute (see SearchResult.Score)
	ChunkID   string   `json:"chunk_id"`
	Index     int      `json:"chunk_index"` // position in the file
	Tokens    int      `json:"tokens"`
	CharStart int      `json:"char_start"` // code point range in the file's text
	CharEnd   int      `json:"char_end"`
	ByteStart int      `json:"byte_start"` // byte range in the file's text
	ByteEnd   int      `json:"byte_end"`
	PageStart int      `json:"page_start,omitempty"` // 1-based, 0 when unpaged
	PageEnd   int      `json:"page_end,omitempty"`
	Headings  []string `json:"headings,omitempty"`
	// Rank is the chunk's position among all the results (0 is the best):
	// grouping by file keeps each file's chunks in order, Rank restores
	// the order across files. Scores are absolute and need not fall in it.
	Rank int `json:"-"`
}

// ChunkID formats a chunk id as it appears in results.
func ChunkID(id uint64) string { return fmt.Sprintf("chunk_%d", id) }

// Validate reports every problem with r at once.
func (r *SearchRequest) Validate() error {
	var errs []error
	if len(r.Query) == 0 {
		errs = append(errs, invalidf("query is required"))
	}
	for i, q := range r.Query {
		if strings.TrimSpace(q) == "" {
			errs = append(errs, invalidf("query[%d] is empty", i))
		}
	}
	if r.MaxResults != 0 && (r.MaxResults < 1 || r.MaxResults > 50) {
		errs = append(errs, invalidf("max_num_results must be between 1 and 50, got %d", r.MaxResults))
	}
	switch r.Ranking.Ranker {
	case "", RankerNone, RankerAuto, RankerDefault:
	default:
		errs = append(errs, invalidf("ranker must be none, auto or %s, got %q", RankerDefault, r.Ranking.Ranker))
	}
	if t := r.Ranking.ScoreThreshold; t < 0 || t > 1 {
		errs = append(errs, invalidf("score_threshold must be between 0 and 1, got %v", t))
	}
	if h := r.Ranking.Hybrid; h != nil {
		if !h.valid() {
			errs = append(errs, invalidf("hybrid weights must be >= 0 and not both 0, got %v and %v", h.EmbeddingWeight, h.TextWeight))
		}
	}
	if !validFusion(r.Ranking.Fusion) {
		errs = append(errs, invalidf("fusion must be %q or %q, got %q", rerank.RRF, rerank.NormalizedScore, r.Ranking.Fusion))
	}
	if r.Filter != nil {
		if err := r.Filter.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrInvalid, err))
		}
	}
	return errors.Join(errs...)
}

// Search searches the vector store.
func (vs *VectorStore) Search(ctx context.Context, req SearchRequest) (*SearchResults, error) {
	return vs.db.Search(ctx, []string{vs.id}, req)
}

// candidateDepth is how many candidates each first-stage ranking returns.
func candidateDepth(maxResults int) int { return max(100, 5*maxResults) }

// Search searches several vector stores at once; MaxResults caps the
// results over all of them.
//
// The stages: rewrite (optional) → per store and query, in parallel, vector
// and BM25 candidates → fusion → pseudo-relevance feedback (a second BM25
// ranking from the expanded query joins the fusion) → rerank (when
// Options.Reranker is set; none by default) → absolute scores (see
// SearchResult.Score) → threshold and cap → grouping by file. Ranker
// "none" skips feedback and rerank.
func (db *DB) Search(ctx context.Context, vsIDs []string, req SearchRequest) (*SearchResults, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.MaxResults == 0 {
		req.MaxResults = 10
	}
	if req.Ranking.Fusion == "" {
		req.Ranking.Fusion = db.opts.Fusion
	}
	if len(vsIDs) == 0 {
		return nil, invalidf("no vector store to search")
	}
	// Each state is held until the search returns: Delete, Reembed and
	// Close wait for it, so its indexes stay open.
	var states []*vsState
	defer func() {
		for _, st := range states {
			st.release()
		}
	}()
	seen := map[string]bool{}
	for _, id := range vsIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		st, err := db.acquireCurrent(ctx, id)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
		if st.mismatch != nil {
			return nil, st.mismatch
		}
		if st.identity != states[0].identity {
			// Only a store the DB serves with its builtin embedder
			// (builtin.go) differs from the others: one query vector
			// cannot serve both.
			return nil, fmt.Errorf("%w: vector stores %s (%s) and %s (%s) were built by different embedders and cannot be searched together; re-embed one (DB.Reembed)",
				ErrEmbedderMismatch, states[0].id, states[0].identity, st.id, st.identity)
		}
	}
	qe := db.queryEmbedder
	if states[0].own != nil {
		qe = states[0].own.query
	}
	queries := req.Query
	if req.RewriteQuery {
		queries = db.rewrite(ctx, states, queries)
	}
	w := db.opts.Hybrid
	if req.Ranking.Hybrid != nil {
		w = *req.Ranking.Hybrid
	}
	var vecs [][]float32
	if w.EmbeddingWeight > 0 {
		// A keyword-only search never calls the embedder.
		var err error
		if vecs, err = qe.Embed(ctx, queries); err != nil {
			return nil, fmt.Errorf("store: embed query: %w", err)
		}
		if err := checkVectors(vecs, len(queries), states[0].identity.Dimensions); err != nil {
			return nil, fmt.Errorf("store: embed query: %w", err)
		}
	}
	depth := candidateDepth(req.MaxResults)
	lists, err := db.firstStage(ctx, states, queries, vecs, w, depth, req.Filter)
	if err != nil {
		return nil, err
	}
	ranked := req.Ranking.Ranker != RankerNone
	read := map[uint64]*chunkRecord{} // chunks hydrated so far
	var expanded *feedbackRun
	if ranked && w.TextWeight > 0 {
		fb, err := db.feedback(ctx, states, queries, lists, req.Ranking.Fusion, w.TextWeight, read)
		if err != nil {
			return nil, err
		}
		if fb != nil {
			lists, expanded = append(lists, fb.lists...), fb
		}
	}
	rerankOn := ranked && db.opts.Reranker != nil
	fused := fuse(req.Ranking.Fusion, lists)
	keep := req.MaxResults + 1 // one more than shown tells has_more
	if req.CountFiles {
		// Files, not chunks: look down the candidates as far as group
		// will (through the first chunk of one file more than shown).
		keep = filesPrefix(states, fused, req.MaxResults)
	}
	if rerankOn {
		keep = max(keep, db.opts.RerankDepth)
	}
	if req.Ranking.ScoreThreshold > 0 {
		// The threshold applies to absolute scores, which need not fall
		// in rank order: look further down for results above it.
		keep = max(keep, depth)
	}
	// Score before reading the chunks back (without a reranker), so that
	// what is returned is checked against the source of truth last.
	ids := make([]uint64, 0, keep)
	for _, it := range fused[:min(len(fused), keep)] {
		ids = append(ids, it.ID)
	}
	var scores map[uint64]float64
	if !rerankOn {
		if scores, err = db.absolute(ctx, states, queries, vecs, w, expanded, ids); err != nil {
			return nil, err
		}
	}
	cands, err := db.hydrate(states, fused, keep, read)
	if err != nil {
		return nil, err
	}
	if rerankOn && len(cands) > 1 {
		if cands, err = db.rerank(ctx, strings.Join(queries, " "), cands); err != nil {
			return nil, err
		}
	}
	var unscored []uint64 // reranked, or past chunks deleted meanwhile
	for _, c := range cands {
		if _, ok := scores[c.id]; !ok {
			unscored = append(unscored, c.id)
		}
	}
	if len(unscored) > 0 {
		more, err := db.absolute(ctx, states, queries, vecs, w, expanded, unscored)
		if err != nil {
			return nil, err
		}
		if scores == nil {
			scores = more
		} else {
			maps.Copy(scores, more)
		}
	}
	for i := range cands {
		cands[i].score = scores[cands[i].id]
	}
	for _, st := range states {
		db.touch(st)
	}
	return group(cands, queries, req.MaxResults, req.CountFiles, req.Ranking.ScoreThreshold), nil
}

// firstStage returns the candidate lists: for each store and query, the
// vector ranking and the BM25 ranking, each depth long, searched in
// parallel. A list whose weight is 0 is left empty.
func (db *DB) firstStage(ctx context.Context, states []*vsState, queries []string, vecs [][]float32, w HybridWeights, depth int, f *filter.Filter) ([]rerank.List, error) {
	lists := make([]rerank.List, 2*len(states)*len(queries))
	g, gctx := errgroup.WithContext(ctx)
	for si, st := range states {
		allow := st.allow(f)
		for qi, q := range queries {
			slot := 2 * (si*len(queries) + qi)
			// A query the embedder knows nothing of (a zero vector: no
			// word of a static model's vocabulary, such as CJK text for the
			// default) has no vector ranking: every chunk would tie.
			if w.EmbeddingWeight > 0 && !zeroVector(vecs[qi]) {
				g.Go(func() error {
					res, err := st.vec.Search(vecs[qi], depth, allow)
					if err != nil {
						return err
					}
					// Only chunks similar to the query are evidence: one at
					// cosine 0 or below (a chunk with no known word is a
					// zero vector) joins no fusion.
					items := make([]rerank.Scored, 0, len(res))
					for _, r := range res {
						if sim := float64(1 - r.Distance); sim > 0 {
							items = append(items, rerank.Scored{ID: r.ID, Score: sim})
						}
					}
					lists[slot] = rerank.List{Items: items, Weight: w.EmbeddingWeight}
					return nil
				})
			}
			if w.TextWeight > 0 {
				g.Go(func() error {
					hits, err := st.lex.Search(gctx, q, depth, f)
					lists[slot+1] = lexList(hits, w.TextWeight)
					return err
				})
			}
		}
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	return lists, nil
}

// zeroVector reports whether v has no non-zero component.
func zeroVector(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// feedback is pseudo-relevance feedback: the best fused chunks so far are
// taken as relevant, each query is expanded with their characteristic
// terms (see expand), and the best first-stage candidates are re-scored by
// BM25 against the expanded queries; those rankings join the fusion.
// Scoring only the candidates, not the whole index, keeps the stage cheap.
// It returns what it ran (see feedbackRun), nil when there was no feedback.
func (db *DB) feedback(ctx context.Context, states []*vsState, queries []string, lists []rerank.List, method rerank.Fusion, weight float64, seen map[uint64]*chunkRecord) (*feedbackRun, error) {
	fused := fuse(method, lists)
	// Only chunks holding a query term can be taken as relevant: a query
	// that matches no keyword (a typo, a name the collection lacks) has
	// no evidence to expand from, only its nearest vectors.
	matched := map[uint64]bool{}
	for i := 1; i < len(lists); i += 2 {
		for _, it := range lists[i].Items {
			matched[it.ID] = true
		}
	}
	evidence := make([]rerank.Scored, 0, len(fused))
	for _, it := range fused {
		if matched[it.ID] {
			evidence = append(evidence, it)
		}
	}
	top, err := db.hydrate(states, evidence, feedbackDocs, seen)
	if err != nil || len(top) == 0 {
		return nil, err
	}
	texts, scores := make([]string, len(top)), make([]float64, len(top))
	for i, h := range top {
		texts[i], scores[i] = h.rec.Text, h.score
	}
	// The candidates re-scored: the best of the first fusion, which is all
	// that can reach the reranker.
	cands := make([]uint64, 0, feedbackCandidates)
	for _, it := range fused[:min(len(fused), feedbackCandidates)] {
		cands = append(cands, it.ID)
	}
	exp, err := expansion(texts, scores, func(terms []string) ([]float64, float64, error) {
		// The stores' mean; a term of one store has at least its floor
		// over the number of stores.
		mean, floor := make([]float64, len(terms)), math.Inf(1)
		for _, st := range states {
			p, f, err := st.lex.CollectionProbs(ctx, terms)
			if err != nil {
				return nil, 0, err
			}
			for i := range p {
				mean[i] += p[i] / float64(len(states))
			}
			if f > 0 {
				floor = min(floor, f/float64(len(states)))
			}
		}
		if math.IsInf(floor, 1) {
			floor = 0
		}
		return mean, floor, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	expanded := make([][]lexical.WeightedTerm, len(queries))
	for qi, q := range queries {
		expanded[qi] = expand(q, exp)
	}
	out := make([]rerank.List, len(states)*len(queries))
	g, gctx := errgroup.WithContext(ctx)
	for si, st := range states {
		for qi := range queries {
			if len(expanded[qi]) == 0 || len(cands) == 0 {
				continue
			}
			g.Go(func() error {
				// Ids of other stores are simply not found in this one.
				hits, err := st.lex.ScoreAmong(gctx, expanded[qi], cands)
				out[si*len(queries)+qi] = lexList(hits, weight)
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	scored := make(map[uint64]bool, len(cands))
	for _, id := range cands {
		scored[id] = true
	}
	return &feedbackRun{terms: expanded, lists: out, scored: scored}, nil
}

// feedbackRun is what feedback ran: the expanded queries, and their BM25
// rankings of the candidates it scored (one list per store and query, as
// lists index them), which the absolute scores reuse instead of scoring
// those candidates again.
type feedbackRun struct {
	terms  [][]lexical.WeightedTerm
	lists  []rerank.List   // store si, query qi at si*len(terms)+qi
	scored map[uint64]bool // the candidates the lists scored
}

func lexList(hits []lexical.Hit, weight float64) rerank.List {
	items := make([]rerank.Scored, len(hits))
	for i, h := range hits {
		items[i] = rerank.Scored{ID: h.ID, Score: h.Score}
	}
	return rerank.List{Items: items, Weight: weight}
}

// rerank re-scores the candidates with the DB's reranker. A reranker that
// fails (a remote one, typically) costs the search its reranking, not its
// results.
func (db *DB) rerank(ctx context.Context, query string, cands []hit) ([]hit, error) {
	rc := make([]rerank.Candidate, len(cands))
	for i, c := range cands {
		rc[i] = rerank.Candidate{ID: c.id, Text: c.rec.Text, Score: c.score, Headings: c.rec.Headings, Filename: c.filename}
	}
	out, err := db.opts.Reranker.Rerank(ctx, query, rc)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		db.log.Warn("quarry: reranker failed; keeping the fused order", "err", err)
		return cands, nil
	}
	byID := make(map[uint64]*hit, len(cands))
	for i := range cands {
		byID[cands[i].id] = &cands[i]
	}
	next := make([]hit, 0, len(out))
	for _, c := range out {
		if h, ok := byID[c.ID]; ok {
			h.score = c.Score
			next = append(next, *h)
		}
	}
	return next, nil
}

// group keeps the candidates scoring at least threshold and groups them
// by file in order of each file's first (best ranked) chunk, a file
// scoring its best chunk's score: at most max chunks or, with files, at
// most max files (see SearchRequest.CountFiles).
func group(cands []hit, queries []string, max int, files bool, threshold float64) *SearchResults {
	res := &SearchResults{SearchQuery: queries, Data: []SearchResult{}}
	byFile := map[string]int{}
	n := 0 // chunks in the page
	for _, c := range cands {
		if c.score < threshold {
			continue
		}
		i, ok := byFile[c.rec.FileID]
		if files && ok && n >= max {
			continue // the chunk budget is spent; more files may follow
		}
		if (!files && n == max) || (files && !ok && len(res.Data) == max) {
			res.HasMore = true
			break
		}
		if !ok {
			i = len(res.Data)
			byFile[c.rec.FileID] = i
			res.Data = append(res.Data, SearchResult{
				FileID: c.rec.FileID, Filename: c.filename, VectorStoreID: c.vsID, Score: c.score, Attributes: c.attrs,
			})
		}
		if c.score > res.Data[i].Score {
			res.Data[i].Score = c.score
		}
		r := c.rec
		res.Data[i].Content = append(res.Data[i].Content, ChunkResult{
			Type: "text", Text: r.Text, Prefix: r.Prefix, Score: c.score, ChunkID: ChunkID(c.id), Index: r.Index, Tokens: r.Tokens,
			CharStart: r.CharStart, CharEnd: r.CharEnd, ByteStart: r.Start, ByteEnd: r.End,
			PageStart: r.PageStart, PageEnd: r.PageEnd, Headings: r.Headings, Rank: n,
		})
		n++
	}
	return res
}

// filesPrefix is how many of the fused candidates group reads for max
// files: through the first chunk of the (max+1)-th file, which tells
// has_more. It goes by the chunk-to-file maps, so it reads nothing; a
// chunk deleted meanwhile still counts (hydrate then drops it and the
// page may show one file fewer, as if the delete came first).
func filesPrefix(states []*vsState, fused []rerank.Scored, max int) int {
	files := make(map[string]bool, max+1)
	for i, s := range fused {
		for _, st := range states {
			st.attrMu.RLock()
			fid, ok := st.chunkFile[s.ID]
			st.attrMu.RUnlock()
			if !ok {
				continue
			}
			if !files[fid] {
				if len(files) == max {
					return i + 1
				}
				files[fid] = true
			}
			break
		}
	}
	return len(fused)
}

// fuse fuses the non-empty lists; a list of weight 0 is left out.
func fuse(method rerank.Fusion, lists []rerank.List) []rerank.Scored {
	use := make([]rerank.List, 0, len(lists))
	for _, l := range lists {
		if l.Weight > 0 {
			use = append(use, l)
		}
	}
	return rerank.Fuse(method, use, 60)
}

// hit is a candidate chunk with what results need.
type hit struct {
	id       uint64
	score    float64
	vsID     string
	filename string
	attrs    map[string]any
	rec      *chunkRecord
}

// hydrate reads up to n fused candidates from the source of truth, in
// order, dropping any chunk that no longer exists. Records already in seen
// are reused and new ones added to it, so a search reads each chunk once.
func (db *DB) hydrate(states []*vsState, fused []rerank.Scored, n int, seen map[uint64]*chunkRecord) ([]hit, error) {
	out := make([]hit, 0, min(n, len(fused)))
	err := db.bolt.View(func(tx *bolt.Tx) error {
		bs := make([]*vsBuckets, len(states))
		for si, st := range states {
			b, ok := buckets(tx, st.id)
			if !ok {
				// Deleted while the search ran.
				return notFound("vector store", st.id)
			}
			bs[si] = &b
		}
		for _, s := range fused {
			if len(out) == n {
				break
			}
			for si, st := range states {
				st.attrMu.RLock()
				fid, ok := st.chunkFile[s.ID]
				attrs, name := st.fileAttrs[fid], st.fileNames[fid]
				st.attrMu.RUnlock()
				if !ok {
					continue
				}
				rec := seen[s.ID]
				if rec == nil {
					var err error
					if rec, err = bs[si].chunk(u64key(s.ID)); err != nil {
						return err
					}
					if rec == nil {
						break
					}
					seen[s.ID] = rec
				}
				out = append(out, hit{id: s.ID, score: s.Score, vsID: st.id, filename: name, attrs: attrs, rec: rec})
				break
			}
		}
		return nil
	})
	return out, err
}

// touch records activity for expiry, at most once a minute per store. The
// write is left to the store's indexer, so a search never waits for a
// commit.
func (db *DB) touch(st *vsState) {
	now := db.now().Unix()
	st.attrMu.Lock()
	stale := now-st.lastTouch >= 60
	if stale {
		st.lastTouch = now
		st.touchDue = now
	}
	st.attrMu.Unlock()
	if stale {
		st.committed()
	}
}

// writeTouch records the activity noted by touch, if any.
func (db *DB) writeTouch(st *vsState) {
	st.attrMu.Lock()
	now := st.touchDue
	st.touchDue = 0
	st.attrMu.Unlock()
	if now == 0 {
		return
	}
	db.bolt.Batch(func(tx *bolt.Tx) error {
		b, ok := buckets(tx, st.id)
		if !ok {
			return nil
		}
		rec, err := b.record()
		if err != nil {
			return err
		}
		if rec.expiredAt(now) {
			return nil // activity after the expiry does not revive a store
		}
		rec.LastActiveAt = max(rec.LastActiveAt, now)
		return putJSON(b.root, keyRecord, rec)
	})
}
