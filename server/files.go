package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	case errors.Is(err, errTooLarge):
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
	var up *upload
	fields, err := s.readMultipart(w, r, func(name string, body io.Reader) error {
		var err error
		up, err = s.uploads.create(name, "", body, s.opts.MaxUploadBytes)
		if errors.Is(err, errTooLarge) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "file_too_large", Param: ptr("file"),
				Message: fmt.Sprintf("the file is larger than %d bytes", s.opts.MaxUploadBytes)}
		}
		return err
	})
	if err == nil && !slices.Contains(validPurposes, fields["purpose"]) {
		err = invalid("purpose", "invalid 'purpose': expected one of %s, got %q", strings.Join(validPurposes, ", "), fields["purpose"])
	}
	if err == nil {
		up.ExpiresAt, err = fileExpiry(fields, up.CreatedAt) // expiry.go
	}
	if err != nil {
		if up != nil {
			s.uploads.discard(up.ID)
		}
		s.fail(w, r, err)
		return
	}
	// The purpose may come after the file; record the upload now.
	up.Purpose = fields["purpose"]
	if err := s.uploads.commit(up); err != nil {
		s.uploads.discard(up.ID)
		s.fail(w, r, err)
		return
	}
	if up.ExpiresAt != nil {
		s.expiresSoon(*up.ExpiresAt)
	}
	writeJSON(w, http.StatusOK, up)
}

func (s *server) listUploads(w http.ResponseWriter, r *http.Request) {
	o, err := listParams(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all, err := s.uploads.all()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p := r.URL.Query().Get("purpose"); p != "" {
		all = slices.DeleteFunc(all, func(u upload) bool { return u.Purpose != p })
	}
	page, first, last, more, err := paginate(all, o, func(u upload) (string, int64) { return u.ID, u.CreatedAt })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newList(page, first, last, more))
}

func (s *server) getUpload(w http.ResponseWriter, r *http.Request) {
	up, err := s.uploads.get(r.PathValue("file_id"))
	if err == nil && up == nil {
		err = notFound("no such file: %q", r.PathValue("file_id"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, up)
}

func (s *server) deleteUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("file_id")
	// As OpenAI: deleting a file removes it from every vector store.
	ok, err := s.removeUpload(r.Context(), id)
	if err == nil && !ok {
		err = notFound("no such file: %q", id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, deleted{ID: id, Object: "file", Deleted: true})
}

func (s *server) uploadContent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("file_id")
	up, err := s.uploads.get(id)
	if err == nil && up == nil {
		err = notFound("no such file: %q", id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.uploads.open(id)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = notFound("no such file: %q", id)
		}
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
