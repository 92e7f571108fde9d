package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/quarrylabs/quarry/chunk"
	"github.com/quarrylabs/quarry/store"
)

// batchItem is one file to add to a vector store.
type batchItem struct {
	FileID           string         `json:"file_id"`
	Attributes       map[string]any `json:"attributes"`
	ChunkingStrategy *chunkingJSON  `json:"chunking_strategy"`
}

// checkItems reports the first item naming no upload or with an invalid
// chunking_strategy, with the request's parameter names, before anything
// is created. (The store checks the whole batch again when it attaches.)
func (s *server) checkItems(r *http.Request, items []batchItem, param string) error {
	for _, it := range items {
		if it.FileID == "" {
			return invalid(param, "invalid '%s': a file_id is empty", param)
		}
		if err := it.ChunkingStrategy.strategy().Validate(); err != nil {
			return invalid("chunking_strategy", "%s", strings.ReplaceAll(err.Error(), chunk.ErrInvalidStrategy.Error()+": ", ""))
		}
		if _, err := s.db.Upload(r.Context(), it.FileID); errors.Is(err, store.ErrNotFound) {
			return invalid(param, "no such file: %q (upload it with POST /v1/files first)", it.FileID)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// batchFiles converts items for the store.
func batchFiles(items []batchItem) []store.BatchFile {
	out := make([]store.BatchFile, len(items))
	for i, it := range items {
		out[i] = store.BatchFile{FileID: it.FileID, Attributes: it.Attributes, Chunking: it.ChunkingStrategy.strategy()}
	}
	return out
}

func (s *server) createFile(w http.ResponseWriter, r *http.Request) {
	vs, err := s.vectorStore(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		s.createFileMultipart(w, r, vs)
		return
	}
	var it batchItem
	if err := decodeJSON(w, r, &it); err != nil {
		s.fail(w, r, err)
		return
	}
	if it.FileID == "" {
		s.fail(w, r, invalid("file_id", "missing required parameter: 'file_id'"))
		return
	}
	if err := s.checkItems(r, []batchItem{it}, "file_id"); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := vs.AttachFile(r.Context(), it.FileID, it.Attributes, it.ChunkingStrategy.strategy())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setPollAfter(w, f.Status)
	writeJSON(w, http.StatusOK, s.fileOf(f))
}

// createFileMultipart is quarry's extension: the file's bytes come in the
// request, with optional "attributes" and "chunking_strategy" fields holding
// JSON. The file is the vector store's alone; it is not an upload.
func (s *server) createFileMultipart(w http.ResponseWriter, r *http.Request, vs *store.VectorStore) {
	var spool *os.File
	var name string
	defer func() {
		if spool != nil {
			spool.Close()
			os.Remove(spool.Name())
		}
	}()
	fields, err := s.readMultipart(w, r, func(fn string, body io.Reader) error {
		var err error
		if spool, err = os.CreateTemp("", "quarry-spool-*"); err != nil {
			return fmt.Errorf("server: %w", err)
		}
		name = fn
		n, err := io.Copy(spool, io.LimitReader(body, s.opts.MaxUploadBytes+1))
		if err != nil {
			return err
		}
		if n > s.opts.MaxUploadBytes {
			return store.ErrTooLarge
		}
		_, err = spool.Seek(0, io.SeekStart)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in store.FileInput
	in.Name, in.Body = name, spool
	if a := fields["attributes"]; a != "" {
		if err := json.Unmarshal([]byte(a), &in.Attributes); err != nil {
			s.fail(w, r, invalid("attributes", "invalid 'attributes': expected a JSON object: %v", err))
			return
		}
	}
	if c := fields["chunking_strategy"]; c != "" {
		var cj chunkingJSON
		if err := json.Unmarshal([]byte(c), &cj); err != nil {
			s.fail(w, r, invalid("chunking_strategy", "invalid 'chunking_strategy': %v", err))
			return
		}
		in.Chunking = cj.strategy()
	}
	f, err := vs.AddFile(r.Context(), in)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setPollAfter(w, f.Status)
	writeJSON(w, http.StatusOK, s.fileOf(f))
}

// file returns the vector store of the request and its file named by the
// path's file_id.
func (s *server) file(r *http.Request) (*store.VectorStore, *store.File, error) {
	vs, err := s.vectorStore(r)
	if err != nil {
		return nil, nil, err
	}
	f, err := vs.File(r.Context(), r.PathValue("file_id"))
	if err != nil {
		return nil, nil, err
	}
	return vs, f, nil
}

func (s *server) listFiles(w http.ResponseWriter, r *http.Request) {
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
	all, err := vs.Files(r.Context(), o.Status)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, first, last, more, err := paginate(all, o, func(f store.File) (string, int64) { return f.ID, f.CreatedAt })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]fileJSON, len(page))
	for i := range page {
		data[i] = s.fileOf(&page[i])
	}
	writeJSON(w, http.StatusOK, newList(data, first, last, more))
}

func (s *server) getFile(w http.ResponseWriter, r *http.Request) {
	_, f, err := s.file(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setPollAfter(w, f.Status)
	writeJSON(w, http.StatusOK, s.fileOf(f))
}

func (s *server) updateFile(w http.ResponseWriter, r *http.Request) {
	vs, f, err := s.file(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b struct {
		Attributes map[string]any `json:"attributes"`
	}
	if err := decodeJSON(w, r, &b); err != nil {
		s.fail(w, r, err)
		return
	}
	if b.Attributes == nil {
		s.fail(w, r, invalid("attributes", "missing required parameter: 'attributes'"))
		return
	}
	f, err = vs.UpdateFileAttributes(r.Context(), f.ID, b.Attributes)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setPollAfter(w, f.Status)
	writeJSON(w, http.StatusOK, s.fileOf(f))
}

func (s *server) deleteFile(w http.ResponseWriter, r *http.Request) {
	vs, f, err := s.file(r)
	if err == nil {
		err = vs.DeleteFile(r.Context(), f.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted{ID: f.ID, Object: "vector_store.file.deleted", Deleted: true})
}

type contentItem struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type contentPage struct {
	Object   string        `json:"object"` // "vector_store.file_content.page"
	Data     []contentItem `json:"data"`
	HasMore  bool          `json:"has_more"`
	NextPage *string       `json:"next_page"`
}

func (s *server) fileContent(w http.ResponseWriter, r *http.Request) {
	vs, f, err := s.file(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	text, err := vs.FileContent(r.Context(), f.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := contentPage{Object: "vector_store.file_content.page", Data: []contentItem{}}
	if text != "" {
		p.Data = append(p.Data, contentItem{Type: "text", Text: text})
	}
	writeJSON(w, http.StatusOK, p)
}
