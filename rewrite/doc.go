// Package rewrite turns a user's query into the queries a search should run.
//
// # Basics
//
// A Rewriter returns one to MaxQueries (5) queries, never an empty list with
// a nil error. Two implementations:
//
//   - Local needs no network. It strips conversational filler ("can you tell
//     me about", "I'd like to know", "what do you know about", "please",
//     "thanks", a trailing "?" ...), splits compound questions ("X? Y?",
//     "X; Y", "X and also Y", "X and how Y") into sub-queries after the whole
//     stripped query, and corrects misspelled words against a Vocabulary
//     (edit distance 1 for words of 4-7 letters, 2 from 8; the most frequent
//     closest term wins; only words absent from the vocabulary, never
//     acronyms, numbers or words under 4 letters). The vocabulary may hold
//     surface words or Porter stems (a stemmed BM25 dictionary): a word is
//     known when it or its stem is present, and a stem candidate gets the
//     word's suffix back ("retreival" → "retriev" + "al"). It is
//     deterministic.
//   - LLM asks any OpenAI-compatible chat-completions endpoint for
//     {"queries": [...]} (response_format json_object) and parses the answer
//     leniently (code fences, surrounding prose, a bare array). On any
//     failure it returns the original query and reports why to
//     LLMOptions.OnError: rewriting never fails a search.
//
// # Caveats
//
// Local's filler lists and stop words are English. Spelling correction only
// looks at vocabulary terms sharing the word's first letter (Terms(prefix)),
// so a typo in the first letter is not corrected. Both rewriters return
// ErrEmptyQuery for a blank query; callers run nothing for it.
package rewrite
