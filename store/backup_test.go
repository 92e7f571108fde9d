package store

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/embed"
)

// gatedEmbedder blocks the Embed calls whose texts contain marker until
// ctx is done.
type gatedEmbedder struct {
	embed.Embedder
	marker string
}

func (g *gatedEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	for _, t := range texts {
		if strings.Contains(t, g.marker) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	return g.Embedder.Embed(ctx, texts)
}

func keywordHas(t *testing.T, vs *VectorStore, term, fileID string) bool {
	t.Helper()
	res, err := keywordSearch(context.Background(), vs, term)
	if err != nil {
		t.Fatalf("Search(%q) = %v", term, err)
	}
	for _, r := range res.Data {
		if r.FileID == fileID {
			return true
		}
	}
	return false
}

// TestBackupRestore: a backup taken while a file's bytes wait in a blob
// (its ingestion blocked) and while that file is deleted holds the
// snapshot's state: the restored directory opens, rebuilds its indexes,
// finishes the file from the restored blob, and serves the same files,
// attributes and metadata.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openTest(t, dir, Options{Embedder: &gatedEmbedder{Embedder: embed.NewLocal(0), marker: "slowword"}, EmbedCache: CacheNever})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb", Metadata: map[string]string{"team": "ops"}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "other", ExpiresAfter: &ExpiresAfter{Days: 30}})
	if err != nil {
		t.Fatal(err)
	}
	a := addText(t, vs, "a.md", "# Keys\n\nrotate the quokka keys every ninety days", map[string]any{"team": "sec", "n": 3.0})
	gone := addText(t, vs, "gone.txt", "the wombat file is deleted before the backup", nil)
	if err := vs.DeleteFile(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	o := addText(t, other, "o.txt", "numbat numbers live in the other store", nil)
	big, err := vs.AddFile(ctx, FileInput{Name: "big.txt", Body: strings.NewReader(strings.Repeat("slowword platypus filler text ", inlineMax/25)),
		Attributes: map[string]any{"big": true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db.blobPath(big.ID)); err != nil {
		t.Fatalf("big file has no blob: %v", err)
	}
	// During the snapshot, what a delete committed after the snapshot's
	// transaction began does next: remove the file's blob. The snapshot
	// holds the file, so the blob must make it into the backup. (The hook
	// must not begin a transaction: a writer waiting to remap would block
	// it behind the snapshot's.)
	removed := make(chan struct{})
	db.onSnapshot = func() {
		go func() {
			db.removeBlob(db.blobPath(big.ID))
			close(removed)
		}()
		time.Sleep(100 * time.Millisecond)
	}
	// A staging area left by a backup that died is removed.
	if err := os.MkdirAll(filepath.Join(dir, ".backup-dead", "blobs"), 0o700); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := db.Backup(ctx, &buf); err != nil {
		t.Fatalf("Backup = %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(left) != 0 {
		t.Errorf("Backup left staging areas: %v", left)
	}
	<-removed
	if _, err := os.Stat(db.blobPath(big.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the blob is still there after the backup: %v", err)
	}
	names := tarNames(t, buf.Bytes())
	for _, n := range names {
		if strings.HasPrefix(n, "indexes/") || n == "embeddings.db" {
			t.Errorf("backup holds the derived %s", n)
		}
	}
	if names[0] != backupMagic || names[len(names)-1] != backupManifest || !contains(names, "quarry.db") || !contains(names, "blobs/"+big.ID) {
		t.Errorf("backup entries = %v, want %s first, quarry.db, blobs/%s, %s last", names, backupMagic, big.ID, backupManifest)
	}

	rdir := filepath.Join(t.TempDir(), "restored")
	if err := Restore(ctx, bytes.NewReader(buf.Bytes()), rdir); err != nil {
		t.Fatalf("Restore = %v", err)
	}
	if _, err := os.Stat(filepath.Join(rdir, "indexes")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("restored dir has indexes before Open: %v", err)
	}
	rdb := openTest(t, rdir, Options{})
	defer rdb.Close()
	rvs, err := rdb.VectorStore(vs.ID())
	if err != nil {
		t.Fatal(err)
	}
	rbig, err := rvs.WaitFile(ctx, big.ID)
	if err != nil || rbig.Status != StatusCompleted {
		t.Fatalf("restored big file = %+v, %v; want completed from the restored blob", rbig, err)
	}
	// Its few hundred chunks may take the indexer longer than a search
	// waits for it (under -race).
	deadline := time.Now().Add(2 * time.Minute)
	for !keywordHas(t, rvs, "platypus", big.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("restored big file not found by search")
		}
	}
	if !keywordHas(t, rvs, "quokka", a.ID) {
		t.Errorf("restored file %s not found by search (indexes not rebuilt?)", a.ID)
	}
	if keywordHas(t, rvs, "wombat", gone.ID) {
		t.Errorf("file deleted before the backup came back")
	}
	ra, err := rvs.File(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(ra.Attributes, a.Attributes) {
		t.Errorf("restored attributes = %v, %v; want %v", ra, err, a.Attributes)
	}
	info, err := rvs.Info(ctx)
	if err != nil || info.Metadata["team"] != "ops" || info.FileCounts.Total != 2 {
		t.Errorf("restored store = %+v, %v; want metadata team=ops and 2 files", info, err)
	}
	rother, err := rdb.VectorStore(other.ID())
	if err != nil {
		t.Fatal(err)
	}
	if oi, err := rother.Info(ctx); err != nil || oi.ExpiresAfter == nil || oi.ExpiresAfter.Days != 30 {
		t.Errorf("restored expiry = %+v, %v", oi, err)
	}
	if !keywordHas(t, rother, "numbat", o.ID) {
		t.Errorf("restored second store lost %s", o.ID)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(b))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("backup is not a tar stream: %v", err)
		}
		names = append(names, h.Name)
	}
}

// TestRestoreRejects: a corrupted, truncated or hostile stream and a
// non-empty target fail with a clear error, and leave no directory (nor
// temporary one) behind.
func TestRestoreRejects(t *testing.T) {
	ctx := context.Background()
	db, vs := openWithStore(t, t.TempDir())
	addText(t, vs, "a.txt", "backup me please", nil)
	var buf bytes.Buffer
	if err := db.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	db.Close()
	good := buf.Bytes()
	// Corrupt one byte inside quarry.db's content (not its tar header).
	flipped := bytes.Clone(good)
	at := bytes.Index(flipped, []byte("backup me please"))
	if at < 0 {
		t.Fatal("file text not found in the backup stream")
	}
	flipped[at] ^= 0x20

	hostile := func(name string) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		magic := "quarry backup 1\n"
		tw.WriteHeader(&tar.Header{Name: backupMagic, Mode: 0o600, Size: int64(len(magic)), Typeflag: tar.TypeReg})
		io.WriteString(tw, magic)
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: 4, Typeflag: tar.TypeReg})
		io.WriteString(tw, "evil")
		tw.Close()
		return b.Bytes()
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"flipped byte", flipped, "checksum mismatch"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"no manifest", good[:bytes.LastIndex(good, []byte(backupManifest))], "manifest"},
		{"not a backup", []byte("hello, world"), "backup"},
		{"path traversal", hostile("../evil"), "not a clean relative path"},
		{"derived entry", hostile("indexes/x"), "not something a backup holds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "restored")
			err := Restore(ctx, bytes.NewReader(c.data), dst)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Restore(%s) = %v, want ErrCorrupt mentioning %q", c.name, err, c.want)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("Restore(%s) left %v behind", c.name, entries)
			}
		})
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), []byte("x"), 0o600)
	if err := Restore(ctx, bytes.NewReader(good), full); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Restore into a non-empty dir = %v, want an error", err)
	}
	empty := t.TempDir()
	if err := Restore(ctx, bytes.NewReader(good), empty); err != nil {
		t.Errorf("Restore into an empty dir = %v", err)
	}
}

// TestBackupServesWhileStreaming: while the backup stream waits for a
// slow consumer, the DB takes writes and searches (enough writes to grow
// quarry.db, which a read transaction held open would block), and the
// stream still holds the state of its snapshot only.
func TestBackupServesWhileStreaming(t *testing.T) {
	ctx := context.Background()
	db, vs := openWithStore(t, t.TempDir())
	defer db.Close()
	old := addText(t, vs, "old.txt", "the aardvark file predates the backup", nil)
	pr, pw := io.Pipe()
	backed := make(chan error, 1)
	go func() {
		err := db.Backup(ctx, pw)
		pw.CloseWithError(err)
		backed <- err
	}()
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, pr, 512); err != nil {
		t.Fatal(err)
	}
	// The consumer stalls; the DB must go on serving.
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var added []string
	for i := range 40 {
		f, err := vs.AddFile(octx, FileInput{Name: fmt.Sprintf("n%d.txt", i),
			Body: strings.NewReader(strings.Repeat(fmt.Sprintf("newword%d fills the database ", i), 400))})
		if err != nil {
			t.Fatalf("AddFile during the backup = %v", err)
		}
		added = append(added, f.ID)
	}
	for _, id := range added {
		if f, err := vs.WaitFile(octx, id); err != nil || f.Status != StatusCompleted {
			t.Fatalf("WaitFile during the backup = %+v, %v", f, err)
		}
	}
	if _, err := vs.UpdateFileAttributes(octx, old.ID, map[string]any{"late": true}); err != nil {
		t.Fatalf("UpdateFileAttributes during the backup = %v", err)
	}
	if res, err := keywordSearch(octx, vs, "newword7"); err != nil || len(res.Data) == 0 {
		t.Fatalf("Search during the backup = %v, %v", res, err)
	}
	if _, err := io.Copy(&buf, pr); err != nil {
		t.Fatal(err)
	}
	if err := <-backed; err != nil {
		t.Fatalf("Backup = %v", err)
	}
	rdir := filepath.Join(t.TempDir(), "r")
	if err := Restore(ctx, &buf, rdir); err != nil {
		t.Fatal(err)
	}
	rdb := openTest(t, rdir, Options{})
	defer rdb.Close()
	rvs, err := rdb.VectorStore(vs.ID())
	if err != nil {
		t.Fatal(err)
	}
	all, err := rvs.AllFiles(ctx)
	if err != nil || len(all) != 1 || all[0].ID != old.ID || len(all[0].Attributes) != 0 {
		t.Errorf("restored files = %+v, %v; want only %s, without the later attribute", all, err, old.ID)
	}
}

// backupOp is an acknowledged (or attempted) operation on one file, with
// the ticks at which it began and returned.
type backupOp struct {
	kind       string // add, del, attrs
	file       string
	attrs      map[string]any
	start, end int64
}

// TestBackupUnderWrites backs up while goroutines add, delete and
// re-attribute files, and checks that the restored store holds exactly
// the state of the snapshot's moment: every operation acknowledged before
// the snapshot's transaction began, none begun after it, and for an
// operation in flight at that moment, all of it or nothing.
func TestBackupUnderWrites(t *testing.T) {
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	dir := t.TempDir()
	db := openTest(t, dir, Options{Workers: 2})
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	var tick atomic.Int64
	var snap atomic.Int64
	db.onSnapshot = func() { snap.Store(tick.Add(1)) }

	const writers = 3
	ops := make([][]backupOp, writers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			var mine []string // live files of this writer
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				op := backupOp{kind: "add"}
				if len(mine) > 3 {
					switch rng.IntN(3) {
					case 1:
						op.kind = "del"
					case 2:
						op.kind = "attrs"
					}
				}
				var i int
				if op.kind != "add" {
					i = rng.IntN(len(mine))
					op.file = mine[i]
				}
				op.attrs = map[string]any{"w": float64(w), "n": float64(n)}
				op.start = tick.Add(1)
				var err error
				switch op.kind {
				case "add":
					var f *File
					f, err = vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("w%d-%d.txt", w, n),
						Body: strings.NewReader(fmt.Sprintf("term%dx%d common words", w, n)), Attributes: op.attrs})
					if err == nil {
						op.file = f.ID
						mine = append(mine, f.ID)
					}
				case "del":
					err = vs.DeleteFile(ctx, op.file)
					mine = append(mine[:i], mine[i+1:]...)
				case "attrs":
					_, err = vs.UpdateFileAttributes(ctx, op.file, op.attrs)
				}
				op.end = tick.Add(1)
				if err != nil {
					failed.Store(fmt.Sprintf("%s %s: %v", op.kind, op.file, err))
					return
				}
				ops[w] = append(ops[w], op)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	var buf bytes.Buffer
	if err := db.Backup(ctx, &buf); err != nil {
		t.Fatalf("Backup = %v", err)
	}
	backupDone := tick.Add(1)
	time.Sleep(300 * time.Millisecond) // writes go on after the snapshot
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatalf("a write failed: %v", f)
	}
	s := snap.Load()

	// The state each file must have: after every op that ended before s,
	// and maybe the one (per writer) in flight at s.
	type state struct {
		exists bool
		attrs  map[string]any
	}
	base := map[string]state{}
	inflight := map[string]backupOp{}
	total, before, after, during := 0, 0, 0, 0
	for _, list := range ops {
		for _, op := range list {
			total++
			switch {
			case op.end < s:
				before++
				switch op.kind {
				case "add", "attrs":
					base[op.file] = state{true, op.attrs}
				case "del":
					base[op.file] = state{}
				}
			case op.start < s:
				inflight[op.file] = op
			default:
				after++
				if op.end < backupDone {
					during++
				}
				if _, ok := base[op.file]; !ok && op.kind == "add" {
					base[op.file] = state{} // added after the snapshot: absent
				}
			}
		}
	}
	t.Logf("%d operations: %d acknowledged before the snapshot, %d in flight, %d begun after (%d of them acknowledged while Backup ran)",
		total, before, len(inflight), after, during)
	if before == 0 || after == 0 {
		t.Fatalf("the snapshot did not fall amid the writes (%d before, %d after)", before, after)
	}

	rdir := filepath.Join(t.TempDir(), "restored")
	if err := Restore(ctx, bytes.NewReader(buf.Bytes()), rdir); err != nil {
		t.Fatalf("Restore = %v", err)
	}
	rdb := openTest(t, rdir, Options{})
	defer rdb.Close()
	rvs, err := rdb.VectorStore(vs.ID())
	if err != nil {
		t.Fatal(err)
	}
	all, err := rvs.AllFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]state{}
	for _, f := range all {
		got[f.ID] = state{true, f.Attributes}
	}
	for id, f := range got {
		if _, ok := base[id]; !ok {
			if op, ok := inflight[id]; !ok || !reflect.DeepEqual(f.attrs, op.attrs) {
				t.Errorf("restored file %s (%v) was never added before the snapshot", id, f.attrs)
			}
		}
	}
	for id, want := range base {
		alt := want
		if op, ok := inflight[id]; ok {
			switch op.kind {
			case "attrs":
				alt = state{true, op.attrs}
			case "del":
				alt = state{}
			}
		}
		g := got[id]
		if !reflect.DeepEqual(g, want) && !reflect.DeepEqual(g, alt) {
			t.Errorf("restored file %s = %+v, want %+v (or %+v)", id, g, want, alt)
		}
	}
	// The restored store serves what it holds: ingested, searchable, and
	// deleted files stay gone.
	checked := 0
	for id, want := range base {
		if checked == 20 {
			break
		}
		if _, ok := inflight[id]; ok {
			continue
		}
		checked++
		var term string
		for _, list := range ops {
			for _, op := range list {
				if op.file == id && op.kind == "add" {
					term = fmt.Sprintf("term%.0fx%.0f", op.attrs["w"], op.attrs["n"])
				}
			}
		}
		if want.exists {
			if f, err := rvs.WaitFile(ctx, id); err != nil || f.Status != StatusCompleted {
				t.Errorf("restored file %s = %+v, %v; want completed", id, f, err)
				continue
			}
		}
		if has := keywordHas(t, rvs, term, id); has != want.exists {
			t.Errorf("restored search %q finds %s: %v, want %v", term, id, has, want.exists)
		}
	}
}

// BenchmarkBackup measures Backup and Restore of a DB of 300 small
// completed files (the stream is mostly quarry.db); MB/s is of the stream.
func BenchmarkBackup(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, VectorStoreParams{Name: "kb"})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for i := range 300 {
		text := strings.Repeat(fmt.Sprintf("file %d talks about backups, restores and checksums. ", i), 60)
		f, err := vs.AddFile(ctx, FileInput{Name: fmt.Sprintf("f%d.txt", i), Body: strings.NewReader(text)})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, f.ID)
	}
	for _, id := range ids {
		if _, err := vs.WaitFile(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := db.Backup(ctx, &buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("backup", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if err := db.Backup(ctx, io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("restore", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		root := b.TempDir()
		n := 0
		for b.Loop() {
			n++
			if err := Restore(ctx, bytes.NewReader(data), filepath.Join(root, fmt.Sprint(n))); err != nil {
				b.Fatal(err)
			}
		}
	})
}
