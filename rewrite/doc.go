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
//     stripped query, cuts request frames by grammar (a pronoun or an -ing
//     verb opening a clause, then a topic preposition: "I am hoping to
//     locate material regarding X", "Trying to get up to speed with X"),
//     drops clauses and sentences that talk to the reader rather than name
//     the topic ("Good morning, …", "…, any ideas?", "… Where do I
//     start?"), judging the topic by the searched collection (see below),
//     and corrects misspelled words against a Vocabulary
//     (edit distance 1 for words of 4-7 letters, 2 from 8; the most frequent
//     closest term wins; only words absent from the vocabulary, never
//     acronyms, numbers or words under 4 letters). The vocabulary may hold
//     surface words or Porter stems (a stemmed BM25 dictionary): a word is
//     known when it or its stem is present, and a stem candidate gets the
//     word's suffix back ("retreival" → "retriev" + "al"), and a
//     correction is shown as a word within the edit bound of what was
//     typed. It is deterministic.
//
// # Collection statistics
//
// Local reads the searched collection through its Vocabulary: a word's
// document frequency, and its inverse document frequency when the
// Vocabulary is a SizedVocabulary (store's BM25 dictionary is). Closed-class
// words (pronouns, prepositions, auxiliaries, question words) carry no
// information; an open-class word carries its idf, or nothing when no chunk
// holds it. A short clause beside a longer topic, whose best word tells less
// than the topic's, is talk ("Dear assistant", "recommendations welcome"),
// so a word common in the collection's documents keeps its clause. After
// correction, words no chunk holds are left out of the query (they match
// nothing and only blur its vector), unless nothing known would be left.
// Frames are cut by grammar, not by comparing the frame's idf with the
// topic's: in a collection gathered around its queries (msmarco-5k) the
// topic's words are commoner than the frame's. Only a frame ending in "on",
// "for" or "with", which also join a topic's parts, must leave as many
// open-class words as it takes or the most informative one.
//   - LLM asks any OpenAI-compatible chat-completions endpoint for
//     {"queries": [...]} (response_format json_object) and parses the answer
//     leniently (code fences, surrounding prose, a bare array). On any
//     failure it returns the original query and reports why to
//     LLMOptions.OnError: rewriting never fails a search.
//
// # Caveats
//
// Local's filler lists and stop words are English, and so is the grammar of
// its frames and closed word classes. Held-back phrasings that are neither
// (imperatives without a pronoun, "Pull everything relevant to X"; "Do you
// happen to know where X is discussed") keep their frame words; the bench
// package measures how much that costs. Spelling correction only
// looks at vocabulary terms sharing the word's first letter (Terms(prefix)),
// so a typo in the first letter is not corrected. Both rewriters return
// ErrEmptyQuery for a blank query; callers run nothing for it.
package rewrite
