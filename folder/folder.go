// Package folder keeps a vector store in step with files and folders on
// disk: it walks them, hashes each file, adds new and changed files (a
// changed file replaces its old version once the new one is searchable),
// removes files gone from disk, and attaches attributes from the caller and
// from sidecars, so that filters work on indexed folders.
//
//	rep, err := folder.Sync(ctx, vs, []string{"~/notes", "report.pdf"}, folder.Options{
//		Attributes: map[string]any{"team": "infra"},
//	})
//
// # What is indexed
//
// Regular files whose content parse can read, whatever their name: the type
// is decided by parse.Detect on the first 8 KB. Hidden files and folders
// (names starting with ".") are skipped, except the sidecars below. A folder
// given to Sync is mirrored: files under it that are no longer on disk are
// removed from the vector store. A file given by name is added or replaced
// alone.
//
// # Attributes and sidecars
//
// A file's attributes are merged from, weakest first:
//
//   - a .quarry.json in its folder or any folder above it, up to the root
//     given to Sync (nearer folders win): {"attributes": {"team": "infra"},
//     "files": {"report.pdf": {"year": 2024}}}; "attributes" apply to every
//     file below the folder, "files" to the named files of that folder;
//   - YAML front matter at the start of a Markdown file: the scalar
//     "key: value" lines between two "---" lines (strings, numbers, true and
//     false; lists and nested maps are ignored);
//   - Options.Attributes.
//
// When only the attributes of an unchanged file change, they are updated in
// place (no re-ingestion).
//
// # Interruption
//
// When ctx ends, Sync returns what it did so far and ctx's error. Files
// already added stay in the vector store and finish ingesting when the
// store is next opened; a second Sync recognises them by hash and resumes.
package folder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/quarrylabs/quarry/parse"
	"github.com/quarrylabs/quarry/store"
)

// SidecarName is the per-folder attribute file.
const SidecarName = ".quarry.json"

// Options configures Sync. The zero value is usable.
type Options struct {
	// Attributes are given to every file, over sidecar attributes.
	Attributes map[string]any
	// Workers is the number of files read and added at once; default 8.
	Workers int
	// Progress, when set, is called from one goroutine with the state of the
	// run: during the walk, then about every PollInterval until done.
	Progress func(Progress)
	// PollInterval is how often ingestion is polled; default 100 ms.
	PollInterval time.Duration
}

// Phase is the stage a Sync is in.
type Phase string

const (
	PhaseWalk   Phase = "walk"   // listing files; Total not yet known
	PhaseIndex  Phase = "index"  // hashing, adding and ingesting
	PhaseRemove Phase = "remove" // removing old versions and deleted files
)

// Progress is a snapshot of a Sync.
type Progress struct {
	Phase Phase
	// Total is the number of files found (counting up during the walk).
	Total int
	// Done is the number of files finished: skipped, unchanged, or
	// ingested (completed or failed).
	Done    int
	Elapsed time.Duration
}

// Skip is a file that was not indexed.
type Skip struct {
	Path   string
	Reason string
}

// Failure is a file the store could not ingest, or an attribute error.
type Failure struct {
	Path    string
	Code    string
	Message string
}

// Report summarises a Sync.
type Report struct {
	Added     int // new or changed files added
	Unchanged int // files already current
	Updated   int // unchanged files whose attributes were updated
	Removed   int // files gone from disk, removed from the store
	Skipped   int // files not indexable (see Skips)
	Failed    int // files that failed in this run (see Failures)
	// Chunks is the number of chunks of the files under the given paths.
	Chunks int
	Skips  []Skip
	// Failures are this run's failures; EarlierFailures are unchanged
	// files that failed in an earlier run (not retried: their bytes are the
	// same).
	Failures        []Failure
	EarlierFailures []Failure
	Elapsed         time.Duration
}

// ErrNoPath is returned when a path given to Sync does not exist.
var ErrNoPath = errors.New("folder: no such file or directory")

type job struct {
	path  string
	attrs map[string]any
}

// Sync makes vs hold the indexable files under paths (files or folders),
// as the package documentation describes, and waits until they are
// ingested. Every path is checked before anything is changed.
func Sync(ctx context.Context, vs *store.VectorStore, paths []string, opts Options) (Report, error) {
	start := time.Now()
	var rep Report
	if opts.Workers <= 0 {
		opts.Workers = 8
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	progress := func(p Progress) {
		if opts.Progress != nil {
			p.Elapsed = time.Since(start)
			opts.Progress(p)
		}
	}
	type root struct {
		abs string
		dir bool
	}
	var roots []root
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return rep, err
		}
		fi, err := os.Stat(abs)
		if errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("%w: %s", ErrNoPath, p)
		}
		if err != nil {
			return rep, err
		}
		roots = append(roots, root{abs, fi.IsDir()})
	}

	// Walk: list every candidate file first, so the total is known.
	var jobs []job
	seen := map[string]bool{}
	lastReport := time.Time{}
	for _, r := range roots {
		if !r.dir {
			if !seen[r.abs] {
				seen[r.abs] = true
				sc := newSidecars(filepath.Dir(r.abs))
				jobs = append(jobs, job{path: r.abs, attrs: sc.attrs(r.abs)})
			}
			continue
		}
		sc := newSidecars(r.abs)
		err := filepath.WalkDir(r.abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == r.abs {
					return err
				}
				rep.Skips = append(rep.Skips, Skip{path, err.Error()})
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				if path != r.abs && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") || seen[path] {
				return nil
			}
			seen[path] = true
			jobs = append(jobs, job{path: path, attrs: sc.attrs(path)})
			if time.Since(lastReport) > 50*time.Millisecond {
				lastReport = time.Now()
				progress(Progress{Phase: PhaseWalk, Total: len(jobs)})
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
		rep.Skips = append(rep.Skips, sc.errs...)
	}
	rep.Skipped = len(rep.Skips)
	total := len(jobs)
	progress(Progress{Phase: PhaseWalk, Total: total})

	existing, err := vs.AllFiles(ctx)
	if err != nil {
		return rep, err
	}
	// A name can have two versions when a run was interrupted between
	// adding a changed file and removing its old version.
	byName := map[string][]store.File{}
	for _, f := range existing {
		byName[f.Filename] = append(byName[f.Filename], f)
	}

	var (
		mu       sync.Mutex
		stale    []string            // ids of old versions to delete
		added    = map[string]bool{} // ids added in this run
		finished int                 // skipped + unchanged files, for progress
	)
	skip := func(path, reason string) {
		mu.Lock()
		rep.Skips = append(rep.Skips, Skip{path, reason})
		rep.Skipped++
		finished++
		mu.Unlock()
	}
	// Progress during indexing: files finished without ingestion, plus
	// added files no longer in progress.
	stopPoll := make(chan struct{})
	pollDone := make(chan struct{})
	poll := func() {
		mu.Lock()
		n, ids := finished, len(added)
		mu.Unlock()
		inProgress := 0
		if info, err := vs.Info(ctx); err == nil {
			inProgress = info.FileCounts.InProgress
		}
		progress(Progress{Phase: PhaseIndex, Total: total, Done: min(total, n+max(0, ids-inProgress))})
	}
	go func() {
		defer close(pollDone)
		if opts.Progress == nil {
			return
		}
		t := time.NewTicker(opts.PollInterval)
		defer t.Stop()
		for {
			select {
			case <-stopPoll:
				return
			case <-t.C:
				poll()
			}
		}
	}()
	stop := func() {
		if stopPoll != nil {
			close(stopPoll)
			<-pollDone
			stopPoll = nil
		}
	}
	defer stop()

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for _, j := range jobs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			f, err := os.Open(j.path)
			if err != nil {
				skip(j.path, err.Error())
				return nil
			}
			defer f.Close()
			head := make([]byte, 8<<10)
			n, err := io.ReadFull(f, head)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				skip(j.path, err.Error())
				return nil
			}
			head = head[:n]
			if reason := unreadable(j.path, head); reason != "" {
				skip(j.path, reason)
				return nil
			}
			if strings.EqualFold(filepath.Ext(j.path), ".md") || strings.EqualFold(filepath.Ext(j.path), ".markdown") {
				j.attrs = merge(j.attrs, frontMatter(head))
			}
			j.attrs = merge(j.attrs, opts.Attributes)
			h := sha256.New()
			h.Write(head)
			if _, err := io.Copy(h, f); err != nil {
				skip(j.path, err.Error())
				return nil
			}
			sum := hex.EncodeToString(h.Sum(nil))
			var current *store.File
			var old []string
			for _, v := range byName[j.path] {
				if v.SHA256 == sum && current == nil {
					current = &v
				} else {
					old = append(old, v.ID)
				}
			}
			mu.Lock()
			stale = append(stale, old...)
			mu.Unlock()
			if current != nil {
				updated := false
				if !sameAttrs(current.Attributes, j.attrs) {
					if _, err := vs.UpdateFileAttributes(gctx, current.ID, j.attrs); err != nil {
						if !errors.Is(err, store.ErrInvalid) {
							return err
						}
						mu.Lock()
						rep.Failures = append(rep.Failures, Failure{j.path, "invalid_attributes", err.Error()})
						rep.Failed++
						mu.Unlock()
					} else {
						updated = true
					}
				}
				mu.Lock()
				rep.Unchanged++
				if updated {
					rep.Updated++
				}
				if current.Status == store.StatusFailed && current.LastError != nil {
					rep.EarlierFailures = append(rep.EarlierFailures, Failure{j.path, string(current.LastError.Code), current.LastError.Message})
				}
				if current.Status != store.StatusInProgress {
					finished++
				} else {
					added[current.ID] = true // resumed from an interrupted run
				}
				mu.Unlock()
				return nil
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				skip(j.path, err.Error())
				return nil
			}
			nf, err := vs.AddFile(gctx, store.FileInput{Name: j.path, Body: f, Attributes: j.attrs})
			if errors.Is(err, store.ErrInvalid) {
				mu.Lock()
				rep.Failures = append(rep.Failures, Failure{j.path, "invalid_request", err.Error()})
				rep.Failed++
				finished++
				mu.Unlock()
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			rep.Added++
			added[nf.ID] = true
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		rep.Elapsed = time.Since(start)
		return rep, err
	}
	if err := ctx.Err(); err != nil {
		return rep, err
	}
	// Wait for ingestion.
	for {
		info, err := vs.Info(ctx)
		if err != nil {
			return rep, err
		}
		if info.FileCounts.InProgress == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(opts.PollInterval):
		}
	}
	stop()
	progress(Progress{Phase: PhaseRemove, Total: total, Done: total})

	// Old versions go once their replacements are searchable.
	for _, id := range stale {
		if err := vs.DeleteFile(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return rep, err
		}
	}
	under := func(name string) bool {
		for _, r := range roots {
			if name == r.abs || (r.dir && strings.HasPrefix(name, r.abs+string(filepath.Separator))) {
				return true
			}
		}
		return false
	}
	for name, versions := range byName {
		if !seen[name] && under(name) {
			for _, f := range versions {
				if err := vs.DeleteFile(ctx, f.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return rep, err
				}
			}
			rep.Removed++
		}
	}
	files, err := vs.AllFiles(ctx)
	if err != nil {
		return rep, err
	}
	for _, f := range files {
		if !under(f.Filename) {
			continue
		}
		rep.Chunks += f.Chunks
		if added[f.ID] && f.Status == store.StatusFailed {
			rep.Failed++
			fl := Failure{Path: f.Filename}
			if f.LastError != nil {
				fl.Code, fl.Message = string(f.LastError.Code), f.LastError.Message
			}
			rep.Failures = append(rep.Failures, fl)
		}
	}
	slices.SortFunc(rep.Skips, func(a, b Skip) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(rep.Failures, func(a, b Failure) int { return strings.Compare(a.Path, b.Path) })
	slices.SortFunc(rep.EarlierFailures, func(a, b Failure) int { return strings.Compare(a.Path, b.Path) })
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// readable is the set of types parse.Detect names that Parse reads.
var readable = map[string]bool{
	"text": true, "markdown": true, "rst": true, "latex": true, "html": true, "xml": true,
	"json": true, "jsonl": true, "csv": true, "tsv": true, "yaml": true, "config": true, "code": true,
	"pdf": true, "docx": true, "pptx": true, "xlsx": true, "doc": true,
}

// unreadable returns why a file whose first bytes are head cannot be
// indexed, or "" when it can. The content decides, through parse.Detect.
func unreadable(path string, head []byte) string {
	if len(head) == 0 {
		return "empty file"
	}
	t := parse.Detect(filepath.Base(path), head)
	switch {
	case readable[t]:
		return ""
	case t == "":
		return fmt.Sprintf("text with an extension the parser does not read (%q)", filepath.Ext(path))
	case t == "binary":
		return "binary data"
	}
	return "unsupported type " + t
}

// sameAttrs reports whether two attribute maps hold the same values (as
// JSON: a stored 3 and a given 3.0 are the same; nil and empty too).
func sameAttrs(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// merge returns base with over's keys set over it (a new map; nil when
// both are empty).
func merge(base, over map[string]any) map[string]any {
	if len(over) == 0 {
		return base
	}
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}
