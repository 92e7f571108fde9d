package server

import (
	"net/http"

	"github.com/quarrylabs/quarry/store"
)

// maxBatchFiles is OpenAI's limit on a batch's files.
const maxBatchFiles = 2000

type createBatchBody struct {
	FileIDs          []string       `json:"file_ids"`
	Files            []batchItem    `json:"files"`
	Attributes       map[string]any `json:"attributes"`
	ChunkingStrategy *chunkingJSON  `json:"chunking_strategy"`
}

func (s *server) createBatch(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b createBatchBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	items, param := b.Files, "files"
	switch {
	case len(b.FileIDs) > 0 && len(b.Files) > 0:
		s.fail(w, r, invalid("files", "give either 'file_ids' or 'files', not both"))
		return
	case len(b.FileIDs) > 0:
		param = "file_ids"
		items = make([]batchItem, len(b.FileIDs))
		for i, id := range b.FileIDs {
			items[i] = batchItem{FileID: id, Attributes: b.Attributes, ChunkingStrategy: b.ChunkingStrategy}
		}
	case len(b.Files) == 0:
		s.fail(w, r, invalid("file_ids", "missing required parameter: 'file_ids' or 'files'"))
		return
	default:
		for i := range items {
			if items[i].Attributes == nil {
				items[i].Attributes = b.Attributes
			}
			if items[i].ChunkingStrategy == nil {
				items[i].ChunkingStrategy = b.ChunkingStrategy
			}
		}
	}
	if len(items) > maxBatchFiles {
		s.fail(w, r, invalid(param, "invalid '%s': at most %d files, got %d", param, maxBatchFiles, len(items)))
		return
	}
	if err := s.checkItems(r, items, param); err != nil {
		s.fail(w, r, err)
		return
	}
	bt, err := vs.CreateFileBatch(r.Context(), batchFiles(items))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, bt)
}

func (s *server) writeBatch(w http.ResponseWriter, bt *store.FileBatch) {
	setPollAfter(w, bt.Status)
	writeJSON(w, http.StatusOK, batchOf(bt))
}

func (s *server) getBatch(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bt, err := vs.FileBatch(r.Context(), r.PathValue("batch_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, bt)
}

// cancelBatch cancels the batch: its files still in progress become
// cancelled, and so does the batch.
func (s *server) cancelBatch(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bt, err := vs.CancelFileBatch(r.Context(), r.PathValue("batch_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, bt)
}

func (s *server) batchFiles(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	files, err := vs.FileBatchFiles(r.Context(), r.PathValue("batch_id"), o.Status)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]fileJSON, len(files))
	for i := range files {
		data[i] = s.fileOf(&files[i])
	}
	page, first, last, more, err := paginate(data, o, func(f fileJSON) (string, int64) { return f.ID, f.CreatedAt })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(page, first, last, more))
}
