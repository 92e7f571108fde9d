package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/filter"
	"github.com/quarrylabs/quarry/folder"
	"github.com/quarrylabs/quarry/rerank"
	"github.com/quarrylabs/quarry/store"
)

func init() {
	register(&command{
		name:    "search",
		args:    "[flags] QUERY...",
		summary: "search the indexed files (with --dir, index a folder first)",
		long: `Prints the matching files best first, each with its best passages: the
citation (pages, heading path) and the sentence that best answers the query.
Exits 1 when nothing matches, like grep.`,
		examples: []string{
			`quarry search "how often should API keys be rotated?"`,
			`quarry search --dir examples/handbook "incident severity levels"`,
			`quarry search --filter '{"type":"eq","key":"team","value":"infra"}' -n 5 deploy rollback`,
			`quarry search --json "query" | jq '.data[0].filename'`,
		},
		setup: setupSearch,
	})
}

func setupSearch(fs *flagSet) runFunc {
	var sf storeFlags
	sf.register(fs, true)
	sf.registerEmbedder(fs)
	dir := fs.String("dir", "", "index `DIR` (what changed) before searching")
	asJSON := fs.Bool("json", false, "print the API's JSON response")
	maxResults := fs.Int("max-results", 10, "at most `N` results, 1..50")
	fs.alias("n", "max-results")
	filterJSON := fs.String("filter", "", "attribute filter in the API's JSON `GRAMMAR`, e.g. '{\"type\":\"eq\",\"key\":\"lang\",\"value\":\"en\"}'")
	ranker := fs.String("ranker", store.RankerAuto, "reranker `NAME`: auto, default-2024-11-15 or none")
	threshold := fs.Float64("score-threshold", 0, "drop results scoring below `S` (0..1)")
	rewrite := fs.Bool("rewrite", false, "rewrite the query before searching")
	textWeight := fs.Float64("text-weight", -1, "`WEIGHT` of the keyword (BM25) ranking in fusion (default: the store's, 1)")
	embWeight := fs.Float64("embedding-weight", -1, "`WEIGHT` of the vector ranking in fusion (default: the store's; 0.1 with the local embedder, else 1)")
	fusion := fs.String("fusion", "", "rank fusion `METHOD`: normalized (default) or rrf")
	return func(ctx context.Context, e *env, words []string) error {
		self := lookup(commands, "search")
		if len(words) == 0 {
			return usagef(self, "give a query")
		}
		req := store.SearchRequest{
			Query:        []string{strings.Join(words, " ")},
			RewriteQuery: *rewrite,
			MaxResults:   *maxResults,
			Ranking: store.RankingOptions{
				Ranker: *ranker, ScoreThreshold: *threshold, Fusion: rerank.Fusion(*fusion),
			},
		}
		var err error
		if *filterJSON != "" {
			if req.Filter, err = filter.Parse([]byte(*filterJSON)); err != nil {
				return usagef(self, "--filter: %v", err)
			}
		}
		if err := req.Validate(); err != nil {
			return usagef(self, "%v", err)
		}
		db, err := sf.open(ctx, cliLogger(e.stderr), *dir != "")
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
			if err := req.Validate(); err != nil {
				return usagef(self, "%v", err)
			}
		}
		if *dir != "" {
			vs, err := sf.vectorStore(ctx, db, true)
			if err != nil {
				return err
			}
			rep, err := folder.Sync(ctx, vs, []string{*dir}, folder.Options{})
			if err != nil {
				return err
			}
			for _, f := range rep.Failures {
				fmt.Fprintf(e.stderr, "failed %s: %s: %s\n", rel(f.Path), f.Code, f.Message)
			}
		}
		var ids []string
		for _, name := range sf.names() {
			vs, err := vectorStoreNamed(ctx, db, name, false)
			if err != nil {
				return err
			}
			ids = append(ids, vs.ID())
		}
		res, err := db.Search(ctx, ids, req)
		if err != nil {
			return err
		}
		if *asJSON {
			enc := json.NewEncoder(e.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				return err
			}
		} else {
			printResults(e.stdout, res, req.Query[0], e.color)
		}
		if len(res.Data) == 0 {
			if !*asJSON {
				fmt.Fprintln(e.stderr, "no results")
			}
			return errNoResults
		}
		return nil
	}
}

// ANSI styles, as ripgrep uses them: paths magenta, matches bold red.
const (
	ansiPath  = "\033[35m"
	ansiMatch = "\033[1;31m"
	ansiCite  = "\033[32m"
	ansiDim   = "\033[2m"
	ansiReset = "\033[0m"
)

// fileHits is one file of the results with its chunks, best first.
type fileHits struct {
	name   string
	score  float64
	chunks []store.ChunkResult
}

// groupResults merges results by file (a file may come back as several
// results), keeping the search's order: a file stands where its best
// result does, its chunks in result order. (The order is the fusion's;
// scores are absolute and need not fall in it: see store.SearchResult.)
func groupResults(res *store.SearchResults) []fileHits {
	var out []fileHits
	at := map[string]int{}
	for _, r := range res.Data {
		i, ok := at[r.FileID]
		if !ok {
			i = len(out)
			at[r.FileID] = i
			out = append(out, fileHits{name: r.Filename})
		}
		out[i].score = max(out[i].score, r.Score)
		out[i].chunks = append(out[i].chunks, r.Content...)
	}
	return out
}

// maxChunksShown is how many passages a file shows.
const maxChunksShown = 3

func printResults(w io.Writer, res *store.SearchResults, query string, color bool) {
	style := func(code, s string) string {
		if !color || s == "" {
			return s
		}
		return code + s + ansiReset
	}
	if len(res.SearchQuery) > 1 || (len(res.SearchQuery) == 1 && res.SearchQuery[0] != query) {
		fmt.Fprintf(w, "%s\n\n", style(ansiDim, "searched for: "+strings.Join(res.SearchQuery, " | ")))
	}
	stems := queryStems(query)
	for n, f := range groupResults(res) {
		if n > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%d. %s  %s\n", n+1, style(ansiPath, rel(f.name)), style(ansiDim, fmt.Sprintf("%.3f", f.score)))
		for i, c := range f.chunks {
			if i == maxChunksShown {
				fmt.Fprintf(w, "   %s\n", style(ansiDim, fmt.Sprintf("… %d more passages", len(f.chunks)-i)))
				break
			}
			title := ""
			if len(c.Headings) > 0 {
				title = c.Headings[0]
			}
			s := bestSentence(c.Text, title, stems, 200)
			if color {
				s = highlight(s, stems)
			}
			fmt.Fprintf(w, "   %s %s\n", style(ansiCite, citation(c)), s)
		}
	}
}

// citation renders a chunk's position on one line: pages, heading path
// and, when neither exists, the chunk number.
func citation(c store.ChunkResult) string {
	var parts []string
	switch {
	case c.PageStart > 0 && c.PageEnd > c.PageStart:
		parts = append(parts, fmt.Sprintf("pp. %d-%d", c.PageStart, c.PageEnd))
	case c.PageStart > 0:
		parts = append(parts, fmt.Sprintf("p. %d", c.PageStart))
	}
	if len(c.Headings) > 0 {
		parts = append(parts, "§ "+strings.Join(c.Headings, " › "))
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("chunk %d", c.Index))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// queryStems are the query's words of three letters or more, lower case,
// without a plural or past-tense ending and cut to five letters, so that
// "rotated" finds "Rotate" and "keys" finds "key".
func queryStems(query string) []string {
	var stems []string
	for _, w := range strings.FieldsFunc(strings.ToLower(query), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }) {
		if stopword[w] || utf8.RuneCountInString(w) < 3 {
			continue
		}
		st := stem(w)
		if !slices.Contains(stems, st) {
			stems = append(stems, st)
		}
	}
	return stems
}

func stem(w string) string {
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if t, ok := strings.CutSuffix(w, suf); ok && utf8.RuneCountInString(t) >= 3 {
			w = t
			break
		}
	}
	if r := []rune(w); len(r) > 5 {
		w = string(r[:5])
	}
	return w
}

var stopword = map[string]bool{"the": true, "and": true, "for": true, "are": true, "how": true, "what": true, "why": true, "does": true, "with": true, "that": true, "this": true, "from": true, "should": true, "which": true, "when": true, "where": true, "who": true, "can": true, "not": true, "you": true, "was": true, "were": true, "has": true, "have": true}

// sentences splits text into sentences: after ".", "!" or "?" followed by
// a space or a line end, at blank lines, and at the ends of lines that are
// headings or that a heading or list item follows. Other line ends are
// wrapped text, not breaks.
func sentences(text string) []string {
	var out []string
	start := 0
	lineStart := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		end := -1
		switch {
		case (c == '.' || c == '!' || c == '?') && i+1 < len(text) && (text[i+1] == ' ' || text[i+1] == '\n'):
			end = i + 1
		case c == '\n':
			next := text[i+1:]
			if strings.HasPrefix(text[lineStart:i], "#") || blockStart(next) {
				end = i
			}
			lineStart = i + 1
		}
		if end >= 0 {
			if s := strings.TrimSpace(text[start:end]); s != "" {
				out = append(out, s)
			}
			start = end
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// blockStart reports whether a line starting s begins a new block: blank,
// a heading, a list item or a table row.
func blockStart(s string) bool {
	t := strings.TrimLeft(s, " \t")
	if t == "" || t[0] == '\n' || t[0] == '\r' || t[0] == '#' || t[0] == '|' {
		return true
	}
	if len(t) > 1 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ' {
		return true
	}
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	return i > 0 && i+1 < len(t) && (t[i] == '.' || t[i] == ')') && t[i+1] == ' '
}

// bestSentence returns the sentence of text that best matches the query
// stems. A sentence scores the weights of the distinct stems it holds, and
// half the weights of those only its Markdown heading holds; a stem weighs
// more the fewer sentences hold it, and half as much when it is in title
// (the document's top heading: it tells the file, not the passage).
// Heading lines themselves score a quarter. Ties go to the most hits, then
// the earliest. The sentence is whitespace collapsed and cut to about width
// characters around its matches.
func bestSentence(text, title string, stems []string, width int) string {
	sents := sentences(text)
	lower := make([]string, len(sents))
	heading := make([]string, len(sents))
	df := make([]int, len(stems))
	cur := ""
	for i, s := range sents {
		lower[i] = strings.ToLower(s)
		if strings.HasPrefix(s, "#") {
			cur = lower[i]
		}
		heading[i] = cur
		for j, st := range stems {
			if strings.Contains(lower[i], st) {
				df[j]++
			}
		}
	}
	weight := make([]float64, len(stems))
	lt := strings.ToLower(title)
	for j, st := range stems {
		weight[j] = math.Log(1 + float64(len(sents))/float64(max(df[j], 1)))
		if lt != "" && strings.Contains(lt, st) {
			weight[j] /= 2
		}
	}
	best, bestScore, bestHits := "", -1.0, -1
	for i, s := range sents {
		score, hits := 0.0, 0
		for j, st := range stems {
			if n := strings.Count(lower[i], st); n > 0 {
				score += weight[j]
				hits += n
			} else if strings.Contains(heading[i], st) {
				score += weight[j] / 2
			}
		}
		if strings.HasPrefix(s, "#") {
			score /= 4
		}
		if score > bestScore || (score == bestScore && hits > bestHits) {
			best, bestScore, bestHits = s, score, hits
		}
	}
	return window(best, stems, width)
}

// window returns about width characters of text, whitespace collapsed,
// from the window holding the most distinct stems, cut at word boundaries.
func window(text string, stems []string, width int) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) <= width {
		return text
	}
	ls := strings.ToLower(text) // rune for rune, so positions match r's
	type hit struct{ at, word int }
	var hits []hit
	for wi, st := range stems {
		runes := 0
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
	// Move the cut to a word boundary.
	for best > 0 && best < len(r) && r[best-1] != ' ' {
		best--
	}
	end := min(len(r), best+width)
	for end < len(r) && end > best && r[end] != ' ' {
		end--
	}
	out := strings.TrimSpace(string(r[best:end]))
	if best > 0 {
		out = "…" + out
	}
	if end < len(r) {
		out += "…"
	}
	return out
}

// highlight marks the words of s that start with a stem.
func highlight(s string, stems []string) string {
	var b strings.Builder
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) {
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		j := i
		for j < len(s) {
			r2, sz := utf8.DecodeRuneInString(s[j:])
			if !unicode.IsLetter(r2) && !unicode.IsNumber(r2) {
				break
			}
			j += sz
		}
		word := s[i:j]
		lw := strings.ToLower(word)
		match := false
		for _, st := range stems {
			if strings.HasPrefix(lw, st) {
				match = true
				break
			}
		}
		if match {
			b.WriteString(ansiMatch + word + ansiReset)
		} else {
			b.WriteString(word)
		}
		i = j
	}
	return b.String()
}
