package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/server"
	"github.com/quarrylabs/quarry/store"
)

// TestBackupRestoreCLI: quarry backup writes a backup of a store, quarry
// restore makes a new store of it that ls and search read; a store that a
// running server holds is backed up through --server; a corrupt backup or
// a non-empty DIR is an error that restores nothing.
func TestBackupRestoreCLI(t *testing.T) {
	root := t.TempDir()
	st, docs := filepath.Join(root, "st"), filepath.Join(root, "docs")
	writeFiles(t, docs, map[string]string{"a.md": "# Otters\n\nSea otters hold hands while they sleep.\n", "b.txt": "Narwhal tusks are teeth.\n"})
	if _, errOut, err := quarry(t, "index", "--store", st, docs); err != nil {
		t.Fatalf("index: %v %s", err, errOut)
	}
	bk := filepath.Join(root, "kb.tar")
	out, errOut, err := quarry(t, "backup", "--store", st, bk)
	if err != nil || !strings.Contains(out, "backed up to "+bk) {
		t.Fatalf("backup: %v\n%s%s", err, out, errOut)
	}
	dst := filepath.Join(root, "restored")
	out, errOut, err = quarry(t, "restore", bk, dst)
	if err != nil || !strings.Contains(out, "restored "+bk+" into "+dst) {
		t.Fatalf("restore: %v\n%s%s", err, out, errOut)
	}
	out, _, _ = quarry(t, "ls", "--store", dst)
	if strings.Count(out, "completed") != 2 || !strings.Contains(out, "a.md") {
		t.Errorf("ls of the restored store:\n%s", out)
	}
	if out, _, code := quarryCode(t, "search", "--store", dst, "sea otters"); code != 0 || !strings.Contains(out, "a.md") {
		t.Errorf("search of the restored store: exit %d\n%s", code, out)
	}

	// Errors: one line, exit 2, nothing restored.
	if _, errOut, code := quarryCode(t, "restore", bk, dst); code != 2 || !strings.Contains(errOut, "not empty") {
		t.Errorf("restore into a non-empty dir: exit %d %q", code, errOut)
	}
	data, err := os.ReadFile(bk)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), "Sea otters")
	if i < 0 {
		t.Fatal("file text not in the backup")
	}
	data[i] ^= 0x20
	bad := filepath.Join(root, "bad.tar")
	os.WriteFile(bad, data, 0o600)
	_, errOut, code := quarryCode(t, "restore", bad, filepath.Join(root, "r2"))
	if code != 2 || !strings.Contains(errOut, "checksum mismatch") || !strings.Contains(errOut, "nothing was restored") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("restore of a corrupt backup: exit %d %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, "r2")); !os.IsNotExist(err) {
		t.Errorf("a corrupt restore left r2 behind: %v", err)
	}
	if _, _, code := quarryCode(t, "backup", "--store", st); code != 2 {
		t.Errorf("backup without FILE: exit %d, want 2", code)
	}

	// A store held by a server: --store cannot open it, --server backs it
	// up while it serves.
	ctx := context.Background()
	db, err := store.Open(ctx, st, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(server.New(db, server.Options{APIKey: "k"}))
	defer srv.Close()
	if _, errOut, code := quarryCode(t, "backup", "--store", st, filepath.Join(root, "x.tar")); code != 2 || !strings.Contains(errOut, "--server") {
		t.Errorf("backup of a store in use: exit %d %q, want a hint at --server", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, "x.tar")); !os.IsNotExist(err) {
		t.Errorf("a failed backup left its file: %v", err)
	}
	if _, errOut, code := quarryCode(t, "backup", "--server", srv.URL, "--api-key", "wrong", filepath.Join(root, "y.tar")); code != 2 || !strings.Contains(errOut, "401") {
		t.Errorf("backup with a wrong key: exit %d %q", code, errOut)
	}
	if _, errOut, code := quarryCode(t, "backup", "--store", st, "--server", srv.URL, "--api-key", "k", filepath.Join(root, "z.tar")); code != 2 || !strings.Contains(errOut, "not both") {
		t.Errorf("backup with --store and --server: exit %d %q, want a usage error", code, errOut)
	}
	// $QUARRY_STORE is a default, not a --store: it does not conflict.
	t.Setenv("QUARRY_STORE", st)
	bk2 := filepath.Join(root, "live.tar")
	if out, errOut, err := quarry(t, "backup", "--server", srv.URL, "--api-key", "k", bk2); err != nil || !strings.Contains(out, "backed up") {
		t.Fatalf("backup --server with $QUARRY_STORE set: %v\n%s%s", err, out, errOut)
	}
	dst2 := filepath.Join(root, "restored2")
	if _, errOut, err := quarry(t, "restore", bk2, dst2); err != nil {
		t.Fatalf("restore of the live backup: %v %s", err, errOut)
	}
	if out, _, code := quarryCode(t, "search", "--store", dst2, "narwhal tusks"); code != 0 || !strings.Contains(out, "b.txt") {
		t.Errorf("search of the store restored from the server's backup: exit %d\n%s", code, out)
	}
}
