package server

import (
	"errors"
	"net/http"
	"slices"
	"time"

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

// batchJSON is a vector_store.files_batch.
type batchJSON struct {
	ID            string           `json:"id"`
	Object        string           `json:"object"` // "vector_store.files_batch"
	CreatedAt     int64            `json:"created_at"`
	VectorStoreID string           `json:"vector_store_id"`
	Status        store.FileStatus `json:"status"`
	FileCounts    store.FileCounts `json:"file_counts"`
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
	if err := s.checkItems(items, param); err != nil {
		s.fail(w, r, err)
		return
	}
	bt := &batch{ID: newID("vsfb_"), VectorStoreID: vs.ID(), CreatedAt: time.Now().Unix()}
	for _, it := range items {
		if _, err := s.attach(r, vs, it); err != nil {
			s.fail(w, r, err)
			return
		}
		if !slices.Contains(bt.FileIDs, it.FileID) {
			bt.FileIDs = append(bt.FileIDs, it.FileID)
		}
	}
	if err := s.uploads.addBatch(bt); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, r, vs, bt)
}

// batchFilesOf returns the batch's files still in the vector store.
func (s *server) batchFilesOf(r *http.Request, vs *store.VectorStore, bt *batch) ([]store.File, error) {
	var out []store.File
	for _, id := range bt.FileIDs {
		f, err := vs.File(r.Context(), s.uploads.storeID(vs.ID(), id))
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *f)
	}
	return out, nil
}

func (s *server) writeBatch(w http.ResponseWriter, r *http.Request, vs *store.VectorStore, bt *batch) {
	files, err := s.batchFilesOf(r, vs, bt)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := batchJSON{ID: bt.ID, Object: "vector_store.files_batch", CreatedAt: bt.CreatedAt, VectorStoreID: vs.ID()}
	c := &out.FileCounts
	for _, f := range files {
		switch f.Status {
		case store.StatusInProgress:
			c.InProgress++
		case store.StatusCompleted:
			c.Completed++
		case store.StatusFailed:
			c.Failed++
		case store.StatusCancelled:
			c.Cancelled++
		}
		c.Total++
	}
	switch {
	case c.InProgress > 0:
		out.Status = store.StatusInProgress
	case c.Total > 0 && c.Failed == c.Total:
		out.Status = store.StatusFailed
	default:
		out.Status = store.StatusCompleted
	}
	setPollAfter(w, out.Status)
	writeJSON(w, http.StatusOK, out)
}

// batch returns the request's vector store and batch.
func (s *server) batch(r *http.Request) (*store.VectorStore, *batch, error) {
	vs, err := s.vectorStore(r)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("batch_id")
	bt, err := s.uploads.getBatch(vs.ID(), id)
	if err == nil && bt == nil {
		err = notFound("no such file batch: %q", id)
	}
	if err != nil {
		return nil, nil, err
	}
	return vs, bt, nil
}

func (s *server) getBatch(w http.ResponseWriter, r *http.Request) {
	vs, bt, err := s.batch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeBatch(w, r, vs, bt)
}

// cancelBatch answers with the batch's current state: the store cannot stop
// a file's ingestion once queued, so nothing is cancelled.
func (s *server) cancelBatch(w http.ResponseWriter, r *http.Request) {
	s.getBatch(w, r)
}

func (s *server) batchFiles(w http.ResponseWriter, r *http.Request) {
	vs, bt, err := s.batch(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	o, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	files, err := s.batchFilesOf(r, vs, bt)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]fileJSON, 0, len(files))
	for i := range files {
		if o.Status == "" || files[i].Status == o.Status {
			data = append(data, s.fileOf(&files[i]))
		}
	}
	page, first, last, more, err := paginate(data, o, func(f fileJSON) (string, int64) { return f.ID, f.CreatedAt })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(page, first, last, more))
}
