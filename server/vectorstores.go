package server

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/quarrylabs/quarry/store"
)

type createVectorStoreBody struct {
	Name             string              `json:"name"`
	Metadata         map[string]string   `json:"metadata"`
	ExpiresAfter     *store.ExpiresAfter `json:"expires_after"`
	FileIDs          []string            `json:"file_ids"`
	ChunkingStrategy *chunkingJSON       `json:"chunking_strategy"`
	Description      string              `json:"description"` // accepted, not kept
}

func (s *server) createVectorStore(w http.ResponseWriter, r *http.Request) {
	var b createVectorStoreBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(b.FileIDs) > 500 {
		s.fail(w, r, invalid("file_ids", "invalid 'file_ids': at most 500 files, got %d", len(b.FileIDs)))
		return
	}
	items := make([]batchItem, len(b.FileIDs))
	for i, id := range b.FileIDs {
		items[i] = batchItem{FileID: id, ChunkingStrategy: b.ChunkingStrategy}
	}
	// Check the files before creating anything.
	if err := s.checkItems(r, items, "file_ids"); err != nil {
		s.fail(w, r, err)
		return
	}
	vs, err := s.db.CreateVectorStore(r.Context(), store.VectorStoreParams{Name: b.Name, Metadata: b.Metadata, ExpiresAfter: b.ExpiresAfter})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(items) > 0 {
		if _, err := vs.CreateFileBatch(r.Context(), batchFiles(items)); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.writeInfo(w, r, vs, http.StatusOK)
}

func (s *server) writeInfo(w http.ResponseWriter, r *http.Request, vs *store.VectorStore, status int) {
	info, err := vs.Info(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, status, vectorStoreOf(info))
}

func (s *server) vectorStore(r *http.Request) (*store.VectorStore, error) {
	id := r.PathValue("vs_id")
	vs, err := s.db.VectorStore(id)
	if err != nil {
		return nil, err
	}
	return vs, nil
}

func (s *server) listVectorStores(w http.ResponseWriter, r *http.Request) {
	o, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all, err := s.db.VectorStores(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, first, last, more, err := paginate(all, o, func(v store.VectorStoreInfo) (string, int64) { return v.ID, v.CreatedAt })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]vectorStoreJSON, len(page))
	for i := range page {
		data[i] = vectorStoreOf(&page[i])
	}
	writeJSON(w, http.StatusOK, newList(data, first, last, more))
}

func (s *server) getVectorStore(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeInfo(w, r, vs, http.StatusOK)
}

type updateVectorStoreBody struct {
	Name         *string           `json:"name"`
	Metadata     map[string]string `json:"metadata"`
	ExpiresAfter json.RawMessage   `json:"expires_after"` // null removes the expiry
}

func (s *server) updateVectorStore(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b updateVectorStoreBody
	if err := decodeJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	u := store.VectorStoreUpdate{Name: b.Name, Metadata: b.Metadata}
	switch {
	case len(b.ExpiresAfter) == 0:
	case bytes.Equal(bytes.TrimSpace(b.ExpiresAfter), []byte("null")):
		u.ExpiresAfter = &store.ExpiresAfter{}
	default:
		var e store.ExpiresAfter
		if err := json.Unmarshal(b.ExpiresAfter, &e); err != nil {
			s.fail(w, r, invalid("expires_after", "invalid 'expires_after': %v", err))
			return
		}
		if e.Days == 0 {
			s.fail(w, r, invalid("expires_after.days", "invalid 'expires_after.days': must be between 1 and 365"))
			return
		}
		u.ExpiresAfter = &e
	}
	info, err := vs.Update(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, vectorStoreOf(info))
}

func (s *server) deleteVectorStore(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err == nil {
		err = vs.Delete(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted{ID: vs.ID(), Object: "vector_store.deleted", Deleted: true})
}
