package server

import (
	"crypto/rand"
	"encoding/hex"
	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/embed"
	"github.com/quarrylabs/quarry/store"
)

// chunkingJSON is chunking_strategy in OpenAI's shape:
// {"type": "auto"} or {"type": "static", "static": {...}} on input. The flat
// form of chunk.Strategy ({"type": "static", "max_chunk_size_tokens": ...})
// is accepted too.
//
// On output a file chunked with "auto" is reported as OpenAI reports it,
// {"type": "static", "static": {800, 400}}, since no SDK type accepts
// {"type": "auto"} on a file; "quarry_type": "auto" says that quarry's
// structure-aware chunker cut it (with that token budget). The object can be
// sent back as it is: "quarry_type": "auto" on input selects auto.
type chunkingJSON struct {
	Type   chunk.StrategyType `json:"type"`
	Static *staticJSON        `json:"static,omitempty"`
	// QuarryType is the strategy quarry really applied, when it differs
	// from Type ("auto" reported as static 800/400).
	QuarryType chunk.StrategyType `json:"quarry_type,omitempty"`
	// Flat form, accepted on input only.
	MaxTokens     int `json:"max_chunk_size_tokens,omitempty"`
	OverlapTokens int `json:"chunk_overlap_tokens,omitempty"`
}

type staticJSON struct {
	MaxTokens     int `json:"max_chunk_size_tokens"`
	OverlapTokens int `json:"chunk_overlap_tokens"`
}

func (c *chunkingJSON) strategy() chunk.Strategy {
	if c == nil {
		return chunk.Strategy{}
	}
	s := chunk.Strategy{Type: c.Type, MaxTokens: c.MaxTokens, OverlapTokens: c.OverlapTokens}
	if c.Static != nil {
		s.MaxTokens, s.OverlapTokens = c.Static.MaxTokens, c.Static.OverlapTokens
	}
	switch c.QuarryType {
	case "":
	case chunk.Auto: // what chunkingOf reports for auto, sent back
		s = chunk.Strategy{Type: chunk.Auto}
	default:
		s.Type = c.QuarryType // Validate reports a type it does not know
	}
	return s
}

// chunkingOf reports s as OpenAI does: always static with its budget; an
// auto strategy keeps its name in QuarryType.
func chunkingOf(s chunk.Strategy) chunkingJSON {
	s = s.Normalize()
	c := chunkingJSON{Type: chunk.Static, Static: &staticJSON{s.MaxTokens, s.OverlapTokens}}
	if s.Type != chunk.Static {
		c.QuarryType = s.Type
	}
	return c
}

// fileJSON is a vector_store.file as the API shows it: the store's File
// with chunking_strategy in OpenAI's shape, and without the (long) list of
// chunk ids.
type fileJSON struct {
	*store.File
	Object           string       `json:"object"` // "vector_store.file"
	ChunkingStrategy chunkingJSON `json:"chunking_strategy"`
	ChunkIDs         *struct{}    `json:"chunk_ids,omitempty"` // hides store.File.ChunkIDs
	Attached         *struct{}    `json:"attached,omitempty"`  // hides store.File.Attached
}

func (s *server) fileOf(f *store.File) fileJSON {
	return fileJSON{File: f, Object: "vector_store.file", ChunkingStrategy: chunkingOf(f.ChunkingStrategy)}
}

// vectorStoreJSON is a vector_store.
type vectorStoreJSON struct {
	ID           string              `json:"id"`
	Object       string              `json:"object"` // "vector_store"
	CreatedAt    int64               `json:"created_at"`
	Name         string              `json:"name"`
	UsageBytes   int64               `json:"usage_bytes"`
	FileCounts   store.FileCounts    `json:"file_counts"`
	Status       string              `json:"status"`
	ExpiresAfter *store.ExpiresAfter `json:"expires_after,omitempty"`
	ExpiresAt    *int64              `json:"expires_at"`
	LastActiveAt int64               `json:"last_active_at"`
	Metadata     map[string]string   `json:"metadata"`
	Embedder     embed.Identity      `json:"embedder"` // quarry's extension
}

func vectorStoreOf(v *store.VectorStoreInfo) vectorStoreJSON {
	return vectorStoreJSON{ID: v.ID, Object: "vector_store", CreatedAt: v.CreatedAt, Name: v.Name, UsageBytes: v.UsageBytes,
		FileCounts: v.FileCounts, Status: v.Status, ExpiresAfter: v.ExpiresAfter, ExpiresAt: v.ExpiresAt,
		LastActiveAt: v.LastActiveAt, Metadata: v.Metadata, Embedder: v.Embedder}
}

// uploadJSON is a file, OpenAI's File object.
type uploadJSON struct {
	ID        string `json:"id"`
	Object    string `json:"object"` // "file"
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
	ExpiresAt *int64 `json:"expires_at"` // null: never
}

func uploadOf(u *store.Upload) uploadJSON {
	j := uploadJSON{ID: u.ID, Object: "file", Bytes: u.Bytes, CreatedAt: u.CreatedAt, Filename: u.Filename, Purpose: u.Purpose, Status: u.Status}
	if u.ExpiresAt != 0 {
		j.ExpiresAt = &u.ExpiresAt
	}
	return j
}

// batchJSON is a vector_store.files_batch.
type batchJSON struct {
	ID            string           `json:"id"`
	Object        string           `json:"object"` // "vector_store.files_batch"
	CreatedAt     int64            `json:"created_at"`
	VectorStoreID string           `json:"vector_store_id"`
	Status        store.FileStatus `json:"status"`
	FileCounts    store.FileCounts `json:"file_counts"`
}

func batchOf(b *store.FileBatch) batchJSON {
	return batchJSON{ID: b.ID, Object: "vector_store.files_batch", CreatedAt: b.CreatedAt, VectorStoreID: b.VectorStoreID,
		Status: b.Status, FileCounts: b.FileCounts}
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
