package server

import (
	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/store"
)

// chunkingJSON is chunking_strategy in OpenAI's shape:
// {"type": "auto"} or {"type": "static", "static": {...}}. The flat form of
// chunk.Strategy ({"type": "static", "max_chunk_size_tokens": ...}) is
// accepted too.
type chunkingJSON struct {
	Type   chunk.StrategyType `json:"type"`
	Static *staticJSON        `json:"static,omitempty"`
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
	return s
}

func chunkingOf(s chunk.Strategy) chunkingJSON {
	s = s.Normalize()
	if s.Type == chunk.Static {
		return chunkingJSON{Type: s.Type, Static: &staticJSON{s.MaxTokens, s.OverlapTokens}}
	}
	return chunkingJSON{Type: s.Type}
}

// fileJSON is a vector_store.file as the API shows it: the store's File with
// the id the client knows, chunking_strategy in OpenAI's shape, and without
// the (long) list of chunk ids.
type fileJSON struct {
	*store.File
	ID               string       `json:"id"`
	ChunkingStrategy chunkingJSON `json:"chunking_strategy"`
	ChunkIDs         *struct{}    `json:"chunk_ids,omitempty"` // hides store.File.ChunkIDs
}

func (s *server) fileOf(f *store.File) fileJSON {
	return fileJSON{File: f, ID: s.uploads.wireID(f.VectorStoreID, f.ID), ChunkingStrategy: chunkingOf(f.ChunkingStrategy)}
}
