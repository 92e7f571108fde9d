package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/quarrylabs/quarry/internal/durable"
	"github.com/quarrylabs/quarry/store"
)

func init() {
	register(&command{
		name:    "backup",
		args:    "[flags] FILE",
		summary: "write a consistent backup of the store to FILE (- for stdout)",
		long: `Opens the store and writes one snapshot of it (store.DB.Backup): the database
and the file bytes it references, with SHA-256 checksums. The derived indexes
are left out: a restored store rebuilds them when first opened. FILE is
written whole or not at all.

A store is opened by one process at a time: while 'quarry serve' runs on it,
back up through the server instead, with --server (GET /backup,
served behind the server's API key); the server keeps serving meanwhile.`,
		examples: []string{
			"quarry backup kb-$(date +%F).tar",
			"quarry backup --store ~/kb - | gzip > kb.tar.gz",
			"quarry backup --server http://127.0.0.1:8080 kb.tar",
		},
		fileArgs: true,
		setup: func(fs *flagSet) runFunc {
			var sf storeFlags
			sf.registerDir(fs)
			srv := fs.String("server", "", "back up the store a running 'quarry serve' at `URL` serves, instead of opening it")
			apiKey := fs.String("api-key", os.Getenv("QUARRY_API_KEY"), "with --server: the server's API `KEY` (default $QUARRY_API_KEY)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef(lookup(commands, "backup"), "backup takes one FILE (- for stdout)")
				}
				if *srv != "" && fs.given("store") {
					return usagef(lookup(commands, "backup"), "give --store or --server, not both")
				}
				return runBackup(ctx, e, &sf, *srv, *apiKey, args[0])
			}
		},
	})
	register(&command{
		name:    "restore",
		args:    "[flags] FILE DIR",
		summary: "restore a backup into a new store folder DIR (- reads stdin)",
		long: `Verifies every checksum of the backup in FILE and the database's consistency,
then creates DIR (which must not exist, or be empty) holding the restored
store. A corrupt or truncated backup is an error and leaves no DIR. The
vector and BM25 indexes are rebuilt the first time the store is opened
('quarry serve --store DIR', 'quarry ls --store DIR', ...).`,
		examples: []string{
			"quarry restore kb-2026-12-03.tar ~/kb-restored",
			"gunzip -c kb.tar.gz | quarry restore - ~/kb-restored",
		},
		fileArgs: true,
		setup: func(fs *flagSet) runFunc {
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 2 {
					return usagef(lookup(commands, "restore"), "restore takes a backup FILE and a new store DIR")
				}
				return runRestore(ctx, e, args[0], args[1])
			}
		},
	})
}

// backupTo writes a backup through fill to path, whole or not at all;
// "-" is stdout.
func backupTo(e *env, path string, fill func(w io.Writer) error) error {
	if path == "-" {
		return fill(e.stdout)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	return durable.WriteFile(abs, fill)
}

func runBackup(ctx context.Context, e *env, sf *storeFlags, srv, apiKey, path string) error {
	if srv != "" {
		// $QUARRY_STORE does not conflict with --server: only --store does.
		if err := backupTo(e, path, func(w io.Writer) error { return backupFromServer(ctx, srv, apiKey, w) }); err != nil {
			return err
		}
	} else {
		db, err := sf.open(ctx, cliLogger(e.stderr), false)
		if err != nil {
			if errors.Is(err, store.ErrLocked) {
				err = fmt.Errorf("%w (while 'quarry serve' runs on it, use --server URL)", err)
			}
			return err
		}
		err = backupTo(e, path, func(w io.Writer) error { return db.Backup(ctx, w) })
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if path != "-" {
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "backed up to %s (%s)\n", path, human(fi.Size()))
	}
	return nil
}

func runRestore(ctx context.Context, e *env, path, dir string) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	if err := store.Restore(ctx, r, dir); err != nil {
		if errors.Is(err, store.ErrCorrupt) {
			return fmt.Errorf("%s: %w; nothing was restored", path, err)
		}
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s into %s (indexes are rebuilt when it is first opened)\n", path, dir)
	return nil
}

// backupFromServer streams GET base/backup of a running 'quarry serve'
// into w.
func backupFromServer(ctx context.Context, base, apiKey string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/backup", nil)
	if err != nil {
		return fmt.Errorf("--server: %w", err)
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("server answered %s: %s", resp.Status, e.Error.Message)
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup stream from the server: %w", err)
	}
	return nil
}
