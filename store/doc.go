// Package store is quarry's engine and public API: a DB in one directory
// holding vector stores, their files, and the indexes that search them.
//
// # Basics
//
// Open a DB, create a vector store, add files and search:
//
//	db, err := store.Open(ctx, "./kb", store.Options{}) // zero Options: offline defaults
//	defer db.Close()
//	vs, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "handbook"})
//	f, err := vs.AddFile(ctx, store.FileInput{Name: "guide.md", Body: r})
//	f, err = vs.WaitFile(ctx, f.ID) // ingestion runs on the DB's workers
//	res, err := vs.Search(ctx, store.SearchRequest{Query: []string{"rotate keys"}})
//
// Files go through parse, chunk and embed on background workers; their
// status moves from in_progress to completed or failed, with a last_error
// code (server_error, unsupported_file, invalid_file) as in the OpenAI API.
// Search is hybrid: vector search (package ann) and BM25 (package lexical),
// fused (package rerank), reranked, and grouped by file with citations
// (chunk id, character and byte range, pages, heading path).
//
// # Persistence
//
// One bbolt file (quarry.db) is the source of truth: vector stores, files,
// chunks with their offsets, vectors, and a log of changes numbered by one
// DB-wide sequence. The vector index and the BM25 index are derived: each
// records the last sequence it applied and catches up from the log on Open.
// A file's bytes are written durably (temp file, fsync, rename, fsync
// directory) before AddFile returns, so an acknowledged file is ingested
// even if the process dies; a file is completed only once its chunks and
// vectors are committed. A deleted file's chunks are gone from the source of
// truth in the same transaction that logs the delete, so nothing deleted
// comes back after a crash, and search only returns chunks the source of
// truth still holds.
//
// # Concurrency
//
// A DB is safe for concurrent use. Open starts the ingestion workers; Close
// stops and waits for them (files still in progress resume at the next
// Open). Calls after Close return ErrClosed. Only one process may open a
// directory at a time.
//
// # Embedders
//
// A vector store records the embedder (provider, model, dimensions) that
// built it. Opening it with another embedder makes its AddFile and Search
// return ErrEmbedderMismatch until DB.Reembed rebuilds its vectors.
package store
