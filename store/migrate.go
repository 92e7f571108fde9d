package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/internal/durable"
)

// keyUploadsMigrated marks a DB whose server-side upload index (see
// migrateUploads) was migrated.
var keyUploadsMigrated = []byte("uploads_migrated")

// legacyIndex is uploads/index.json as quarry's server kept it before the
// store owned uploads (format version 1).
type legacyIndex struct {
	Version int `json:"version"`
	Uploads map[string]struct {
		ID        string `json:"id"`
		Bytes     int64  `json:"bytes"`
		CreatedAt int64  `json:"created_at"`
		Filename  string `json:"filename"`
		Purpose   string `json:"purpose"`
	} `json:"uploads"`
	// Links: upload id -> vector store id -> the id of the upload's copy
	// in that vector store.
	Links   map[string]map[string]string `json:"links"`
	Batches map[string]struct {
		ID            string   `json:"id"`
		VectorStoreID string   `json:"vector_store_id"`
		CreatedAt     int64    `json:"created_at"`
		FileIDs       []string `json:"file_ids"`
	} `json:"batches"`
}

// migrateUploads moves what the server used to keep in uploads/ (upload
// records and bytes, the links from an upload to its copy in each vector
// store, file batches) into quarry.db, once: the uploads become Uploads,
// each copy becomes the attached vector-store file of the upload's id
// (its chunks kept, its own bytes dropped), and the batches batch records.
// The upload bytes are hard-linked (or copied) into blobs/ before the one
// transaction that records everything and marks the migration done; the
// uploads directory is removed only after it, so a crash at any point
// leaves either the old layout whole or the new one.
func (db *DB) migrateUploads() error {
	dir := filepath.Join(db.dir, "uploads")
	var done bool
	db.bolt.View(func(tx *bolt.Tx) error {
		done = tx.Bucket(bucketMeta).Get(keyUploadsMigrated) != nil
		return nil
	})
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if done || errors.Is(err, fs.ErrNotExist) {
		if done {
			os.RemoveAll(dir)
		}
		return nil
	}
	fail := func(err error) error { return fmt.Errorf("store: migrate %s: %w", dir, err) }
	if err != nil {
		return fail(err)
	}
	var idx legacyIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return fail(fmt.Errorf("%w: index.json: %v", ErrCorrupt, err))
	}
	if idx.Version != 1 {
		return fail(fmt.Errorf("%w: index.json has version %d, this build migrates 1", ErrCorrupt, idx.Version))
	}
	type blob struct {
		sha string
		content
	}
	blobs := map[string]blob{}
	for id := range idx.Uploads {
		path := filepath.Join(dir, id)
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			db.log.Warn("quarry: migrating uploads: an upload's bytes are missing; it is dropped", "file", id)
			continue
		}
		if err != nil {
			return fail(err)
		}
		h := sha256.New()
		head, err := io.ReadAll(io.LimitReader(f, uploadInlineMax+1))
		h.Write(head)
		var rest int64
		if err == nil {
			rest, err = io.Copy(h, f)
		}
		f.Close()
		if err != nil {
			return fail(err)
		}
		b := blob{sha: hex.EncodeToString(h.Sum(nil)), content: content{size: int64(len(head)) + rest}}
		if len(head) <= uploadInlineMax {
			b.inline = append([]byte{}, head...) // inline, even when empty
		} else if err := linkOrCopy(path, db.blobPath(b.sha)); err != nil {
			return fail(err)
		}
		blobs[id] = b
	}
	if err := durable.SyncDir(filepath.Join(db.dir, "blobs")); err != nil {
		return fail(err)
	}
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		for id, u := range idx.Uploads {
			b, ok := blobs[id]
			if !ok {
				continue
			}
			if _, err := addContentRef(tx.Bucket(bucketContent), b.sha, b.content); err != nil {
				return err
			}
			up := Upload{ID: id, Filename: u.Filename, Purpose: u.Purpose, Bytes: b.size, CreatedAt: u.CreatedAt,
				Status: "processed", SHA256: b.sha}
			if err := putJSON(tx.Bucket(bucketUploads), []byte(id), &up); err != nil {
				return err
			}
		}
		// Per vector store: copy id -> upload id.
		renames := map[string]map[string]string{}
		for upID, m := range idx.Links {
			if _, ok := blobs[upID]; !ok {
				continue
			}
			for vsID, copyID := range m {
				if renames[vsID] == nil {
					renames[vsID] = map[string]string{}
				}
				renames[vsID][copyID] = upID
			}
		}
		for vsID, m := range renames {
			b, ok := buckets(tx, vsID)
			if !ok {
				continue
			}
			if err := renameFiles(tx, b, vsID, m); err != nil {
				return fmt.Errorf("vector store %s: %w", vsID, err)
			}
		}
		for id, bt := range idx.Batches {
			b, ok := buckets(tx, bt.VectorStoreID)
			if !ok {
				continue
			}
			r := batchRecord{ID: id, CreatedAt: bt.CreatedAt}
			for _, fid := range bt.FileIDs {
				if up, ok := renames[bt.VectorStoreID][fid]; ok {
					fid = up // a store id the client knew
				}
				r.FileIDs = append(r.FileIDs, fid)
			}
			bb, err := b.root.CreateBucketIfNotExists(bucketBatches)
			if err != nil {
				return err
			}
			if err := putJSON(bb, []byte(id), &r); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keyUploadsMigrated, []byte("1"))
	})
	if err != nil {
		return fail(err)
	}
	db.log.Info("quarry: migrated the server's uploads into quarry.db", "uploads", len(blobs), "batches", len(idx.Batches))
	os.RemoveAll(dir)
	return nil
}

// renameFiles gives the vector store's files in m (old id -> new id) their
// new id and marks them attached: records, chunks, texts and the log
// entries the derived indexes have yet to apply. An in-progress file's
// own bytes are dropped: it is ingested from its upload's.
func renameFiles(tx *bolt.Tx, b vsBuckets, vsID string, m map[string]string) error {
	renamed := map[string]string{}
	for old, id := range m {
		f, err := b.file(old)
		if err != nil {
			return err
		}
		if f == nil {
			continue // deleted since
		}
		if old != id {
			if b.files.Get([]byte(id)) != nil {
				continue
			}
			for _, c := range f.ChunkIDs {
				v := b.chunks.Get(u64key(c))
				if v == nil {
					continue
				}
				cr, err := decodeChunk(v)
				if err != nil {
					return err
				}
				cr.FileID = id
				if err := putJSON(b.chunks, u64key(c), cr); err != nil {
					return err
				}
			}
			if t := b.texts.Get([]byte(old)); t != nil {
				if err := b.texts.Put([]byte(id), bytes.Clone(t)); err != nil {
					return err
				}
			}
			if err := errors.Join(b.texts.Delete([]byte(old)), b.files.Delete([]byte(old))); err != nil {
				return err
			}
			renamed[old] = id
		}
		if err := b.pending.Delete([]byte(old)); err != nil {
			return err
		}
		f.ID, f.Attached = id, true
		if err := putJSON(b.files, []byte(id), f); err != nil {
			return err
		}
		if err := tx.Bucket(bucketLinks).Put(linkKey(id, vsID), []byte{}); err != nil {
			return err
		}
	}
	if len(renamed) == 0 {
		return nil
	}
	type change struct {
		k []byte
		e logEntry
	}
	var changes []change
	err := b.log.ForEach(func(k, v []byte) error {
		var e logEntry
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%w: log entry: %v", ErrCorrupt, err)
		}
		if id, ok := renamed[e.FileID]; ok {
			e.FileID = id
			changes = append(changes, change{bytes.Clone(k), e})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range changes {
		if err := putJSON(b.log, c.k, c.e); err != nil {
			return err
		}
	}
	return nil
}

// linkOrCopy makes dst hold src's bytes: a hard link, or a durable copy
// where links are not supported. An existing dst (identical content) is
// kept.
func linkOrCopy(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return durable.WriteFile(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
