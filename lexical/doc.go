// Package lexical is quarry's BM25 index: one bleve (scorch) index per
// directory, scored with exact collection statistics.
//
// # Basics
//
// Open a directory (created when missing or empty), or OpenMem for an index
// in memory, then Apply batches of documents and Search them:
//
//	ix, err := lexical.Open(dir, lexical.Options{}) // k1 1.2, b 0.75
//	err = ix.Apply(ctx, seq, []lexical.Doc{{ID: 7, Text: "...", Title: "..."}}, nil)
//	hits, err := ix.Search(ctx, "query words", 10, &f)
//
// Every Apply is one atomic bleve batch that also records the caller's
// sequence number (Seq) and the collection statistics, so the index is a
// derived view that a source of truth can bring up to date by replaying what
// came after Seq. Apply replaces documents whose ID is already indexed.
//
// # Analysis
//
// Text, title, filename and heading path are four fields analyzed alike:
// Unicode word segmentation, width folding, English possessives, lower case,
// Lucene's 33 English stop words, bigrams over CJK runs (so Chinese and
// Japanese text is searchable without a dictionary) and Porter stemming.
// Queries go through the same analyzer; Terms shows the result.
//
// # Scoring
//
// Search computes BM25 itself from bleve's postings (term frequency and the
// exact field length scorch stores with every posting), with N, df and the
// average field length kept exact per field: the statistics are updated by
// every Apply, stored inside the same batch, and read from the same snapshot
// as the postings. bleve's own BM25 is not used: in v2.5.7 it takes the
// number of distinct terms divided by the number of documents as the average
// field length, and its in-memory index ignores the BM25 setting. Field
// scores add up, weighted by Options' boosts. Lucene's BM25 differs only by
// the constant factor k1+1 and by rounding document lengths to one byte, so
// rankings agree except for near ties.
//
// Ranking is exact but pruned (MaxScore, term at a time): the (term, field)
// pairs are read by decreasing upper bound of their contribution; once the
// bounds of the pairs left sum below the k-th best partial score, no new
// document can make the top k, so the remaining pairs skip through their
// postings to the documents still in contention, which are dropped as soon
// as they can no longer reach the top k. Long queries with common terms,
// such as feedback expansions, thus read a fraction of their postings.
//
// # Filters
//
// Attributes are indexed per key in one field per value type (strings as
// keywords, numbers as numeric terms, booleans), plus a presence field. A
// filter.Filter is translated into a bleve query with filter.Match's exact
// semantics, evaluated on the same snapshot before ranking.
//
// # Concurrency
//
// An Index is safe for concurrent use. Searches see a consistent snapshot;
// Apply calls are serialized. Close waits for calls in progress.
//
// # Caveats
//
// Apply returns when the batch is searchable; scorch writes it to disk in the
// background and Close waits for that, so after a crash Seq may be lower than
// the last Apply: replay from Seq. Document IDs are stored as decimal strings
// in bleve. The package is the only importer of bleve; its errors are
// translated to ErrClosed, ErrCorrupt or plain errors.
package lexical
