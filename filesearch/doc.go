// Package filesearch is the file_search tool for a language model's tool
// loop: the function definition to hand the model, its execution against
// quarry vector stores, the text the model reads, and the parser that turns
// the model's citation markers back into citations.
//
// # Basics
//
// One Tool serves one conversation: it numbers every source it shows the
// model with a short handle ([1], [2], ...) that stays the same across
// rounds, so the final answer can cite any of them.
//
//	t, err := filesearch.New(db, filesearch.Config{VectorStoreIDs: []string{vsID}})
//	tools := []any{filesearch.Definition()} // chat-completions "tools" entry
//	// ... the model calls the tool with arguments `{"queries": ["..."]}`
//	res, err := t.Call(ctx, arguments) // err: the search failed, or bad arguments (*ArgumentsError)
//	// send res.Text back as the tool message; when the model answers:
//	ans := t.Cite(answer)
//	// ans.Text has the markers removed; ans.Citations point into it.
//
// The model chooses the queries, never the vector stores: a Tool searches
// exactly the stores its Config names. Each query runs against each store
// in parallel; the rankings are fused (reciprocal rank), duplicate chunks
// collapse to one, and Config.MaxResults caps the results of a call over
// all queries and stores.
//
// # Errors
//
// A failed search is an error (never "no results"); malformed arguments
// from the model are an *ArgumentsError, whose message is meant for the
// model so that it can retry. An answer without a marker that names a
// shown source yields Answer.Fallback and no citations: citations are never
// invented.
//
// # Concurrency
//
// A Tool is safe for concurrent use.
package filesearch
