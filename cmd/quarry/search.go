package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/rerank"
	"github.com/quarrylabs/quarry/store"
)

func cmdSearch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	dir := fs.String("dir", "", "index `DIR` (what changed) before searching")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	maxResults := fs.Int("max-results", 10, "max_num_results: 1..50")
	filterJSON := fs.String("filter", "", "attribute filter, the API's JSON grammar, e.g. '{\"type\":\"eq\",\"key\":\"lang\",\"value\":\"en\"}'")
	ranker := fs.String("ranker", store.RankerAuto, "ranker: auto, default-2024-11-15 or none")
	threshold := fs.Float64("score-threshold", 0, "drop results scoring below this (0..1)")
	rewrite := fs.Bool("rewrite", false, "rewrite the query before searching")
	textWeight := fs.Float64("text-weight", -1, "weight of the keyword (BM25) ranking in fusion (default: the store's, 1)")
	embWeight := fs.Float64("embedding-weight", -1, "weight of the vector ranking in fusion (default: the store's; 0.1 with the local embedder, else 1)")
	fusion := fs.String("fusion", "", "fusion: normalized (default) or rrf")
	words, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(words) == 0 {
		return fmt.Errorf("usage: quarry search [flags] QUERY")
	}
	req := store.SearchRequest{
		Query:        []string{strings.Join(words, " ")},
		RewriteQuery: *rewrite,
		MaxResults:   *maxResults,
		Ranking: store.RankingOptions{
			Ranker: *ranker, ScoreThreshold: *threshold, Fusion: rerank.Fusion(*fusion),
		},
	}
	if *filterJSON != "" {
		if req.Filter, err = filter.Parse([]byte(*filterJSON)); err != nil {
			return err
		}
	}
	db, err := sf.open(ctx, cliLogger(stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	if *embWeight >= 0 || *textWeight >= 0 {
		// A weight not given keeps the store's default.
		w := db.Options().Hybrid
		if *embWeight >= 0 {
			w.EmbeddingWeight = *embWeight
		}
		if *textWeight >= 0 {
			w.TextWeight = *textWeight
		}
		req.Ranking.Hybrid = &w
	}
	if err := req.Validate(); err != nil {
		return err
	}
	if *dir != "" {
		vs, err := sf.vectorStore(ctx, db, true)
		if err != nil {
			return err
		}
		if _, err := indexDir(ctx, vs, *dir, true, stderr, stderr); err != nil {
			return err
		}
	}
	var ids []string
	for _, name := range sf.names() {
		vs, err := db.VectorStoreByName(ctx, name)
		if err != nil {
			return fmt.Errorf("vector store %q: %w (run 'quarry index DIR' first)", name, err)
		}
		ids = append(ids, vs.ID())
	}
	res, err := db.Search(ctx, ids, req)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printResults(stdout, res, req.Query[0])
	return nil
}

func printResults(w io.Writer, res *store.SearchResults, query string) {
	if len(res.Data) == 0 {
		fmt.Fprintln(w, "no results")
		return
	}
	if len(res.SearchQuery) > 1 || res.SearchQuery[0] != query {
		fmt.Fprintf(w, "searched for: %s\n\n", strings.Join(res.SearchQuery, " | "))
	}
	n := 0
	for _, r := range res.Data {
		for _, c := range r.Content {
			n++
			fmt.Fprintf(w, "%d. %s  score %.3f  %s\n", n, rel(r.Filename), c.Score, citation(c))
			fmt.Fprintf(w, "   %s\n\n", snippet(c.Text, query, 240))
		}
	}
}

// citation renders a chunk's position: chunk, characters, pages, headings.
func citation(c store.ChunkResult) string {
	parts := []string{fmt.Sprintf("chunk %d", c.Index), fmt.Sprintf("chars %d-%d", c.CharStart, c.CharEnd)}
	switch {
	case c.PageStart > 0 && c.PageEnd > c.PageStart:
		parts = append(parts, fmt.Sprintf("pages %d-%d", c.PageStart, c.PageEnd))
	case c.PageStart > 0:
		parts = append(parts, fmt.Sprintf("page %d", c.PageStart))
	}
	if len(c.Headings) > 0 {
		parts = append(parts, "§ "+strings.Join(c.Headings, " › "))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// snippet returns about width characters of text, whitespace collapsed,
// from the window holding the most distinct query words (matched by their
// first five letters, so "rotated" finds "Rotate").
func snippet(text, query string, width int) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) <= width {
		return text
	}
	ls := strings.ToLower(text) // rune for rune, so positions match r's
	var stems []string
	for _, w := range strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		if rw := []rune(w); len(rw) >= 3 {
			stems = append(stems, string(rw[:min(5, len(rw))]))
		}
	}
	// Positions (in runes) of each query word's occurrences.
	type hit struct{ at, word int }
	var hits []hit
	for wi, st := range stems {
		runes := 0 // runes in ls[:off]
		for off := 0; ; {
			i := strings.Index(ls[off:], st)
			if i < 0 {
				break
			}
			runes += utf8.RuneCountInString(ls[off : off+i])
			hits = append(hits, hit{runes, wi})
			runes += utf8.RuneCountInString(st)
			off += i + len(st)
		}
	}
	best, bestN := 0, 0
	for _, h := range hits {
		start := max(0, h.at-width/4)
		seen := map[int]bool{}
		for _, o := range hits {
			if o.at >= start && o.at < start+width {
				seen[o.word] = true
			}
		}
		if len(seen) > bestN || (len(seen) == bestN && start < best) {
			best, bestN = start, len(seen)
		}
	}
	end := min(len(r), best+width)
	out := string(r[best:end])
	if best > 0 {
		out = "…" + out
	}
	if end < len(r) {
		out += "…"
	}
	return out
}
