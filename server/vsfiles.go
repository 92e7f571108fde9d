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
// chunking_strategy, before anything is created.
func (s *server) checkItems(items []batchItem, param string) error {
	for _, it := range items {
		if it.FileID == "" {
			return invalid(param, "invalid '%s': a file_id is empty", param)
		}
		if err := it.ChunkingStrategy.strategy().Validate(); err != nil {
			return invalid("chunking_strategy", "%s", strings.ReplaceAll(err.Error(), chunk.ErrInvalidStrategy.Error()+": ", ""))
		}
		up, err := s.uploads.get(it.FileID)
		if err != nil {
			return err
		}
		if up == nil {
			return invalid(param, "no such file: %q (upload it with POST /v1/files first)", it.FileID)
		}
	}
	return nil
}

// attach adds an upload to vs and records the link, or returns the upload's
// existing copy in vs.
func (s *server) attach(r *http.Request, vs *store.VectorStore, it batchItem) (*store.File, error) {
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	up, err := s.uploads.get(it.FileID)
	if err != nil {
		return nil, err
	}
	if up == nil {
		return nil, invalid("file_id", "no such file: %q (upload it with POST /v1/files first)", it.FileID)
	}
	if prev, err := s.uploads.linked(up.ID, vs.ID()); err != nil {
		return nil, err
	} else if prev != "" {
		f, err := vs.File(r.Context(), prev)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	body, err := s.uploads.open(up.ID)
	if err != nil {
		return nil, fmt.Errorf("server: open upload %s: %w", up.ID, err)
	}
	defer body.Close()
	f, err := vs.AddFile(r.Context(), store.FileInput{Name: up.Filename, Body: body,
		Attributes: it.Attributes, Chunking: it.ChunkingStrategy.strategy()})
	if err != nil {
		return nil, err
	}
	if err := s.uploads.link(up.ID, vs.ID(), f.ID); err != nil {
		return nil, err
	}
	return f, nil
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
	f, err := s.attach(r, vs, it)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	setPollAfter(w, f.Status)
	writeJSON(w, http.StatusOK, s.fileOf(f))
}

// createFileMultipart is quarry's extension: the file's bytes come in the
// request, with optional "attributes" and "chunking_strategy" fields holding
// JSON. The file is known by the store's id; it is not an upload.
func (s *server) createFileMultipart(w http.ResponseWriter, r *http.Request, vs *store.VectorStore) {
	if err := os.MkdirAll(s.uploads.dir, 0o700); err != nil {
		s.fail(w, r, err)
		return
	}
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
		if spool, err = os.CreateTemp(s.uploads.dir, ".spool-*"); err != nil {
			return fmt.Errorf("server: %w", err)
		}
		name = fn
		n, err := io.Copy(spool, io.LimitReader(body, s.opts.MaxUploadBytes+1))
		if err != nil {
			return err
		}
		if n > s.opts.MaxUploadBytes {
			return errTooLarge
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
// path's file_id, which may be an upload's id.
func (s *server) file(r *http.Request) (*store.VectorStore, *store.File, error) {
	vs, err := s.vectorStore(r)
	if err != nil {
		return nil, nil, err
	}
	f, err := vs.File(r.Context(), s.uploads.storeID(vs.ID(), r.PathValue("file_id")))
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
	if o.After != "" {
		o.After = s.uploads.storeID(vs.ID(), o.After)
	}
	if o.Before != "" {
		o.Before = s.uploads.storeID(vs.ID(), o.Before)
	}
	p, err := vs.Files(r.Context(), o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]fileJSON, len(p.Data))
	for i := range p.Data {
		data[i] = s.fileOf(&p.Data[i])
	}
	first, last := "", ""
	if len(data) > 0 {
		first, last = data[0].ID, data[len(data)-1].ID
	}
	writeJSON(w, http.StatusOK, newList(data, first, last, p.HasMore))
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
	wire := s.uploads.wireID(vs.ID(), f.ID)
	if err := s.uploads.unlink(vs.ID(), f.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted{ID: wire, Object: "vector_store.file.deleted", Deleted: true})
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
