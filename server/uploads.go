package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/quarrylabs/quarry/internal/durable"
)

// indexVersion is the format version of uploads/index.json.
const indexVersion = 1

// upload is an uploaded file, OpenAI's "file" object.
type upload struct {
	ID        string `json:"id"`
	Object    string `json:"object"` // "file"
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"` // always "processed"
	// ExpiresAt is when the file expires (expires_after), or nil.
	ExpiresAt *int64 `json:"expires_at"`
}

// batch is a file batch: which files it added to which vector store.
type batch struct {
	ID            string   `json:"id"`
	VectorStoreID string   `json:"vector_store_id"`
	CreatedAt     int64    `json:"created_at"`
	FileIDs       []string `json:"file_ids"` // as the client knows them
}

// uploadIndex is the content of uploads/index.json.
type uploadIndex struct {
	Version int                `json:"version"`
	Uploads map[string]*upload `json:"uploads"`
	// Links maps an upload id to, per vector store id, the store's file id
	// of the upload's copy in that vector store.
	Links   map[string]map[string]string `json:"links"`
	Batches map[string]*batch            `json:"batches"`
}

// uploads is the server's file area: db.Dir()/uploads/<file_id> holds an
// upload's bytes and index.json the records, links and batches. It is safe
// for concurrent use.
type uploads struct {
	dir string

	mu sync.Mutex // guards the fields below
	// idx is nil until loaded.
	idx *uploadIndex
	// rev maps vector store id → store file id → upload id, the inverse of
	// idx.Links.
	rev map[string]map[string]string
}

func newUploads(dbDir string) *uploads { return &uploads{dir: filepath.Join(dbDir, "uploads")} }

func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// loadLocked reads the index on first use.
// REQUIRES: u.mu held.
func (u *uploads) loadLocked() error {
	if u.idx != nil {
		return nil
	}
	idx := &uploadIndex{Version: indexVersion}
	data, err := os.ReadFile(filepath.Join(u.dir, "index.json"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("server: read upload index: %w", err)
	default:
		if err := json.Unmarshal(data, idx); err != nil {
			return fmt.Errorf("server: upload index %s is corrupt: %w", filepath.Join(u.dir, "index.json"), err)
		}
		if idx.Version != indexVersion {
			return fmt.Errorf("server: upload index has version %d, want %d", idx.Version, indexVersion)
		}
	}
	if idx.Uploads == nil {
		idx.Uploads = map[string]*upload{}
	}
	if idx.Links == nil {
		idx.Links = map[string]map[string]string{}
	}
	if idx.Batches == nil {
		idx.Batches = map[string]*batch{}
	}
	u.rev = map[string]map[string]string{}
	for up, m := range idx.Links {
		for vs, f := range m {
			u.revAddLocked(vs, f, up)
		}
	}
	u.idx = idx
	return nil
}

func (u *uploads) revAddLocked(vsID, storeID, uploadID string) {
	if u.rev[vsID] == nil {
		u.rev[vsID] = map[string]string{}
	}
	u.rev[vsID][storeID] = uploadID
}

// saveLocked writes the index durably: temp file, fsync, rename, fsync dir.
// REQUIRES: u.mu held, index loaded.
func (u *uploads) saveLocked() error {
	data, err := json.Marshal(u.idx)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := durable.WriteFile(filepath.Join(u.dir, "index.json"), func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// errTooLarge reports an upload over the limit.
var errTooLarge = errors.New("server: file too large")

// create writes body (at most max bytes) as a new upload's bytes; commit
// records it.
func (u *uploads) create(filename, purpose string, body io.Reader, max int64) (*upload, error) {
	up := &upload{ID: newID("file-"), Object: "file", CreatedAt: time.Now().Unix(),
		Filename: filename, Purpose: purpose, Status: "processed"}
	err := durable.WriteFile(filepath.Join(u.dir, up.ID), func(w io.Writer) error {
		n, err := io.Copy(w, io.LimitReader(body, max+1))
		if err == nil && n > max {
			err = errTooLarge
		}
		up.Bytes = n
		return err
	})
	if errors.Is(err, errTooLarge) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return up, nil
}

// commit records an upload made by create; discard drops it instead.
func (u *uploads) commit(up *upload) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return err
	}
	c := *up
	u.idx.Uploads[up.ID] = &c
	if err := u.saveLocked(); err != nil {
		delete(u.idx.Uploads, up.ID)
		return err
	}
	return nil
}

// discard removes the bytes of an upload that was never committed.
func (u *uploads) discard(id string) { os.Remove(filepath.Join(u.dir, id)) }

// get returns a copy of the upload with id, or nil.
func (u *uploads) get(id string) (*upload, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return nil, err
	}
	up, ok := u.idx.Uploads[id]
	if !ok {
		return nil, nil
	}
	c := *up
	return &c, nil
}

// all returns copies of every upload, in no particular order.
func (u *uploads) all() ([]upload, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return nil, err
	}
	out := make([]upload, 0, len(u.idx.Uploads))
	for _, up := range u.idx.Uploads {
		out = append(out, *up)
	}
	return out, nil
}

// open opens an upload's bytes; the caller closes the file.
func (u *uploads) open(id string) (*os.File, error) {
	return os.Open(filepath.Join(u.dir, id))
}

// remove deletes the upload and returns its links (vector store id →
// store file id), which the caller deletes from the store.
func (u *uploads) remove(id string) (links map[string]string, ok bool, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return nil, false, err
	}
	if _, ok := u.idx.Uploads[id]; !ok {
		return nil, false, nil
	}
	links = u.idx.Links[id]
	delete(u.idx.Uploads, id)
	delete(u.idx.Links, id)
	for vs, f := range links {
		delete(u.rev[vs], f)
	}
	if err := u.saveLocked(); err != nil {
		return nil, false, err
	}
	if err := os.Remove(filepath.Join(u.dir, id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return links, true, fmt.Errorf("server: %w", err)
	}
	return links, true, nil
}

// link records that the upload's copy in vector store vsID is the store's
// file storeID.
func (u *uploads) link(uploadID, vsID, storeID string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return err
	}
	if u.idx.Links[uploadID] == nil {
		u.idx.Links[uploadID] = map[string]string{}
	}
	u.idx.Links[uploadID][vsID] = storeID
	u.revAddLocked(vsID, storeID, uploadID)
	return u.saveLocked()
}

// linked returns the store's file id of the upload in vsID, or "".
func (u *uploads) linked(uploadID, vsID string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return "", err
	}
	return u.idx.Links[uploadID][vsID], nil
}

// unlink forgets the store file storeID of vsID, or every link and batch of
// vsID when storeID is empty.
func (u *uploads) unlink(vsID, storeID string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return err
	}
	changed := false
	for up, m := range u.idx.Links {
		if f, ok := m[vsID]; ok && (storeID == "" || f == storeID) {
			delete(m, vsID)
			if len(m) == 0 {
				delete(u.idx.Links, up)
			}
			changed = true
		}
	}
	if storeID == "" {
		delete(u.rev, vsID)
		for id, b := range u.idx.Batches {
			if b.VectorStoreID == vsID {
				delete(u.idx.Batches, id)
				changed = true
			}
		}
	} else {
		delete(u.rev[vsID], storeID)
	}
	if !changed {
		return nil
	}
	return u.saveLocked()
}

// storeID translates a file id a client sent for vector store vsID into
// the store's file id: an upload's id maps to its copy; any other id is
// taken as the store's own.
func (u *uploads) storeID(vsID, id string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.loadLocked() != nil {
		return id
	}
	if f, ok := u.idx.Links[id][vsID]; ok {
		return f
	}
	return id
}

// wireID translates a store file id into the id clients know it by.
func (u *uploads) wireID(vsID, storeID string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.loadLocked() != nil {
		return storeID
	}
	if up, ok := u.rev[vsID][storeID]; ok {
		return up
	}
	return storeID
}

// addBatch records b.
func (u *uploads) addBatch(b *batch) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return err
	}
	u.idx.Batches[b.ID] = b
	return u.saveLocked()
}

// getBatch returns a copy of the batch of vsID with id, or nil.
func (u *uploads) getBatch(vsID, id string) (*batch, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.loadLocked(); err != nil {
		return nil, err
	}
	b, ok := u.idx.Batches[id]
	if !ok || b.VectorStoreID != vsID {
		return nil, nil
	}
	c := *b
	c.FileIDs = slices.Clone(b.FileIDs)
	return &c, nil
}
