package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarrylabs/quarry/store"
)

func init() {
	register(&command{
		name:    "ls",
		args:    "[flags]",
		summary: "list the files of a vector store (--stores: the vector stores)",
		examples: []string{
			"quarry ls",
			"quarry ls --stores",
			"quarry ls --vector-store handbook",
		},
		setup: func(fs *flagSet) runFunc {
			var sf storeFlags
			sf.register(fs, false)
			stores := fs.Bool("stores", false, "list the vector stores instead of files")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef(lookup(commands, "ls"), "ls takes no arguments")
				}
				return runLs(ctx, e, &sf, *stores)
			}
		},
	})
	register(&command{
		name:    "rm",
		args:    "[flags] PATH|FILE_ID...",
		summary: "remove files from a vector store (a folder removes what is under it)",
		examples: []string{
			"quarry rm ~/notes/old.md",
			"quarry rm ~/notes/archive/",
			"quarry rm file-0123456789abcdef",
		},
		fileArgs: true,
		setup: func(fs *flagSet) runFunc {
			var sf storeFlags
			sf.register(fs, false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) == 0 {
					return usagef(lookup(commands, "rm"), "name the files to remove")
				}
				return runRm(ctx, e, &sf, args)
			}
		},
	})
}

func runLs(ctx context.Context, e *env, sf *storeFlags, stores bool) error {
	db, err := sf.open(ctx, cliLogger(e.stderr), false)
	if err != nil {
		return err
	}
	defer db.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if stores {
		fmt.Fprintln(tw, "ID\tNAME\tFILES\tUSAGE\tEMBEDDER\tCREATED")
		all, err := db.VectorStores(ctx)
		if err != nil {
			return err
		}
		for _, v := range all {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", v.ID, v.Name, v.FileCounts.Total, human(v.UsageBytes),
				v.Embedder, time.Unix(v.CreatedAt, 0).Format(time.DateTime))
		}
		return nil
	}
	vs, err := sf.vectorStore(ctx, db, false)
	if err != nil {
		return err
	}
	files, err := vs.AllFiles(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(tw, "FILE\tSTATUS\tTYPE\tCHUNKS\tBYTES\tID")
	for _, f := range files {
		status := string(f.Status)
		if f.LastError != nil {
			status += " (" + string(f.LastError.Code) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", rel(f.Filename), status, f.Type, f.Chunks, human(f.Bytes), f.ID)
	}
	return nil
}

func runRm(ctx context.Context, e *env, sf *storeFlags, targets []string) error {
	db, err := sf.open(ctx, cliLogger(e.stderr), false)
	if err != nil {
		return err
	}
	defer db.Close()
	vs, err := sf.vectorStore(ctx, db, false)
	if err != nil {
		return err
	}
	files, err := vs.AllFiles(ctx)
	if err != nil {
		return err
	}
	for _, t := range targets {
		matches := matchFiles(files, t)
		if len(matches) == 0 {
			return fmt.Errorf("%s: no such file in vector store %q", t, sf.names()[0])
		}
		for _, f := range matches {
			if err := vs.DeleteFile(ctx, f.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			fmt.Fprintf(e.stdout, "removed %s\n", rel(f.Filename))
		}
	}
	return nil
}

// matchFiles returns the files that t names: by id, by path, or as a
// folder holding them.
func matchFiles(files []store.File, t string) []store.File {
	abs, _ := filepath.Abs(t)
	var out []store.File
	for _, f := range files {
		if f.ID == t || f.Filename == abs || strings.HasPrefix(f.Filename, abs+string(filepath.Separator)) {
			out = append(out, f)
		}
	}
	return out
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
