// Package ann holds nearest-neighbour indexes over float32 vectors: an exact
// Flat index and an HNSW graph (Malkov & Yashunin, as in hnswlib). It knows
// nothing of files or chunks, only uint64 ids and vectors. Distances use
// viterin/vek's SIMD kernels (AVX2/FMA where present); dimensions are checked
// before every call into them.
//
// # Basics
//
// Both indexes implement Index. Cosine vectors are normalized on insert and
// Cosine distance is 1 - dot; L2 distance is the squared Euclidean distance;
// smaller is nearer.
//
//	h := ann.NewHNSW(768, ann.Config{Metric: ann.Cosine}) // M 16, efConstruction 200, efSearch 64
//	err := h.Add(42, vec)
//	res, err := h.Search(query, 10, func(id uint64) bool { return allowed[id] })
//	_, err = h.WriteTo(w)         // versioned, checksummed, streamed
//	h2, err := ann.ReadHNSW(f)    // an *os.File: one read per array, no rebuild
//
// # Layout
//
// Nodes live in slots (uint32 indexes); a map turns external ids into
// slots. Vectors are one contiguous []float32, layer-0 neighbour lists one
// []uint32 of 1+2M words per slot (count, then neighbours), and the rare
// upper layers one []uint32 per slot that has them. A search takes its
// scratch (visited marks with epoch counters, two hand-written binary heaps,
// a neighbour buffer) from a sync.Pool and allocates only its result.
//
// # Quantization
//
// With Config.Quantize, searches walk the graph over int8 codes, one byte
// per dimension, and re-score the ef candidates the walk ends with on the
// float32 vectors, which stay in memory: results carry exact float32
// distances, only the walk is approximate. The quantizer is a
// per-dimension centre and one scale shared by all dimensions (the widest
// per-dimension range over 254 steps), fixed from the first 1024 live
// vectors and never retrained, so earlier codes stay valid; later values
// outside the range are clamped. Below 1024 vectors searches use the
// float32 vectors. The shared scale keeps the distances integer kernels
// (Σ (a-b)² for L2; Σ a·b plus a per-node term for Cosine) in pure Go, four
// int32 accumulators over loops unrolled by 8. Inserts, repairs and exact
// scans use the float32 vectors, so the graph is the same either way.
//
// # Concurrency
//
// Both indexes are safe for concurrent use. HNSW searches and inserts run in
// parallel under a read lock: writers of a neighbour list hold its node's
// mutex and store its words atomically, and searches load them without
// locking. As in hnswlib, an insert holds its own node's mutex from before
// the node is reachable until all its lists are written, and locks each
// node whose lists it reads, so an insert never routes through a node
// whose lower layers are still empty. Growth, Delete, a replacing Add, repairs and WriteTo
// take the write lock (WriteTo for the whole write). A Filter may be called
// from several goroutines at once.
//
// # Deletes
//
// Delete leaves a tombstone: it still routes searches but is never returned.
// When tombstones exceed Config.RepairFraction (10%) of the used slots, the
// graph is repaired: each live node that links to a tombstone is relinked,
// by the insert heuristic, among its live neighbours and the tombstones'
// live neighbours, and the tombstones' slots are reused by later Adds, so
// recall does not decay through cycles of deletes and re-inserts.
//
// # Filtered search
//
// The graph walk routes through every node and keeps only allowed ones; it
// continues until it holds ef allowed candidates. When the filter is
// estimated (from 256 sampled slots, or from SearchOptions.Selectivity) to
// allow fewer than Config.ExactBelow ids, less than Config.ExactSelectivity
// of them, or fewer than the distances a walk would compute (about
// ef/s · 2·M0 for selectivity s), the search scans the allowed ids exactly
// instead: the scan is then both faster and exact. Over 100k vectors of
// 1536 dimensions at ef 64 that is every filter below about 20%; at 10%
// the walk ran 196 queries/s and the scan several times that.
//
// # Complexity
//
// n nodes, d dimensions, P cores, s filter selectivity:
//
//	operation                 time (expected)                    notes
//	HNSW Add                  O(efConstruction · M · log n · d)  parallel across callers
//	HNSW Search               O(ef · M · log n · d)              one goroutine
//	HNSW Search, filter s     O(ef/s · M · d) walk, or           exact when s·n < ExactBelow,
//	                          O(n) filter calls + O(s·n·d/P) scan  s < ExactSelectivity or
//	                                                             s·n < 4·M·ef/s
//	HNSW Delete               O(1); repair O(T · M² · d) per     T tombstones, amortized over
//	                          repair                             n·RepairFraction deletes
//	WriteTo / ReadHNSW        O(n · (d + M)) sequential I/O      bulk reads, validated
//	Flat Search               O(n · d / P)                       split across P goroutines
//	                                                             above 2^20 floats
//
// # Memory
//
// Per HNSW node, with the defaults (M 16):
//
//	4·d             vector
//	4·(1 + 2M)      layer-0 list                       132 bytes
//	4·(1 + M)/(M-1) upper lists, on average            ~5 bytes
//	8 + 1 + 4 + 24  id, level, state, upper slice header
//	8               node mutex
//	~40             id map entry
//
// about 4·d + 222 bytes: 3,294 bytes at d = 768, 6,366 at d = 1536. The
// file holds 4·d + 8·M + 18 bytes per node plus the upper lists.
//
// Config.Quantize adds d bytes of codes and a 4-byte term per node, and
// keeps the float32 vectors for re-scoring: about 5·d + 226 bytes in all
// (4,066 at d = 768), more than without it. What is 4× smaller is what a
// search walks over, d + 4 bytes per visited node instead of 4·d; the
// float32 vectors are read only for the ef final candidates. The file
// holds the codes too (d more bytes per node) and the quantizer (4·d + 4).
//
// # Caveats
//
// The graph is built by parallel inserts, so its exact shape depends on
// scheduling; a single goroutine with a fixed Config.Seed builds the same
// graph every time.
//
// Neighbours are chosen by hnswlib's heuristic, and lists it leaves short
// are filled with the nearest candidates it passed over (the paper's
// keepPrunedConnections): near-duplicates, which the heuristic prunes
// hardest, otherwise lose every link to some of them. Vectors whose
// distances are below float32's resolution (cosine distance under about
// 1e-6) are exact duplicates to the graph: among 1,500 copies of one
// vector with noise 1e-4, about 2% stay unreachable (sequential builds
// too); a search finds their twins.
//
// The int8 kernels are scalar Go, while the float32 ones are vek's AVX2:
// on graphs whose vectors fit in the CPU caches a quantized search is
// about 3× slower than a float32 one (BenchmarkHNSWQuantize) at equal
// recall. Quantize pays only where the walk is bound by memory traffic,
// and it does not lower the total memory, since the float32 vectors stay.
package ann
