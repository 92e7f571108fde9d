// Package rerank fuses ranked lists and reorders search candidates.
//
// # Basics
//
// A hybrid search runs a dense (vector) and a lexical (BM25) retriever per
// query and merges their ranked lists with Fuse:
//
//	fused := rerank.Fuse(rerank.RRF, []rerank.List{
//		{Items: dense, Weight: 0.7},
//		{Items: bm25, Weight: 0.3},
//	}, 0)
//
// RRF (weighted reciprocal rank fusion, k = 60 by default) uses ranks only;
// NormalizedScore min-max normalizes each list's scores and averages them.
// Both return scores in 0..1, best first, ties broken by ascending ID.
//
// A Reranker then re-scores the top fused candidates:
//
//   - Local needs no network or model. Its score is the weighted mean of
//     features in 0..1: the first-stage score; query-term coverage (query
//     lower-cased, stop words removed, Porter-stemmed; each term weighted by
//     its rarity among the candidates, a BM25-style idf over the candidate
//     set); proximity (coverage × matched terms / smallest window holding
//     them); phrase (adjacent query terms found in order, a little slop
//     allowed); query terms in headings and filename; and, through
//     RerankWithVector, the cosine between the query vector and the chunk's
//     full-precision vector. Every weight is a LocalOptions field. Optional
//     MMR (MMRLambda) trades relevance for diversity. The scan rejects most
//     tokens by their first two bytes without copying them, allocates little
//     (scratch memory is pooled) and never uses regular expressions.
//   - HTTP calls a cross-encoder service: Cohere and Jina style
//     (POST /v1/rerank) or Hugging Face TEI (POST /rerank). It batches over
//     MaxDocuments, retries connection errors, 408, 409, 429 and 5xx honouring
//     Retry-After-Ms and Retry-After, pairs results by index and validates them,
//     and maps scores to 0..1 (a sigmoid when the service returns logits).
//
// # Caveats
//
// Rerankers return a new slice and never modify their input; the Score of
// each returned Candidate is the reranker's, not the first-stage score.
// Local's scores depend on the whole candidate set (term rarity is measured
// across it), so they compare candidates of one call, not of two calls.
// Local's lexical features are English-centric: other languages get exact
// lower-case word matching (no stemming, no stop words). An HTTP reranker
// either returns every candidate re-scored or an error (*StatusError, an
// error wrapping ErrBadResponse, or the context's error), never a partial
// result; callers that prefer degraded results fall back to the fused order.
package rerank
