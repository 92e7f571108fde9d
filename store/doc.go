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
// # Files and batches
//
// DB.UploadFile stores an OpenAI File object (an Upload): bytes stored once
// and shared by identical uploads (content-addressed by SHA-256 and
// reference-counted; up to 128 KiB inside quarry.db, larger in blobs/).
// VectorStore.AttachFile adds an upload to a vector store under the
// upload's id, referencing its bytes; DB.DeleteUpload removes it from every
// vector store in the same transaction. VectorStore.CreateFileBatch
// attaches many uploads in one transaction, after validating all of them;
// CancelFileBatch and CancelFile turn files still in progress cancelled
// (queued ones are never ingested; one a worker holds is dropped at its
// commit). AddFile remains for bytes that are not uploads. A directory
// holding the uploads/index.json of an older quarry server is migrated
// into quarry.db once, on Open.
//
// # Scores
//
// A result's score is absolute: it depends only on the query, the chunk
// and the collection's statistics, never on which other candidates were
// fused, so score_threshold means the same for every query. It is the
// hybrid-weighted mean of the chunk's cosine similarity to the query and
// its BM25 score as a share of a full match's (a chunk of average length
// holding every query term once: lexical.Index.FullMatchScore; capped at
// 1), the latter
// averaged with the same share for the feedback-expanded query when
// feedback ran (see SearchResult.Score). The fusion orders results; the
// scores need not fall in that order. On the shared IR collections,
// results scoring 0.5 or more are judged relevant more often than those
// below (bench TestSearchQuality); a query none of whose words the
// collection holds scores below 0.1 with the default weights, so
// score_threshold 0.1 keeps only chunks with keyword evidence.
//
// # Persistence
//
// One bbolt file (quarry.db) is the source of truth: vector stores, files,
// chunks with their offsets, vectors, and a log of changes numbered by one
// DB-wide sequence. The vector index and the BM25 index are derived: each
// records the last sequence it applied and catches up from the log on Open
// (see Caveats for checkpoints).
// A file's bytes are written durably (temp file, fsync, rename, fsync
// directory) before AddFile returns, so an acknowledged file is ingested
// even if the process dies; a file is completed only once its chunks and
// vectors are committed and the derived indexes have applied them (see
// Caveats). A deleted file's chunks are gone from the source of
// truth in the same transaction that logs the delete, so nothing deleted
// comes back after a crash, and search only returns chunks the source of
// truth still holds.
//
// A full disk fails writes with an error matching ErrNoSpace and nothing
// else: searches read what is stored, and a file whose commit found the
// disk full stays in_progress and is committed once space returns (one
// waiting file is tried again with a backoff of 1 s doubling to 10 s, and
// the first commit that succeeds queues them all), without a restart.
//
// # Concurrency
//
// A DB is safe for concurrent use. Open starts the ingestion workers; Close
// stops and waits for them (files still in progress resume at the next
// Open). Calls after Close return ErrClosed. Only one process may open a
// directory at a time.
//
// # Lifetimes
//
// A vector store's derived indexes live in a state that searches, file
// deletes, attribute updates and ingestion hold a reference on while they
// use it. Delete, Reembed and Close retire a state: new calls fail
// cleanly (ErrNotFound, ErrClosed), calls in flight finish first. Reembed
// builds the new vectors and graph beside the old ones and swaps them in
// only when complete; until then, and if it fails, the old state serves.
//
// # Bounds
//
//   - Ingestion is a pipeline across files (see pipeline.go): Workers
//     goroutines parse and chunk; an embed.Batcher merges the chunks of
//     many files into one Embed call of up to the provider's limits
//     (2,048 inputs and 300,000 tokens for OpenAI; 256 inputs for
//     embedders without limits) after a 10 ms linger, and splits a huge
//     file's chunks across parallel calls; one committer writes every
//     embedded file that is ready in one transaction. The bytes files hold
//     between parsing and their commit are bounded by Options.IngestMemory
//     (default 64 MiB), parsing by Options.Parse.Memory.
//   - Embed calls in flight DB-wide: Options.EmbedConcurrency (default 4),
//     whatever Options.Workers is.
//   - The ingest queue is one small record per file in progress; no
//     goroutine per job.
//   - Rebuilds read the source of truth 4,096 vectors or files per read
//     transaction and insert in parallel (GOMAXPROCS); BM25 batches hold
//     2,000 chunks. Reembed holds 256 texts and vectors at a time plus the
//     new graph. Catch-up reads 1,024 log entries, or entries naming
//     2,048 chunks or 4 MiB of chunk text, per transaction.
//   - A search never waits for the indexer. The commit stage waits while
//     a store's indexes lag more than 4,096 committed chunks behind
//     (maxIndexLag), so ingestion runs at the indexer's pace, a completed
//     file follows its commit by at most a few catch-up rounds, and a
//     restart after a crash replays at most that lag beyond the last
//     checkpoint. DeleteFile and UpdateFileAttributes wait at most 10 s
//     for the indexer to apply their change.
//   - Query embeddings: an in-memory LRU of 4,096; the persistent
//     embedding cache holds at most embed.DefaultCacheBytes (1 GiB) of
//     vectors, oldest evicted first.
//
// # Caveats
//
// Only one process may open a directory at a time; a second Open fails
// after a second. Do not share a directory over a network file system.
//
// What survives a crash (kill -9, power loss): every acknowledged call.
// AddFile has written the file's bytes durably before it returns, and the
// file is ingested at the next Open if it was not before; a completed file
// has its chunks and vectors committed; a deleted file never comes back.
// Files in progress at the crash resume at the next Open.
//
// The vector graph and the BM25 index are derived from quarry.db and may
// be deleted at any time: they are rebuilt. A checkpoint is the indexer
// saving the vector graph (atomically: temporary file, fsync, rename)
// after 20,000 chunk changes or one minute with changes, and then
// trimming quarry.db's change log up to what both indexes have applied
// and persisted. After a crash, Open loads the last checkpoint and
// replays the log from the older of the checkpoint and the BM25 index's
// persisted sequence (as scorch reports it, not guessed). Close first
// applies what the indexes are behind on, then checkpoints, so the next
// Open has nothing to replay. An index that is ahead of
// quarry.db (an older quarry.db restored), behind the trimmed log, or
// unreadable is rebuilt from scratch, which takes time proportional to
// the store (Open honours its context meanwhile).
//
// Completed means searchable: a file whose chunks are committed stays
// in_progress (in File, Files, file batches and the store's file_counts)
// until the derived indexes have applied its commit, and only then is it
// completed, as OpenAI's files are in_progress until searchable. So a
// search reads the indexes as they are, without waiting for the indexer,
// and still finds every file it has seen completed. The in_progress
// window is not persisted: Open applies the whole log to the indexes
// before it returns, so after kill -9 a file committed before the crash
// is completed and searchable once Open returns. While a store's indexer
// fails (a full disk, say), it retries every second; commits go on
// without waiting for it, and their files stay in_progress until it
// applies them, as a file whose own commit found the disk full does;
// searches meanwhile see what is indexed. CancelFile leaves a committed file alone even
// while it shows in_progress. Results are read back from quarry.db, so a
// chunk deleted meanwhile is never returned.
//
// # Expiry
//
// A vector store created with ExpiresAfter{Days: n} expires n days after
// its last activity (last_active_at: a search, AddFile, the end of an
// ingestion, Update), as OpenAI's do. From expires_at on it reports
// status "expired", Search and AddFile return ErrExpired, and no later
// activity revives it; a background reclaimer (started by Open, stopped
// by Close, checking at Open and every minute) marks it expired in
// quarry.db and deletes its files, finishing after a restart what a
// crash interrupted. The store itself stays until Delete.
//
// # Backup and restore
//
// DB.Backup writes a consistent snapshot as one tar stream while the DB
// serves: quarry.db as of one read transaction (bbolt's Tx.WriteTo), every
// other file under the directory that the source of truth may reference
// (blobs/: uploaded bytes, content-addressed) as of that transaction, and a manifest of SHA-256
// checksums. Derived indexes (indexes/) and the embedding cache are left
// out. Restore checks every checksum, bbolt's page consistency and the
// format version in a temporary directory before renaming it into place,
// so a corrupt stream leaves nothing usable behind; Open rebuilds the
// indexes. The read transaction lasts while quarry.db is copied into a
// staging directory beside it (as much space again until Backup returns),
// not while the stream is consumed; during that copy a write that needs
// the file to grow waits, and reads queue behind it (bbolt remaps only
// without readers).
// A copy of quarry.db taken while no process has it open also works.
// Files uploaded with an expiry (UploadParams.ExpiresAt) expire too:
// past it the upload reads as deleted and the reclaimer deletes it, with
// its copy in every vector store, as DeleteUpload does.
//
// # Embedders
//
// A vector store records the embedder (provider, model, dimensions) that
// built it. Opening it with another embedder makes its AddFile and Search
// return ErrEmbedderMismatch until DB.Reembed rebuilds its vectors. One
// exception: a DB with the offline default (embed.NewDefault) serves a
// store built by the earlier default, the hashing embedder (hash-v3), with
// that embedder, which it can still make (embed.Builtin): its searches and
// new files keep working unchanged, and only DB.Reembed moves it to the
// default. A search over several stores needs them built by one embedder.
package store
