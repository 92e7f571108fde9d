// Package chunk splits parsed documents into token-bounded chunks, the way
// OpenAI's vector stores do, with exact tiktoken counts.
//
// # Basics
//
//	c, err := chunk.New(chunk.CL100K) // or chunk.O200K; "" means CL100K
//	chunks, err := c.Split(ctx, doc, chunk.Strategy{}) // the zero Strategy is auto
//
// A *Chunker is safe for concurrent use. New loads the encoding's BPE rank
// table from the files compiled into the binary (pkoukk/tiktoken-go-loader)
// once per process, on first use; nothing is fetched from the network and
// nothing happens at import time.
//
// # Token counts
//
// Count and every Chunk.Tokens equal the length of OpenAI tiktoken's
// encode_ordinary for the encoding. The package has its own encoder: a
// hand-written, linear-time equivalent of tiktoken's pre-tokenizing regular
// expression, then tiktoken's byte-pair merge over the rank table. Pieces
// of up to 64 bytes use tiktoken's own merge loop; longer pieces use a
// priority queue that performs the same merges in the same order in
// O(n log n) instead of O(n²), so a megabyte of one repeated letter takes
// about a second, not minutes. Tests compare every token boundary with
// pkoukk/tiktoken-go and pin counts published for tiktoken
// (testdata/counts.txt). Invalid UTF-8 bytes, which a parsed Document never
// holds, are encoded as single raw bytes.
//
// # Strategies
//
// Static is OpenAI's static strategy: max_chunk_size_tokens in [100, 4096],
// chunk_overlap_tokens in [0, max/2]. The document is tokenized once; chunk
// k holds tokens [k*step, k*step+max) with step = max-overlap, and the last
// chunk ends with the document. A window edge that falls inside a
// multi-byte character moves back to the character's start, so every chunk
// is valid UTF-8.
//
// Auto (the default) uses OpenAI's auto budget, 800 tokens with 400 of
// overlap, but chooses where to cut:
//
//   - A chunk ends at the best break in the second half of its window,
//     the latest one among equals. Breaks, best first: the start of a
//     heading section; a paragraph (after a blank line, or the start of any
//     other section); a sentence (after . ! ? and spaces, or after 。！？,
//     outside tables and code); a line; a token boundary.
//   - Never right after a heading: the heading stays with its body.
//   - A code block that fits in a chunk is never cut: when it does not fit
//     in the rest of the window the chunk ends before it, and the next
//     chunk's overlap shrinks so that the block fits whole. A larger block
//     is cut at blank lines or lines. Table rows are kept whole the same
//     way: when the second half of the window holds no line break, the
//     chunk ends at the last line-or-better break before it.
//   - The next chunk starts about OverlapTokens document tokens before the
//     previous end, moved forward to the first of the best line-or-better
//     breaks within OverlapTokens/2 tokens (in a table or code block, to
//     the next line break if need be). The overlap is never more than
//     OverlapTokens document tokens (+1 for a token cut by a character
//     boundary), and every chunk adds text after the previous one.
//
// # Tables split across chunks
//
// A chunk that starts inside a Table section after its first line repeats
// the section's Header row: Chunk.Prefix is Header + "\n" and Chunk.Text is
// Prefix + Document.Text[Start:End]. Start, End, CharStart and CharEnd
// always describe the document span only; Tokens counts the whole Text,
// prefix included, and stays within the budget. The header is not repeated
// when it would take more than a quarter of the budget. Static never adds a
// prefix. In every chunk, Text == Prefix + Document.Text[Start:End].
//
// # Ranges, pages and headings
//
// Start/End are byte offsets and CharStart/CharEnd code point offsets into
// Document.Text. PageStart..PageEnd are the smallest and largest non-zero
// Page of the sections the span overlaps (0 when the document has no
// pages). Headings is the heading path of the first section the span
// overlaps that has one (a copy).
//
// # Caveats
//
// No chunk exceeds the budget: each chunk's text is re-tokenized on its own
// and the chunk shrinks if its count came out above the maximum (cutting
// text can change how it tokenizes). Where to cut is decided on the
// document's token boundaries. For a pre-token piece longer than 4096
// bytes (only degenerate text: one character repeated, base64 without line
// breaks, text without spaces), those boundaries come from merging
// 1024-byte segments, so static windows there can be a few tokens off
// OpenAI's; the chunks' own Tokens remain exact.
//
// Auto chunks English prose and source code at about 8-10 MB/s of CPU
// time per core and Japanese text at about 5-6 MB/s (BenchmarkSplit, which
// reports cpu-MB/s); a megabyte of degenerate text takes 0.2 to 1.3 seconds
// of CPU (BenchmarkPathological).
package chunk
