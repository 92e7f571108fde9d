package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// maxFieldBytes bounds a non-file field of a multipart form.
const maxFieldBytes = 64 << 10

// readMultipart streams a multipart/form-data body: the part named "file"
// goes to sink with its file name, the other fields are returned. At most
// maxFormFields other fields of at most maxFieldBytes each and
// maxFormBytes in all are read; a malformed or truncated body is 400 and a
// failure to read the body 400 or 408, never a server error.
func (s *server) readMultipart(w http.ResponseWriter, r *http.Request, sink func(name string, body io.Reader) error) (map[string]string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, invalid("", "expected a multipart/form-data body with a 'file' field")
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, invalid("", "invalid multipart body: %v", err)
	}
	fields := map[string]string{}
	gotFile := false
	nFields, formBytes := 0, 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, multipartError(err)
		}
		name := p.FormName()
		if name == "file" && !gotFile {
			gotFile = true
			fn := filepath.Base(strings.ReplaceAll(p.FileName(), `\`, "/"))
			if fn == "." || fn == "/" || fn == "" {
				fn = "upload"
			}
			if err := sink(fn, clientReader{p}); err != nil {
				return nil, multipartError(err)
			}
			continue
		}
		if nFields++; nFields > maxFormFields {
			return nil, invalid("", "invalid multipart body: more than %d fields besides 'file'", maxFormFields)
		}
		v, err := io.ReadAll(io.LimitReader(clientReader{p}, maxFieldBytes+1))
		if err != nil {
			return nil, multipartError(err)
		}
		if len(v) > maxFieldBytes {
			return nil, invalid(name, "field %q is longer than %d bytes", name, maxFieldBytes)
		}
		if formBytes += len(v); formBytes > maxFormBytes {
			return nil, invalid("", "invalid multipart body: the fields besides 'file' hold more than %d bytes", maxFormBytes)
		}
		fields[name] = string(v)
	}
	if !gotFile {
		return nil, invalid("file", "missing required field 'file'")
	}
	return fields, nil
}

// clientReader marks the errors of reading a request's body (a truncated
// or malformed multipart part, a stalled client) as the client's, so that
// they are told apart from the server's own failures to store the bytes.
type clientReader struct{ r io.Reader }

func (c clientReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if err != nil && err != io.EOF {
		var be *bodyError
		var mbe *http.MaxBytesError
		if !errors.As(err, &be) && !errors.As(err, &mbe) {
			err = &bodyError{err}
		}
	}
	return n, err
}

func multipartError(err error) error {
	var mbe *http.MaxBytesError
	var be *bodyError
	switch {
	case errors.As(err, &mbe), errors.Is(err, errBodyTimeout):
		return err
	case errors.As(err, &be):
		return invalid("", "invalid multipart body: %v", be.err)
	case errors.Is(err, store.ErrTooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "file_too_large", Param: ptr("file"),
			Message: "the file is too large"}
	case errors.Is(err, store.ErrInvalid):
		return err
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	if strings.HasPrefix(err.Error(), "server: ") || errors.Is(err, store.ErrNoSpace) {
		return err
	}
	return invalid("", "invalid multipart body: %v", err)
}

func ptr[T any](v T) *T { return &v }

// validPurposes are the upload purposes accepted; only retrieval uses them.
var validPurposes = []string{"assistants", "user_data"}

func (s *server) createUpload(w http.ResponseWriter, r *http.Request) {
	var staged *store.StagedFile
	defer func() {
		if staged != nil {
			staged.Discard()
		}
	}()
	fields, err := s.readMultipart(w, r, func(name string, body io.Reader) error {
		var err error
		staged, err = s.db.StageFile(r.Context(), store.UploadParams{Filename: name, Body: body, MaxBytes: s.opts.MaxUploadBytes})
		if errors.Is(err, store.ErrTooLarge) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "file_too_large", Param: ptr("file"),
				Message: fmt.Sprintf("the file is larger than %d bytes", s.opts.MaxUploadBytes)}
		}
		return err
	})
	if err == nil && !slices.Contains(validPurposes, fields["purpose"]) {
		err = invalid("purpose", "invalid 'purpose': expected one of %s, got %q", strings.Join(validPurposes, ", "), fields["purpose"])
	}
	var expiresAfter int64
	if err == nil {
		expiresAfter, err = fileExpiry(fields) // expiry.go
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The purpose may come after the file: the bytes are staged, and
	// recorded now.
	up, err := staged.Commit(r.Context(), store.CommitParams{Purpose: fields["purpose"], ExpiresAfter: time.Duration(expiresAfter) * time.Second})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, uploadOf(up))
}

func (s *server) listUploads(w http.ResponseWriter, r *http.Request) {
	o, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all, err := s.db.Uploads(r.Context(), r.URL.Query().Get("purpose"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page, first, last, more, err := paginate(all, o, func(u store.Upload) (string, int64) { return u.ID, u.CreatedAt })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	data := make([]uploadJSON, len(page))
	for i := range page {
		data[i] = uploadOf(&page[i])
	}
	writeJSON(w, http.StatusOK, newList(data, first, last, more))
}

func (s *server) getUpload(w http.ResponseWriter, r *http.Request) {
	up, err := s.db.Upload(r.Context(), r.PathValue("file_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, uploadOf(up))
}

// deleteUpload deletes the file and, as OpenAI does, removes it from every
// vector store, in one transaction of the store.
func (s *server) deleteUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("file_id")
	if err := s.db.DeleteUpload(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted{ID: id, Object: "file", Deleted: true})
}

func (s *server) uploadContent(w http.ResponseWriter, r *http.Request) {
	up, f, err := s.db.OpenUpload(r.Context(), r.PathValue("file_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": up.Filename}))
	http.ServeContent(w, r, "", timeOf(up.CreatedAt), f)
}

// deleted is the answer to a DELETE.
type deleted struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}
