// Package server is quarry's OpenAI-compatible REST API over package store:
// the vector-store, file and search endpoints of OpenAI's API, served from a
// local store.DB. It is thin: requests become store calls, store types
// become JSON.
//
// # Basics
//
//	db, err := store.Open(ctx, "./kb", store.Options{})
//	defer db.Close()
//	http.ListenAndServe("127.0.0.1:8080", server.New(db, server.Options{APIKey: key}))
//
// OpenAI clients work with base URL http://127.0.0.1:8080/v1. With
// Options.APIKey set, every request but GET /healthz needs
// "Authorization: Bearer KEY". Without one, the server defends itself
// against the web pages its user visits: it answers only requests whose
// Host is a loopback name or address (or one of Options.AllowedHosts),
// refuses cross-site browser requests, and takes no simple-request writes
// (text/plain or form bodies); with Options.LocalPeersOnly, which quarry
// serve sets on a non-loopback address without a key, it also answers only
// peers on this machine (403 forbidden_peer to others).
//
// # Endpoints
//
//	POST   /v1/files                                   upload (multipart: file, purpose=assistants|user_data,
//	                                                   expires_after[anchor]=created_at, expires_after[seconds]=3600..2592000)
//	GET    /v1/files                                   list uploads (limit, order, after, before, purpose)
//	GET    /v1/files/{file_id}                         retrieve an upload
//	DELETE /v1/files/{file_id}                         delete it, and its copy in every vector store
//	GET    /v1/files/{file_id}/content                 the uploaded bytes
//	POST   /v1/vector_stores                           create {name, metadata, expires_after, file_ids, chunking_strategy}
//	GET    /v1/vector_stores                           list (limit, order, after, before)
//	GET    /v1/vector_stores/{vs_id}                   retrieve
//	POST   /v1/vector_stores/{vs_id}                   modify {name, metadata, expires_after (null removes it)}
//	DELETE /v1/vector_stores/{vs_id}                   delete
//	POST   /v1/vector_stores/{vs_id}/files             attach an upload {file_id, attributes, chunking_strategy},
//	                                                   or (quarry) upload directly as multipart: file, attributes, chunking_strategy
//	GET    /v1/vector_stores/{vs_id}/files             list (limit, order, after, before, filter=status)
//	GET    /v1/vector_stores/{vs_id}/files/{file_id}   retrieve (status, last_error, attributes, ...)
//	POST   /v1/vector_stores/{vs_id}/files/{file_id}   update {attributes}
//	DELETE /v1/vector_stores/{vs_id}/files/{file_id}   remove from the vector store (the upload stays)
//	GET    /v1/vector_stores/{vs_id}/files/{file_id}/content  parsed text, one page
//	POST   /v1/vector_stores/{vs_id}/file_batches      {file_ids, attributes?, chunking_strategy?} or {files: [{file_id, attributes?, chunking_strategy?}]}
//	GET    /v1/vector_stores/{vs_id}/file_batches/{batch_id}
//	POST   /v1/vector_stores/{vs_id}/file_batches/{batch_id}/cancel
//	GET    /v1/vector_stores/{vs_id}/file_batches/{batch_id}/files  (limit, order, after, before, filter)
//	POST   /v1/vector_stores/{vs_id}/search            {query, rewrite_query, max_num_results, filters, ranking_options}
//	POST   /v1/responses                               the Responses API with the file_search tool, over Options.LLM
//	GET    /v1/responses/{response_id}                 a saved response
//	DELETE /v1/responses/{response_id}                 delete it
//	POST   /mcp                                        MCP over streamable HTTP (tools search and fetch; stores and files as resources)
//	GET    /healthz
//	GET    /metrics                                    Prometheus metrics (behind the API key)
//	GET    /backup                                     a consistent backup of the DB, streamed (store.DB.Backup; 'quarry backup --server')
//	GET    /debug/pprof/...                            Go's profiler, with Options.Pprof only
//
// Errors have OpenAI's shape, {"error": {"message", "type", "param",
// "code"}}: 400 invalid_request_error for invalid requests (store.ErrInvalid,
// bad JSON, unknown fields, out-of-range parameters), 401 invalid_api_key,
// 404 not_found, 405 for a known path with another method, 409
// embedder_mismatch when a vector store was built by another embedder than
// the server's (store.ErrEmbedderMismatch; see store.DB.Reembed), 400
// vector_store_expired for a search or new file on an expired vector store
// (store.ErrExpired), 413 file_too_large, 507 insufficient_storage when a
// write finds the disk full (store.ErrNoSpace; nothing was stored,
// searches keep answering, and files in progress resume once space
// returns), 503 once the store is closed, 500 otherwise.
//
// # Responses and MCP
//
// POST /v1/responses runs OpenAI's file_search tool with any
// OpenAI-compatible chat model (Options.LLM: OpenAI, Azure OpenAI, Ollama,
// vLLM, llama.cpp server): the model calls the tool (1-5 queries, searched
// only in the tool's vector_store_ids), results go back to it with short
// citation handles, and the answer comes out as a message whose output_text
// carries file_citation annotations at character indices, each with
// quarry's citation ("quarry": chunk id, character range, pages,
// headings). Rounds are bounded (LLM.MaxRounds), usage is summed over them,
// stream:true sends OpenAI's event sequence, and previous_response_id
// continues a saved conversation. The upstream model is called without
// streaming, so streamed text arrives once its reply is complete. Without
// an LLM the endpoint answers 501. Package filesearch is the same tool for a
// Go program's own model loop.
//
// /mcp serves the Model Context Protocol (streamable HTTP, behind the same
// API key); `quarry mcp` serves it over stdio.
//
// # Expiry
//
// A vector store with expires_after {anchor: last_active_at, days} expires
// as OpenAI's does (see package store): its status turns "expired", its
// files are removed, it stays retrievable until deleted, and a search on
// it, or a file added to it, answers 400 vector_store_expired. OpenAI
// documents that runs using an expired vector store fail and that one
// creates a new store instead; it does not publish the error body, so the
// code is quarry's. A File uploaded with expires_after {anchor: created_at,
// seconds} reports expires_at and, past it, is deleted as DELETE
// /v1/files/{id} deletes it, with its copy in every vector store. Uploads
// are reclaimed before the server serves its next /v1/ request once the
// earliest expires_at has passed, so no request sees an expired File;
// expires_at is kept with the upload and survives restarts.
//
// # Search results
//
// Results are grouped per file, as the OpenAI contract describes them:
// max_num_results (1..50, default 10) counts files, each result carries
// its best chunk and, while the page holds fewer than max_num_results
// chunks, its further matching chunks in ranking order (so a page holds at
// most 2·max_num_results−1 chunks), and a file appears once. A result's
// score is its best chunk's; each chunk in content carries its own score,
// chunk id, position and citation (see store.ChunkResult). Scores are
// absolute, 0..1, comparable across queries (see store.SearchResult.Score):
// score_threshold 0.1 drops chunks sharing no keyword with the query, with
// the default weights; results come in ranking order, which their scores
// need not follow exactly. The page is the whole answer: has_more is false
// and next_page null. store.SearchRequest.CountFiles selects this in the
// Go API, whose MaxResults counts chunks otherwise.
//
// # Headers
//
// Every response carries "x-request-id" (req_ and 32 hex digits), which
// the SDKs expose as the request id and the access log records. A file or
// batch still in progress carries "openai-poll-after-ms", which the SDKs'
// poll helpers follow. A permanent error (4xx but 408 and 429) carries
// "x-should-retry: false", so the SDKs do not retry it.
//
// # Logging
//
// Options.Logger receives one line per request at level Info ("request":
// request_id, method, route pattern, status, bytes, duration; GET /healthz
// at Debug) and one per failed request ("request failed", with the error;
// level Error for 5xx).
//
// # Metrics
//
// GET /metrics answers in Prometheus' text format: HTTP requests by route
// pattern, method and status (quarry_http_requests_total) and their latency
// by route (quarry_http_request_duration_seconds), the DB's vector stores,
// files by status and bytes used, read at each scrape (quarry_vector_stores,
// quarry_files, quarry_usage_bytes, quarry_store_up), and the Go runtime and
// process collectors. Labels carry route patterns, never paths, so ids do
// not multiply series.
//
// # Files on disk
//
// The server keeps nothing of its own: files (/v1/files) are the store's
// uploads (store.DB.UploadFile, content-addressed and reference-counted in
// quarry.db and blobs/), file batches are store records, and attaching an
// upload to a vector store (store.VectorStore.AttachFile) references its
// bytes under the upload's id, as OpenAI clients expect; attaching the same
// upload twice returns the existing vector-store file. Deleting a file
// removes it from every vector store in the store's transaction. A DB
// directory written by an older server (uploads/index.json) is migrated by
// store.Open.
//
// # Differences from OpenAI
//
//   - Files uploaded straight to a vector store (multipart POST
//     /v1/vector_stores/{vs_id}/files, a quarry extension) are not uploads:
//     they are known by the store's file id and have no /v1/files entry.
//   - .../cancel turns the batch's files still in progress cancelled at once
//     (a file a worker is ingesting is dropped at its commit) and the batch
//     cancelled; there is no "cancelling" phase. A batch's status is
//     in_progress while a member is, cancelled once cancelled, failed when
//     every member failed, completed otherwise; members deleted since no
//     longer count. A batch is validated whole (ids, attributes, chunking)
//     before any file is attached.
//   - File creation and batch creation ingest asynchronously, as OpenAI's
//     do, but a batch's files are stored before the call returns, so a
//     crash after it loses none of them.
//   - Extra fields: a vector store carries "embedder"; a vector-store file
//     "filename", "bytes", "sha256", "type", "pages", "chunks", "tokens"; a
//     search result "vector_store_id", and each content item its citation
//     ("chunk_id", "chunk_index", "score", "tokens", "char_start",
//     "char_end", "byte_start", "byte_end", "page_start", "page_end",
//     "headings", and "prefix" for a repeated table header).
//   - chunking_strategy {"type": "auto"} is quarry's structure-aware
//     chunker with OpenAI's 800/400 budget (it cuts at headings,
//     paragraphs and sentences, and keeps tables and code blocks whole).
//     A file chunked with it is reported as OpenAI reports auto,
//     {"type": "static", "static": {800, 400}}, with the extension
//     "quarry_type": "auto"; sent back as it is, that object selects auto
//     again. The flat form {"type": "static", "max_chunk_size_tokens": N,
//     "chunk_overlap_tokens": M} is accepted beside OpenAI's nested one.
//   - ranking_options also takes "hybrid_search" {embedding_weight,
//     text_weight} (as the Responses file_search tool) and quarry's
//     "fusion" (rrf or normalized score).
//   - Search results come in one page: has_more is false, next_page null.
//   - Unknown request fields are rejected with 400, as OpenAI does; the
//     upload purpose must be "assistants" or "user_data".
//
// # Concurrency
//
// The handler is safe for concurrent use; uploads and attaches run
// concurrently (store serializes them per transaction, not server-wide).
package server
