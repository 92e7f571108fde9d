package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/quarrylabs/quarry/folder"
)

func init() {
	register(&command{
		name:    "index",
		args:    "[flags] PATH...",
		summary: "index files and folders (changed files re-indexed, unchanged skipped)",
		long: `Each folder is indexed recursively and mirrored: files deleted from disk are
removed from the vector store. A file given by name is added or replaced alone.
Types are detected by content, whatever the name; hidden files are skipped.

Attributes for --filter come from --attr, from YAML front matter in Markdown
files (scalar "key: value" lines), and from a .quarry.json in a folder, which
applies to the files below it:
  {"attributes": {"team": "infra"}, "files": {"report.pdf": {"year": 2024}}}

Prints one summary line; -v also lists skipped files. Files that fail go to
stderr, once. Interrupted (Ctrl-C), it stops cleanly: the files already added
finish on the next run.`,
		examples: []string{
			"quarry index ~/notes",
			"quarry index --vector-store handbook docs/ README.md",
			"quarry index --attr team=infra --attr year=2024 reports/",
		},
		fileArgs: true,
		setup:    setupIndex,
	})
}

func setupIndex(fs *flagSet) runFunc {
	var sf storeFlags
	sf.register(fs, false)
	sf.registerEmbedder(fs)
	var attrs stringList
	fs.Var(&attrs, "attr", "attach attribute `KEY=VALUE` to every file (repeatable; numbers and true/false are typed)")
	verbose := fs.Bool("verbose", false, "list skipped files and earlier failures")
	fs.alias("v", "verbose")
	quiet := fs.Bool("quiet", false, "no progress display, even on a terminal (the summary line stays; failures still go to stderr)")
	fs.alias("q", "quiet")
	return func(ctx context.Context, e *env, paths []string) error {
		if len(paths) == 0 {
			return usagef(lookup(commands, "index"), "name at least one file or folder to index")
		}
		at, err := parseAttrs(attrs)
		if err != nil {
			return usagef(lookup(commands, "index"), "%v", err)
		}
		// Check the paths before opening (and so creating) the store.
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("%s: %w", p, unwrapPathError(err))
			}
		}
		if os.Getenv("GOMEMLIMIT") == "" {
			debug.SetMemoryLimit(indexMemoryLimit)
		}
		return indexPaths(ctx, e, &sf, paths, at, *verbose, *quiet)
	}
}

// indexMemoryLimit is the Go heap's soft limit while quarry index runs
// (GOMEMLIMIT overrides it): the collector works harder near it rather
// than let the heap grow to twice what is live, so indexing a large tree
// stays within a fixed footprint. The store's own buffers are bounded by
// its options (store.Options.IngestMemory, Parse.Memory).
const indexMemoryLimit = 384 << 20

// parseAttrs reads --attr KEY=VALUE flags.
func parseAttrs(list []string) (map[string]any, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]any{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--attr %q: want KEY=VALUE", kv)
		}
		out[k] = folder.ParseValue(v)
	}
	return out, nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// indexPaths syncs paths into the first named vector store and prints the
// summary after the store is closed, so that nothing runs after it.
func indexPaths(ctx context.Context, e *env, sf *storeFlags, paths []string, attrs map[string]any, verbose, noProgress bool) (err error) {
	db, err := sf.open(ctx, cliLogger(e.stderr), true)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			if cerr := db.Close(); err == nil {
				err = cerr
			}
		}
	}()
	vs, err := sf.vectorStore(ctx, db, true)
	if err != nil {
		return err
	}
	var bar *progressBar
	opts := folder.Options{Attributes: attrs}
	if e.tty && !noProgress {
		bar = &progressBar{w: e.stderr}
		opts.Progress = bar.update
	}
	rep, serr := folder.Sync(ctx, vs, paths, opts)
	if bar != nil {
		bar.status("closing the store…")
	}
	closed = true
	cerr := db.Close()
	if bar != nil {
		bar.clear()
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(e.stderr, "failed %s: %s: %s\n", rel(f.Path), f.Code, f.Message)
	}
	if verbose {
		for _, s := range rep.Skips {
			fmt.Fprintf(e.stderr, "skipped %s: %s\n", rel(s.Path), s.Reason)
		}
		for _, f := range rep.EarlierFailures {
			fmt.Fprintf(e.stderr, "failed earlier %s: %s: %s\n", rel(f.Path), f.Code, f.Message)
		}
	}
	if serr != nil {
		var sig *signalError
		if errors.As(context.Cause(ctx), &sig) {
			return &signalError{sig: sig.sig, detail: fmt.Sprintf("; %d files added before the stop finish on the next 'quarry index'", rep.Added)}
		}
		return serr
	}
	if cerr != nil {
		return cerr
	}
	what := rel(paths[0])
	if len(paths) > 1 {
		what = fmt.Sprintf("%d paths", len(paths))
	}
	earlier := ""
	if n := len(rep.EarlierFailures); n > 0 && !verbose {
		earlier = fmt.Sprintf(" (%d failed earlier: -v lists them)", n)
	}
	fmt.Fprintf(e.stdout, "indexed %s: %d added, %d unchanged, %d removed, %d skipped, %d failed%s; %d chunks (%.1fs)\n",
		what, rep.Added, rep.Unchanged, rep.Removed, rep.Skipped, rep.Failed, earlier, rep.Chunks, rep.Elapsed.Seconds())
	return nil
}

// progressBar draws one status line on a terminal and erases it when done.
type progressBar struct {
	mu         sync.Mutex
	w          io.Writer
	indexStart time.Time
	startDone  int
	drawn      bool
}

func (b *progressBar) update(p folder.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch p.Phase {
	case folder.PhaseWalk:
		b.line(fmt.Sprintf("scanning… %d files found", p.Total))
	case folder.PhaseIndex:
		if b.indexStart.IsZero() {
			b.indexStart, b.startDone = time.Now(), p.Done
		}
		const width = 24
		n := width * p.Done / max(p.Total, 1)
		s := fmt.Sprintf("[%s%s] %d/%d files", strings.Repeat("=", n), strings.Repeat(" ", width-n), p.Done, p.Total)
		if el := time.Since(b.indexStart).Seconds(); el > 1 && p.Done > b.startDone {
			rate := float64(p.Done-b.startDone) / el
			eta := time.Duration(float64(p.Total-p.Done) / rate * float64(time.Second)).Round(time.Second)
			s += fmt.Sprintf("  %.0f files/s  ETA %s", rate, eta)
		}
		b.line(s)
	case folder.PhaseRemove:
		b.line("removing old versions…")
	}
}

func (b *progressBar) status(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.line(s)
}

func (b *progressBar) line(s string) {
	fmt.Fprintf(b.w, "\r\033[K%s", s)
	b.drawn = true
}

func (b *progressBar) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}

// rel shows path relative to the working directory when it is below it.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	r, err := filepath.Rel(wd, abs)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return r
}
