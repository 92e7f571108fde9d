package chunk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/parse"
)

func newChunker(t testing.TB, enc string) *Chunker {
	t.Helper()
	c, err := New(enc)
	if err != nil {
		t.Fatalf("New(%q): %v", enc, err)
	}
	return c
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Strategy
		errs []string // substrings, one per expected problem; nil means valid
	}{
		{"zero is auto", Strategy{}, nil},
		{"auto ignores numbers", Strategy{Type: Auto, MaxTokens: 5, OverlapTokens: 99}, nil},
		{"static defaults", Strategy{Type: Static, MaxTokens: 800, OverlapTokens: 400}, nil},
		{"static min", Strategy{Type: Static, MaxTokens: 100, OverlapTokens: 50}, nil},
		{"static max", Strategy{Type: Static, MaxTokens: 4096, OverlapTokens: 0}, nil},
		{"unknown type", Strategy{Type: "semantic"}, []string{"expected 'auto' or 'static'"}},
		{"max too small", Strategy{Type: Static, MaxTokens: 99}, []string{"minimum value is 100 and the maximum value is 4096, got 99"}},
		{"max too large", Strategy{Type: Static, MaxTokens: 4097}, []string{"got 4097"}},
		{"max zero", Strategy{Type: Static}, []string{"max_chunk_size_tokens"}},
		{"negative overlap", Strategy{Type: Static, MaxTokens: 200, OverlapTokens: -1}, []string{"must be non-negative, got -1"}},
		{"overlap over half", Strategy{Type: Static, MaxTokens: 200, OverlapTokens: 101}, []string{"must not exceed half of max_chunk_size_tokens (100), got 101"}},
		{"both wrong", Strategy{Type: Static, MaxTokens: 5000, OverlapTokens: 3000}, []string{"got 5000", "(2500), got 3000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			if tc.errs == nil {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", tc.s, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidStrategy) {
				t.Fatalf("Validate(%+v) = %v, want ErrInvalidStrategy", tc.s, err)
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Validate(%+v) = %q, want it to contain %q", tc.s, err, want)
				}
			}
			if got := strings.Count(err.Error(), "chunk: invalid chunking strategy"); got != len(tc.errs) {
				t.Errorf("Validate(%+v) reported %d problems, want %d: %v", tc.s, got, len(tc.errs), err)
			}
			if _, err := newChunker(t, "").Split(context.Background(), docFromText("x"), tc.s); !errors.Is(err, ErrInvalidStrategy) {
				t.Errorf("Split with %+v = %v, want ErrInvalidStrategy", tc.s, err)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want Strategy }{
		{Strategy{}, Strategy{Type: Auto, MaxTokens: 800, OverlapTokens: 400}},
		{Strategy{Type: Auto, MaxTokens: 100}, Strategy{Type: Auto, MaxTokens: 800, OverlapTokens: 400}},
		{Strategy{Type: Static, MaxTokens: 300, OverlapTokens: 10}, Strategy{Type: Static, MaxTokens: 300, OverlapTokens: 10}},
	} {
		if got := tc.in.Normalize(); got != tc.want {
			t.Errorf("Normalize(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestStaticWindows checks static windows against token offsets computed
// independently by tiktoken-go.
func TestStaticWindows(t *testing.T) {
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 60) + "End."
	for _, enc := range []string{CL100K, O200K} {
		ends := refEnds(reference(t, enc), text)
		c := newChunker(t, enc)
		for _, tc := range []struct{ max, overlap int }{{100, 0}, {100, 50}, {128, 17}, {4096, 0}} {
			t.Run(fmt.Sprintf("%s/%d-%d", enc, tc.max, tc.overlap), func(t *testing.T) {
				s := Strategy{Type: Static, MaxTokens: tc.max, OverlapTokens: tc.overlap}
				chunks, err := c.Split(context.Background(), docFromText(text), s)
				if err != nil {
					t.Fatal(err)
				}
				var want []Chunk
				for first := 0; ; first += tc.max - tc.overlap {
					last := min(first+tc.max, len(ends))
					start := 0
					if first > 0 {
						start = int(ends[first-1])
					}
					want = append(want, Chunk{Start: start, End: int(ends[last-1]), Tokens: last - first})
					if last == len(ends) {
						break
					}
				}
				if len(chunks) != len(want) {
					t.Fatalf("got %d chunks, want %d", len(chunks), len(want))
				}
				for i, ch := range chunks {
					if ch.Start != want[i].Start || ch.End != want[i].End || ch.Tokens != want[i].Tokens {
						t.Errorf("chunk %d = [%d,%d) %d tokens, want [%d,%d) %d tokens",
							i, ch.Start, ch.End, ch.Tokens, want[i].Start, want[i].End, want[i].Tokens)
					}
				}
				if err := checkChunks(c, docFromText(text), chunks, tc.max, tc.overlap, true); err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// autoSplit runs the auto strategy with a small budget, which the public
// API does not allow, so that short texts exercise the boundary rules.
func autoSplit(t *testing.T, c *Chunker, doc *parse.Document, maxTok, overlap int) []Chunk {
	t.Helper()
	d, err := c.prepare(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := d.auto(context.Background(), maxTok, overlap)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkChunks(c, doc, chunks, maxTok, overlap, false); err != nil {
		t.Fatal(err)
	}
	return chunks
}

// Each sentence below is 7 cl100k tokens.
const sentence = "The cat sat on the mat. "

func TestAutoBoundaries(t *testing.T) {
	c := newChunker(t, CL100K)
	s := func(n int) string { return strings.Repeat(sentence, n) }
	for _, tc := range []struct {
		name     string
		text     string
		firstEnd string // the first chunk ends just before this text
	}{
		{"heading over later paragraph", s(3) + "\n\n# Heading\n\n" + s(1) + "\n\n" + s(20), "# Heading"},
		{"paragraph over later sentence", s(4) + "\n\nNext paragraph here. " + s(20), "Next paragraph"},
		{"sentence over later line", s(3) + "A short sentence. Then a line\nbreak and more words without an end\nhere and here\nand " + s(20), "Then a line"},
		{"line over token", strings.Repeat("alpha beta gamma delta epsilon zeta\n", 2) + "eta theta iota kappa lambda mu\n" + strings.Repeat("nu xi omicron pi rho sigma tau upsilon phi chi psi omega ", 8), "nu xi"},
		{"no break after a heading", s(3) + "x\n# Heading\n" + s(20), "# Heading"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chunks := autoSplit(t, c, docFromText(tc.text), 40, 10)
			if len(chunks) < 2 {
				t.Fatalf("got %d chunks, want several", len(chunks))
			}
			want := strings.Index(tc.text, tc.firstEnd)
			if chunks[0].End != want {
				t.Errorf("first chunk %q ends at %d, want %d (before %q)", chunks[0].Text, chunks[0].End, want, tc.firstEnd)
			}
		})
	}
	t.Run("token", func(t *testing.T) {
		chunks := autoSplit(t, c, docFromText(strings.Repeat("word", 200)), 40, 10)
		if chunks[0].Tokens != 40 {
			t.Errorf("first chunk of unbroken text has %d tokens, want 40", chunks[0].Tokens)
		}
	})
	t.Run("overlap snaps to a sentence", func(t *testing.T) {
		chunks := autoSplit(t, c, docFromText(s(30)), 40, 14)
		for i, ch := range chunks[1:] {
			if !strings.HasPrefix(ch.Text, "The cat") {
				t.Errorf("chunk %d starts mid-sentence: %q", i+1, ch.Text)
			}
			if ov := chunks[i].End - ch.Start; ov <= 0 {
				t.Errorf("chunk %d does not overlap the previous one", i+1)
			}
		}
	})
}

func TestTableHeaderRepeat(t *testing.T) {
	c := newChunker(t, CL100K)
	var sb strings.Builder
	sb.WriteString("# Inventory\n\nThe table lists stock.\n\n| name | quantity |\n")
	for i := range 40 {
		fmt.Fprintf(&sb, "| item number %d | %d |\n", i, i*7)
	}
	sb.WriteString("\nAfter the table.\n")
	doc := docFromText(sb.String())
	const header = "| name | quantity |"
	chunks := autoSplit(t, c, doc, 60, 15)
	var table parse.Section
	for _, s := range doc.Sections {
		if s.Kind == parse.Table {
			table = s
		}
	}
	repeated := 0
	for i, ch := range chunks {
		inTable := ch.Start > table.Start+len(header) && ch.Start < table.End
		if inTable != (ch.Prefix != "") {
			t.Errorf("chunk %d [%d,%d) in table %v, prefix %q", i, ch.Start, ch.End, inTable, ch.Prefix)
		}
		if ch.Prefix == "" {
			continue
		}
		repeated++
		if ch.Prefix != header+"\n" || !strings.HasPrefix(ch.Text, header+"\n") {
			t.Errorf("chunk %d: prefix %q, text %q", i, ch.Prefix, ch.Text)
		}
		// Rows are kept whole: the span starts and ends at row boundaries.
		if doc.Text[ch.Start-1] != '\n' || ch.End < table.End && doc.Text[ch.End-1] != '\n' {
			t.Errorf("chunk %d cuts a row: %q", i, ch.Text)
		}
	}
	if repeated < 2 {
		t.Errorf("%d chunks repeat the header, want at least 2", repeated)
	}
}

// TestOverlapAfterTable checks that a table or a code block ending inside
// the overlap window does not collapse the overlap: the next chunk used to
// start at the section after it, a token before the previous end.
func TestOverlapAfterTable(t *testing.T) {
	c := newChunker(t, CL100K)
	const maxTok, overlap = 60, 20
	for _, kind := range []string{"table", "code"} {
		for rows := 1; rows <= 24; rows++ {
			var sb strings.Builder
			sb.WriteString(strings.Repeat(sentence, 4) + "\n\n")
			if kind == "table" {
				sb.WriteString("| name | qty |\n")
				for i := range rows {
					fmt.Fprintf(&sb, "| item %d | %d |\n", i, i*7)
				}
			} else {
				// Larger than a chunk, so that it may be cut.
				sb.WriteString("```\n")
				for i := range rows + 20 {
					fmt.Fprintf(&sb, "x%d := f(%d)\n", i, i*7)
				}
				sb.WriteString("```\n")
			}
			for range 6 {
				sb.WriteString("\n" + strings.Repeat(sentence, 2) + "\n")
			}
			doc := docFromText(sb.String())
			var block parse.Section
			for _, s := range doc.Sections {
				if s.Kind == parse.Table || s.Kind == parse.CodeBlock {
					block = s
				}
			}
			chunks := autoSplit(t, c, doc, maxTok, overlap)
			for i := 1; i < len(chunks); i++ {
				prev, ch := chunks[i-1], chunks[i]
				if ov := c.Count(doc.Text[ch.Start:prev.End]); ov < overlap/2 {
					t.Errorf("%s, %d rows: chunk %d [%d,%d) overlaps chunk %d [%d,%d) by %d tokens, want at least %d",
						kind, rows, i, ch.Start, ch.End, i-1, prev.Start, prev.End, ov, overlap/2)
				}
				if ch.Start > block.Start && ch.Start < block.End && doc.Text[ch.Start-1] != '\n' {
					t.Errorf("%s, %d rows: chunk %d starts mid-line in the %s: %q", kind, rows, i, kind, ch.Text)
				}
			}
		}
	}
}

func TestCodeBlockKeptWhole(t *testing.T) {
	c := newChunker(t, CL100K)
	block := "```go\nfunc add(a, b int) int {\n\treturn a + b\n}\n\nfunc sub(a, b int) int {\n\treturn a - b\n}\n```\n"
	text := strings.Repeat(sentence, 8) + "\n\n" + block + strings.Repeat(sentence, 12)
	doc := docFromText(text)
	b := strings.Index(text, "```go")
	e := b + len(block)
	chunks := autoSplit(t, c, doc, 60, 20)
	whole := false
	for i, ch := range chunks {
		if ch.Start <= b && ch.End >= e {
			whole = true
		}
		if ch.End > b && ch.End < e {
			t.Errorf("chunk %d ends inside the code block: %q", i, ch.Text)
		}
	}
	if !whole {
		t.Errorf("no chunk holds the whole code block")
	}

	// A block larger than a chunk is cut, at line boundaries.
	big := "```\n" + strings.Repeat("x := compute(y, z) + offset\n", 40) + "```\n"
	doc = docFromText(big)
	for i, ch := range autoSplit(t, c, doc, 60, 20) {
		if ch.End < len(big) && big[ch.End-1] != '\n' {
			t.Errorf("chunk %d of a large block ends mid-line: %q", i, ch.Text)
		}
	}
}

func TestPagesAndHeadings(t *testing.T) {
	c := newChunker(t, CL100K)
	text := "# Guide\n\n" + strings.Repeat(sentence, 5) + "\n\f\n## Install\n\n" + strings.Repeat(sentence, 5) + "\n\f\n" + strings.Repeat(sentence, 5)
	doc := docFromText(text)
	chunks := autoSplit(t, c, doc, 30, 5)
	first, last := chunks[0], chunks[len(chunks)-1]
	if first.PageStart != 1 || first.PageEnd != 1 || fmt.Sprint(first.Headings) != "[Guide]" {
		t.Errorf("first chunk pages %d-%d headings %q, want 1-1 [Guide]", first.PageStart, first.PageEnd, first.Headings)
	}
	if last.PageEnd != 3 || fmt.Sprint(last.Headings) != "[Guide Install]" {
		t.Errorf("last chunk pages %d-%d headings %q, want ...-3 [Guide Install]", last.PageStart, last.PageEnd, last.Headings)
	}
	// One chunk for the whole document spans every page.
	all, err := c.Split(context.Background(), doc, Strategy{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("Split = %d chunks, want 1", len(all))
	}
	if all[0].PageStart != 1 || all[0].PageEnd != 3 {
		t.Errorf("Split = pages %d-%d, want pages 1-3", all[0].PageStart, all[0].PageEnd)
	}
	// A document without pages has page 0.
	plain := &parse.Document{Text: "no pages here"}
	got, err := c.Split(context.Background(), plain, Strategy{})
	if err != nil || len(got) != 1 || got[0].PageStart != 0 || got[0].PageEnd != 0 || got[0].Headings != nil {
		t.Errorf("Split(plain) = %+v, %v; want one chunk without pages or headings", got, err)
	}
}

func TestSplitLargeDocument(t *testing.T) {
	var sb strings.Builder
	for i := range 60 {
		fmt.Fprintf(&sb, "# Section %d\n\n", i)
		for j := range 6 {
			fmt.Fprintf(&sb, "Paragraph %d of section %d explains one idea. It has several sentences! Does it? Yes, it does.\n\n", j, i)
		}
		if i%7 == 0 {
			sb.WriteString("```\nfor i := 0; i < n; i++ {\n\tsum += i\n}\n```\n")
		}
		if i%11 == 0 {
			sb.WriteString("| k | v |\n| a | 1 |\n| b | 2 |\n\n")
		}
	}
	doc := docFromText(sb.String())
	for _, enc := range []string{CL100K, O200K} {
		c := newChunker(t, enc)
		for _, s := range []Strategy{{}, {Type: Static, MaxTokens: 300, OverlapTokens: 100}} {
			chunks, err := c.Split(context.Background(), doc, s)
			if err != nil {
				t.Fatal(err)
			}
			n := s.Normalize()
			if err := checkChunks(c, doc, chunks, n.MaxTokens, n.OverlapTokens, s.Type == Static); err != nil {
				t.Errorf("%s %+v: %v", enc, s, err)
			}
			if len(chunks) < 3 {
				t.Errorf("%s %+v: %d chunks, want several", enc, s, len(chunks))
			}
		}
	}
}

func TestSplitCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newChunker(t, "").Split(ctx, docFromText(strings.Repeat(sentence, 500)), Strategy{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Split(cancelled) = %v, want context.Canceled", err)
	}
}

// TestPathological checks that inputs that are one enormous pre-token
// finish: a quadratic merge takes minutes on them. The deadline is loose on
// purpose (a shared machine is noisy); BenchmarkPathological measures.
func TestPathological(t *testing.T) {
	c := newChunker(t, CL100K)
	for name, text := range pathological() {
		if raceEnabled {
			text = text[:alignBack(text, 1<<16)] // the race detector is ~10x slower
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			doc := &parse.Document{Text: text}
			chunks, err := c.Split(ctx, doc, Strategy{})
			if err != nil {
				t.Fatalf("Split(%s): %v", name, err)
			}
			prev := 0
			for i, ch := range chunks {
				if ch.Tokens > DefaultMaxTokens || ch.Start > prev || ch.End <= prev {
					t.Fatalf("chunk %d: [%d,%d) %d tokens after end %d", i, ch.Start, ch.End, ch.Tokens, prev)
				}
				prev = ch.End
			}
			if prev != len(text) {
				t.Fatalf("chunks end at %d, want %d", prev, len(text))
			}
		})
	}
}
