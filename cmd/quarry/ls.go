package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarrylabs/quarry/store"
)

func cmdLs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	stores := fs.Bool("stores", false, "list the vector stores instead of files")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	db, err := sf.open(ctx, cliLogger(stderr))
	if err != nil {
		return err
	}
	defer db.Close()
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if *stores {
		fmt.Fprintln(tw, "ID\tNAME\tFILES\tUSAGE\tEMBEDDER\tCREATED")
		after := ""
		for {
			page, err := db.VectorStores(ctx, store.ListOptions{Limit: 100, After: after})
			if err != nil {
				return err
			}
			for _, v := range page.Data {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", v.ID, v.Name, v.FileCounts.Total, human(v.UsageBytes),
					v.Embedder, time.Unix(v.CreatedAt, 0).Format(time.DateTime))
			}
			if !page.HasMore {
				return nil
			}
			after = page.LastID
		}
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

func cmdRm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf storeFlags
	sf.register(fs)
	targets, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("usage: quarry rm PATH|FILE_ID...")
	}
	db, err := sf.open(ctx, cliLogger(stderr))
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
		abs, _ := filepath.Abs(t)
		n := 0
		for _, f := range files {
			if f.ID == t || f.Filename == abs || strings.HasPrefix(f.Filename, abs+string(filepath.Separator)) {
				if err := vs.DeleteFile(ctx, f.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				fmt.Fprintf(stdout, "removed %s\n", rel(f.Filename))
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("%s: no such file in vector store %q", t, sf.names()[0])
		}
	}
	return nil
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
