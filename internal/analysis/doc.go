// Package analysis is the one text analyzer of the engine: the lexical
// index, the local reranker, the local query rewriter and the local
// embedder all see text through it, so a word matches in one stage exactly
// when it matches in the others.
//
// # The pipeline
//
//   - Unicode normalization: NFKC (full-width and compatibility forms fold
//     to their plain letters and digits).
//   - Lower-casing and accent folding for Latin letters: "Crème Brûlée"
//     and "creme brulee" are the same words. Only letters of the Latin
//     script are folded; Greek, Cyrillic and other scripts keep their
//     marks, since for them the marks distinguish words.
//   - Word segmentation: runs of letters and digits (Unicode word
//     segmentation, UAX #29, in the lexical index); runs of CJK characters
//     (Han, Hiragana, Katakana, Hangul) are cut into overlapping bigrams
//     (東京都 → 東京, 京都), a lone CJK character is its own token.
//   - One stop-word policy: Lucene's English stop set ([IsStopWord]).
//   - Porter stemming of English words ([Stem]); other tokens are left
//     unchanged.
//
// # Use
//
// [NewAnalyzer] is the full pipeline as a bleve analyzer (the lexical
// index); [Terms] runs it on a string. [Scanner] is an allocation-free
// tokenizer with the same normalization and CJK segmentation, for the hot
// loops of the reranker; [FoldRune] and [IsCJK] serve per-rune consumers
// such as the hashing embedder.
//
// Everything here is safe for concurrent use; nothing is computed at
// import time.
package analysis
