package store

import (
	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/embed"
)

// FileStatus is a file's ingestion state.
type FileStatus string

const (
	StatusInProgress FileStatus = "in_progress"
	StatusCompleted  FileStatus = "completed"
	StatusFailed     FileStatus = "failed"
	StatusCancelled  FileStatus = "cancelled"
)

// ErrorCode is a file's last_error code, as in the OpenAI API.
type ErrorCode string

const (
	CodeServerError     ErrorCode = "server_error"
	CodeUnsupportedFile ErrorCode = "unsupported_file"
	CodeInvalidFile     ErrorCode = "invalid_file"
)

// FileError is why a file failed.
type FileError struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

// FileCounts counts a vector store's files by status.
type FileCounts struct {
	InProgress int `json:"in_progress"`
	Completed  int `json:"completed"`
	Failed     int `json:"failed"`
	Cancelled  int `json:"cancelled"`
	Total      int `json:"total"`
}

func (c *FileCounts) add(s FileStatus, n int) {
	switch s {
	case StatusInProgress:
		c.InProgress += n
	case StatusCompleted:
		c.Completed += n
	case StatusFailed:
		c.Failed += n
	case StatusCancelled:
		c.Cancelled += n
	}
	c.Total += n
}

// ExpiresAfter expires a vector store Days after its last activity.
type ExpiresAfter struct {
	Anchor string `json:"anchor"` // always "last_active_at"
	Days   int    `json:"days"`   // 1..365
}

// VectorStoreInfo describes a vector store. It is a snapshot: later changes do
// not show in it.
type VectorStoreInfo struct {
	ID           string
	CreatedAt    int64
	Name         string
	UsageBytes   int64
	FileCounts   FileCounts
	Status       string // expired | in_progress | completed
	ExpiresAfter *ExpiresAfter
	ExpiresAt    *int64 // nil without an expiry
	LastActiveAt int64
	Metadata     map[string]string // never nil
	// Embedder is the model that built the store's vectors.
	Embedder embed.Identity
}

// File describes a file in a vector store. Its JSON tags are the format
// quarry.db keeps it in, not a wire format.
type File struct {
	ID               string         `json:"id"`
	VectorStoreID    string         `json:"vector_store_id"`
	Filename         string         `json:"filename"`
	CreatedAt        int64          `json:"created_at"`
	Bytes            int64          `json:"bytes"`
	SHA256           string         `json:"sha256"` // of the file's bytes, hex
	UsageBytes       int64          `json:"usage_bytes"`
	Status           FileStatus     `json:"status"`
	LastError        *FileError     `json:"last_error"`
	ChunkingStrategy chunk.Strategy `json:"chunking_strategy"`
	Attributes       map[string]any `json:"attributes"`
	Type             string         `json:"type,omitempty"`   // detected format, once parsed
	Pages            int            `json:"pages,omitempty"`  // pages, slides or sheets
	Chunks           int            `json:"chunks,omitempty"` // number of chunks
	Tokens           int            `json:"tokens,omitempty"` // tokens over all chunks
	ChunkIDs         []uint64       `json:"chunk_ids,omitempty"`
	// Attached reports a file attached from an upload of the same id
	// (AttachFile): it references the upload's bytes.
	Attached bool `json:"attached,omitempty"`
}

// VectorStoreParams creates a vector store.
type VectorStoreParams struct {
	Name         string
	Metadata     map[string]string
	ExpiresAfter *ExpiresAfter
}

// VectorStoreUpdate modifies a vector store; nil fields are left alone.
type VectorStoreUpdate struct {
	Name         *string
	Metadata     map[string]string // replaces the metadata when non-nil
	ExpiresAfter *ExpiresAfter     // Days == 0 removes the expiry
}
