package store

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/quarrylabs/quarry/internal/durable"
)

// A backup is one tar stream:
//
//	QUARRY-BACKUP   first: the line "quarry backup 1"
//	quarry.db       the bbolt source of truth, as of one read transaction
//	blobs/...       every file under the DB directory but quarry.db and the
//	uploads/...     derived or cached ones (see backupSkip), as of that
//	                transaction
//	MANIFEST.json   last: format version and every entry's size and SHA-256
//
// Derived indexes (indexes/: vector graphs and BM25) are left out and
// rebuilt by Open; so is the embedding cache (embeddings.db).
const (
	backupMagic    = "QUARRY-BACKUP"
	backupManifest = "MANIFEST.json"
	backupVersion  = 1
	// maxManifestBytes bounds the manifest a restore reads into memory
	// (about two million files).
	maxManifestBytes = 256 << 20
)

// backupSkip reports whether a top-level name of the DB directory stays
// out of a backup: derived indexes, the embedding cache, temporary files
// and the staging areas of backups (names starting with a dot).
func backupSkip(name string) bool {
	switch name {
	case "quarry.db", "indexes", "embeddings.db", "embeddings.db.lock":
		return true
	}
	return strings.HasPrefix(name, ".")
}

// manifest is MANIFEST.json.
type manifest struct {
	Version   int             `json:"version"`
	CreatedAt int64           `json:"created_at"`
	Files     []manifestEntry `json:"files"`
}

type manifestEntry struct {
	Path   string `json:"path"` // slash-separated, relative to the DB directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// removeBlob removes a file the source of truth no longer references. It
// waits while a Backup takes its snapshot, so that every file a snapshot
// references is still there to be linked (see Backup).
func (db *DB) removeBlob(path string) {
	db.blobGate.RLock()
	defer db.blobGate.RUnlock()
	os.Remove(path)
}

// Backup writes a consistent snapshot of the DB to w, online: the
// database keeps serving reads and writes meanwhile. The snapshot holds
// quarry.db as of one read transaction and the files under the DB
// directory as of that transaction (file bytes not yet ingested, uploads),
// with a manifest of SHA-256 checksums; derived indexes are not included
// and are rebuilt when the restored directory is opened. Use Restore to
// read it back. One Backup runs at a time; a second waits.
//
// The read transaction lasts while quarry.db is copied into a staging
// directory beside it (disk speed; the copy takes as much space as
// quarry.db until Backup returns), not while w consumes the stream: during
// the copy a write that needs the file to grow waits for it (bbolt remaps
// its file only without readers), and reads queue behind that write.
func (db *DB) Backup(ctx context.Context, w io.Writer) error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	db.backupMu.Lock()
	defer db.backupMu.Unlock()
	removeBackupStages(db.dir)
	stage, err := os.MkdirTemp(db.dir, ".backup-")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer os.RemoveAll(stage)

	// The snapshot: the read transaction and hard links to every file
	// present, taken while no file can be removed. A file the transaction
	// references was written before the transaction began and is removed
	// (removeBlob) only after a later commit, so it is linked here.
	db.blobGate.Lock()
	tx, err := db.bolt.Begin(false)
	if err != nil {
		db.blobGate.Unlock()
		return fmt.Errorf("store: backup: %w", err)
	}
	defer tx.Rollback()
	if db.onSnapshot != nil {
		db.onSnapshot()
	}
	files, err := linkFiles(db.dir, stage)
	db.blobGate.Unlock()
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	// quarry.db is copied beside the links first, at disk speed, so that
	// the read transaction does not last as long as the caller takes to
	// consume the stream.
	size, err := copyTx(tx, filepath.Join(stage, "quarry.db"))
	tx.Rollback()
	if err != nil {
		return fmt.Errorf("store: backup: copy quarry.db: %w", err)
	}
	files = append([]stagedFile{{name: "quarry.db", size: size}}, files...)

	tw := tar.NewWriter(w)
	m := manifest{Version: backupVersion, CreatedAt: time.Now().Unix()}
	put := func(name string, size int64, fill func(io.Writer) error) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: time.Unix(m.CreatedAt, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(tw, h)}
		if err := fill(cw); err != nil {
			return err
		}
		if cw.n != size {
			return fmt.Errorf("%s: wrote %d bytes, expected %d", name, cw.n, size)
		}
		if name != backupMagic {
			m.Files = append(m.Files, manifestEntry{Path: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))})
		}
		return nil
	}
	magic := fmt.Sprintf("quarry backup %d\n", backupVersion)
	err = put(backupMagic, int64(len(magic)), func(w io.Writer) error { _, err := io.WriteString(w, magic); return err })
	for _, f := range files {
		if err != nil {
			break
		}
		err = put(f.name, f.size, func(w io.Writer) error {
			r, err := os.Open(filepath.Join(stage, filepath.FromSlash(f.name)))
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(w, ctxReader{ctx, io.LimitReader(r, f.size)})
			return err
		})
	}
	if err == nil {
		var data []byte
		if data, err = json.Marshal(&m); err == nil {
			err = put(backupManifest, int64(len(data)), func(w io.Writer) error { _, err := w.Write(data); return err })
		}
	}
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// removeBackupStages removes the staging areas of backups that died
// midway (Open and Backup call it; one Backup runs at a time).
func removeBackupStages(dir string) {
	if old, err := filepath.Glob(filepath.Join(dir, ".backup-*")); err == nil {
		for _, d := range old {
			os.RemoveAll(d)
		}
	}
}

// copyTx writes the database as of tx to path and returns its size.
func copyTx(tx *bolt.Tx, path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := tx.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

type stagedFile struct {
	name string // slash-separated, relative to the DB directory
	size int64
}

// linkFiles hard-links every regular file under dir that a backup holds
// into stage, keeping its relative path.
func linkFiles(dir, stage string) ([]stagedFile, error) {
	var out []stagedFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile: not referenced by the snapshot
			}
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		if backupSkip(strings.Split(filepath.ToSlash(rel), "/")[0]) || strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(stage, rel), 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if err := os.Link(p, filepath.Join(stage, rel)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("link %s (backups need hard links in the DB directory): %w", rel, err)
		}
		fi, err := os.Stat(filepath.Join(stage, rel))
		if err != nil {
			return err
		}
		out = append(out, stagedFile{name: filepath.ToSlash(rel), size: fi.Size()})
		return nil
	})
	return out, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Restore reads a backup written by DB.Backup from r into dir, which must
// not exist or be empty. Every file's checksum and the database's
// consistency are verified before dir appears: the backup is unpacked
// into a temporary directory beside dir and renamed to dir only once
// verified, so a corrupt or truncated stream returns an error matching
// ErrCorrupt and leaves no dir behind (an empty dir given is left empty).
// Open the restored dir with Open; it rebuilds the derived indexes.
func Restore(ctx context.Context, r io.Reader, dir string) error {
	if err := restore(ctx, r, dir); err != nil {
		return fmt.Errorf("store: restore: %w", err)
	}
	return nil
}

func restore(ctx context.Context, r io.Reader, dir string) error {
	dir = filepath.Clean(dir)
	switch entries, err := os.ReadDir(dir); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("%s is not empty: restore into a new directory", dir)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".restore-")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	got, m, err := unpack(ctx, r, tmp)
	if err != nil {
		return err
	}
	if err := verify(got, m); err != nil {
		return err
	}
	if err := checkBolt(filepath.Join(tmp, "quarry.db")); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return err
	}
	// dir is missing or empty (checked above); an empty one is replaced.
	if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	done = true
	return durable.SyncDir(parent)
}

// corruptBackup is a backup that fails its checks; it matches ErrCorrupt.
type corruptBackup struct{ msg string }

func (e *corruptBackup) Error() string        { return "backup is corrupt: " + e.msg }
func (e *corruptBackup) Is(target error) bool { return target == ErrCorrupt }

func corruptf(format string, a ...any) error {
	return &corruptBackup{fmt.Sprintf(format, a...)}
}

// unpack writes the backup's files under tmp and returns what it wrote
// (path → size and SHA-256) and the manifest.
func unpack(ctx context.Context, r io.Reader, tmp string) (map[string]manifestEntry, *manifest, error) {
	tr := tar.NewReader(r)
	got := map[string]manifestEntry{}
	var m *manifest
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, corruptf("reading entry %d: %v (truncated or not a quarry backup)", i+1, err)
		}
		if m != nil {
			return nil, nil, corruptf("entry %q after the manifest", hdr.Name)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, nil, corruptf("entry %q is not a regular file", hdr.Name)
		}
		if hdr.Size < 0 {
			return nil, nil, corruptf("entry %q has size %d", hdr.Name, hdr.Size)
		}
		switch {
		case i == 0:
			if hdr.Name != backupMagic || hdr.Size > 64 {
				return nil, nil, corruptf("not a quarry backup (first entry %q)", hdr.Name)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, nil, corruptf("reading %s: %v", backupMagic, err)
			}
			if want := fmt.Sprintf("quarry backup %d\n", backupVersion); string(b) != want {
				return nil, nil, corruptf("unsupported backup format %q, this build reads %q", strings.TrimSpace(string(b)), strings.TrimSpace(want))
			}
			continue
		case hdr.Name == backupManifest:
			if hdr.Size > maxManifestBytes {
				return nil, nil, corruptf("manifest of %d bytes, at most %d", hdr.Size, maxManifestBytes)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, nil, corruptf("reading the manifest: %v", err)
			}
			m = &manifest{}
			if err := json.Unmarshal(b, m); err != nil {
				return nil, nil, corruptf("manifest: %v", err)
			}
			if m.Version != backupVersion {
				return nil, nil, corruptf("manifest version %d, this build reads %d", m.Version, backupVersion)
			}
			continue
		}
		name, err := backupPath(hdr.Name)
		if err != nil {
			return nil, nil, err
		}
		if _, dup := got[name]; dup {
			return nil, nil, corruptf("entry %q appears twice", name)
		}
		dst := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return nil, nil, err
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, nil, err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, tr})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, tar.ErrHeader) {
				return nil, nil, corruptf("reading %s: %v (truncated)", name, err)
			}
			return nil, nil, err
		}
		got[name] = manifestEntry{Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}
	}
	if m == nil {
		return nil, nil, corruptf("no manifest (truncated or not a quarry backup)")
	}
	return got, m, nil
}

// backupPath checks an entry's name: a clean relative path under the DB
// directory that a backup may hold.
func backupPath(name string) (string, error) {
	if name == "" || strings.Contains(name, `\`) || path.IsAbs(name) || path.Clean(name) != name || name == "." ||
		name == ".." || strings.HasPrefix(name, "../") {
		return "", corruptf("entry name %q is not a clean relative path", name)
	}
	parts := strings.Split(name, "/")
	if name != "quarry.db" && backupSkip(parts[0]) {
		return "", corruptf("entry %q is not something a backup holds", name)
	}
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			return "", corruptf("entry name %q has a hidden component", name)
		}
	}
	return name, nil
}

// verify compares what was unpacked with the manifest.
func verify(got map[string]manifestEntry, m *manifest) error {
	want := map[string]bool{}
	for _, e := range m.Files {
		if want[e.Path] {
			return corruptf("manifest lists %q twice", e.Path)
		}
		want[e.Path] = true
		g, ok := got[e.Path]
		switch {
		case !ok:
			return corruptf("%s is in the manifest but not in the backup", e.Path)
		case g.Size != e.Size:
			return corruptf("%s has %d bytes, the manifest says %d", e.Path, g.Size, e.Size)
		case g.SHA256 != e.SHA256:
			return corruptf("%s: checksum mismatch (sha256 %s, the manifest says %s)", e.Path, g.SHA256, e.SHA256)
		}
	}
	for p := range got {
		if !want[p] {
			return corruptf("%s is in the backup but not in the manifest", p)
		}
	}
	if !want["quarry.db"] {
		return corruptf("no quarry.db")
	}
	return nil
}

// checkBolt opens the restored database read-only and checks its pages
// and format version.
func checkBolt(p string) error {
	bdb, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return corruptf("quarry.db: %v", err)
	}
	defer bdb.Close()
	return bdb.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drained: Check reads tx until it closes the channel
			if first == nil {
				first = corruptf("quarry.db: %v", err)
			}
		}
		if first != nil {
			return first
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return corruptf("quarry.db holds no quarry database")
		}
		if v := meta.Get(keyVersion); string(v) != formatVersion {
			return corruptf("quarry.db has format version %q, this build reads %q", v, formatVersion)
		}
		return nil
	})
}

// syncTree fsyncs every file and directory under root.
func syncTree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
