package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/term"

	"github.com/quarrylabs/quarry/parse"
	"github.com/quarrylabs/quarry/store"
)

func cmdIndex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	quiet := fs.Bool("q", false, "print only errors and the summary")
	dirs, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("usage: quarry index DIR")
	}
	db, err := sf.open(ctx, cliLogger(stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	vs, err := sf.vectorStore(ctx, db, true)
	if err != nil {
		return err
	}
	for _, dir := range dirs {
		if _, err := indexDir(ctx, vs, dir, *quiet, stdout, stderr); err != nil {
			return err
		}
	}
	return nil
}

// indexStats summarises one indexDir run.
type indexStats struct {
	added, unchanged, skipped, removed, failed, chunks int
}

// indexDir makes the vector store hold exactly the supported files under
// dir: new and changed files are added (a changed file replaces its old
// version), unchanged ones are skipped by content hash, and files gone from
// disk are removed. It waits until every file is ingested.
func indexDir(ctx context.Context, vs *store.VectorStore, dir string, quiet bool, stdout, stderr io.Writer) (indexStats, error) {
	var st indexStats
	start := time.Now()
	root, err := filepath.Abs(dir)
	if err != nil {
		return st, err
	}
	if fi, err := os.Stat(root); err != nil {
		return st, err
	} else if !fi.IsDir() {
		return st, fmt.Errorf("%s is not a directory", dir)
	}
	existing, err := vs.AllFiles(ctx)
	if err != nil {
		return st, err
	}
	// A name can have two versions when a run was killed between adding a
	// changed file and removing its old version.
	byName := map[string][]store.File{}
	for _, f := range existing {
		byName[f.Filename] = append(byName[f.Filename], f)
	}
	seen := map[string]bool{}
	var paths []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(stderr, "skip %s: %v\n", path, err)
			return nil
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		seen[path] = true
		if !parse.Supported(path) {
			st.skipped++
			if !quiet {
				fmt.Fprintf(stderr, "skip %s: unsupported file type %q\n", rel(path), filepath.Ext(path))
			}
			return nil
		}
		paths = append(paths, path)
		return nil
	})
	if err != nil {
		return st, err
	}
	// Add new and changed files, several at a time.
	var mu sync.Mutex
	var replaced []string
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, path := range paths {
		g.Go(func() error {
			sum, err := hashFile(path)
			if err != nil {
				fmt.Fprintf(stderr, "skip %s: %v\n", rel(path), err)
				return nil
			}
			var stale []string
			current := false
			for _, old := range byName[path] {
				if old.SHA256 == sum && !current {
					current = true
				} else {
					stale = append(stale, old.ID)
				}
			}
			mu.Lock()
			replaced = append(replaced, stale...)
			mu.Unlock()
			if current {
				mu.Lock()
				st.unchanged++
				mu.Unlock()
				return nil
			}
			f, err := os.Open(path)
			if err != nil {
				fmt.Fprintf(stderr, "skip %s: %v\n", rel(path), err)
				return nil
			}
			defer f.Close()
			if _, err := vs.AddFile(gctx, store.FileInput{Name: path, Body: f}); err != nil {
				return fmt.Errorf("add %s: %w", rel(path), err)
			}
			mu.Lock()
			st.added++
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return st, err
	}
	if err := waitIngested(ctx, vs, stderr); err != nil {
		return st, err
	}
	// Old versions go once their replacements are searchable.
	for _, id := range replaced {
		if err := vs.DeleteFile(ctx, id); err != nil {
			return st, err
		}
	}
	prefix := root + string(filepath.Separator)
	for name, versions := range byName {
		if strings.HasPrefix(name, prefix) && !seen[name] {
			for _, f := range versions {
				if err := vs.DeleteFile(ctx, f.ID); err != nil {
					return st, err
				}
			}
			st.removed++
			if !quiet {
				fmt.Fprintf(stderr, "removed %s: no longer on disk\n", rel(name))
			}
		}
	}
	files, err := vs.AllFiles(ctx)
	if err != nil {
		return st, err
	}
	for _, f := range files {
		if !strings.HasPrefix(f.Filename, prefix) {
			continue
		}
		st.chunks += f.Chunks
		if f.Status == store.StatusFailed {
			st.failed++
			if f.LastError != nil {
				fmt.Fprintf(stderr, "failed %s: %s: %s\n", rel(f.Filename), f.LastError.Code, f.LastError.Message)
			}
		}
	}
	fmt.Fprintf(stdout, "indexed %s: %d added, %d unchanged, %d removed, %d skipped, %d failed; %d chunks in the index (%.1fs)\n",
		rel(root), st.added, st.unchanged, st.removed, st.skipped, st.failed, st.chunks, time.Since(start).Seconds())
	return st, nil
}

// waitIngested waits until no file of vs is in progress, drawing a progress
// bar on stderr when it is a terminal.
func waitIngested(ctx context.Context, vs *store.VectorStore, stderr io.Writer) error {
	tty := false
	if f, ok := stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	first := -1
	for {
		info, err := vs.Info(ctx)
		if err != nil {
			return err
		}
		left := info.FileCounts.InProgress
		if first < 0 {
			first = left
		}
		if tty && first > 0 {
			drawBar(stderr, first-left, first)
		}
		if left == 0 {
			if tty && first > 0 {
				fmt.Fprint(stderr, "\r\033[K")
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func drawBar(w io.Writer, done, total int) {
	const width = 30
	n := width * done / max(total, 1)
	fmt.Fprintf(w, "\r[%s%s] %d/%d files", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// rel shows path relative to the working directory when it is below it.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return r
}
