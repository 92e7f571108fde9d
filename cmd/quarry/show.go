package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quarrylabs/quarry/parse"
	"github.com/quarrylabs/quarry/store"
)

func init() {
	register(&command{
		name:    "show",
		args:    "[flags] FILE|FILE_ID",
		summary: "print the text the engine indexes for a file, with its pages and headings",
		long: `Shows what the parser extracted: the detected type, then the text with a
line for each page and heading path, so you can see why a file is or is not
found. A FILE on disk is parsed as indexing would parse it (whether or not it
is indexed); a FILE_ID shows the indexed text.`,
		examples: []string{
			"quarry show docs/guide.pdf",
			"quarry show file-0123456789abcdef",
		},
		fileArgs: true,
		setup: func(fs *flagSet) runFunc {
			var sf storeFlags
			sf.register(fs, false)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef(lookup(commands, "show"), "name one file or file id")
				}
				return runShow(ctx, e, &sf, args[0])
			}
		},
	})
}

func runShow(ctx context.Context, e *env, sf *storeFlags, target string) error {
	// The indexed version, when there is a store holding it.
	var indexed *store.File
	var vs *store.VectorStore
	popts := parse.Options{}
	db, err := sf.open(ctx, cliLogger(e.stderr), false)
	switch {
	case errors.Is(err, errNoStore):
	case err != nil:
		return err
	default:
		defer db.Close()
		popts = db.Options().Parse
		if vs, err = sf.vectorStore(ctx, db, false); err == nil {
			files, err := vs.AllFiles(ctx)
			if err != nil {
				return err
			}
			if m := matchFiles(files, target); len(m) > 0 && (m[0].ID == target || samePath(m[0].Filename, target)) {
				indexed = &m[0]
			}
		}
	}
	path := target
	if indexed != nil {
		path = indexed.Filename
	}
	body, rerr := os.ReadFile(path)
	if rerr != nil && indexed == nil {
		return fmt.Errorf("%s: %w (not a file on disk, nor a file of vector store %q)", target, unwrapPathError(rerr), sf.names()[0])
	}
	w := e.stdout
	if indexed != nil {
		fmt.Fprintf(w, "%s: indexed as %s (%s, %s, %d chunks, %d tokens)\n", rel(indexed.Filename), indexed.ID, indexed.Status, indexed.Type, indexed.Chunks, indexed.Tokens)
		if indexed.LastError != nil {
			fmt.Fprintf(w, "  error: %s: %s\n", indexed.LastError.Code, indexed.LastError.Message)
		}
	} else {
		fmt.Fprintf(w, "%s: not indexed in vector store %q\n", rel(path), sf.names()[0])
	}
	if rerr == nil {
		sum := sha256.Sum256(body)
		if indexed != nil && hex.EncodeToString(sum[:]) != indexed.SHA256 {
			fmt.Fprintf(w, "  the file changed on disk since it was indexed: showing the indexed text\n")
		} else {
			doc, err := parse.Parse(ctx, filepath.Base(path), bytes.NewReader(body), &popts)
			if err != nil {
				fmt.Fprintf(w, "  parse: %v\n", err)
				return nil
			}
			printDoc(w, doc)
			return nil
		}
	}
	text, err := vs.FileContent(ctx, indexed.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", text)
	return nil
}

func samePath(a, b string) bool {
	ab, err := filepath.Abs(b)
	return err == nil && a == ab
}

// printDoc prints a parsed document: a line for each new page and heading
// path, then the section's text.
func printDoc(w io.Writer, doc *parse.Document) {
	pages := ""
	if doc.Pages > 0 {
		pages = fmt.Sprintf(", %d pages", doc.Pages)
	}
	fmt.Fprintf(w, "type %s%s, %d sections, %d characters\n", doc.Type, pages, len(doc.Sections), len([]rune(doc.Text)))
	page := -1
	var headings []string
	for _, s := range doc.Sections {
		if s.Page != page && s.Page > 0 {
			label := ""
			if s.PageLabel != "" {
				label = " (" + s.PageLabel + ")"
			}
			fmt.Fprintf(w, "\n──── page %d%s ────\n", s.Page, label)
			page = s.Page
			headings = nil
		}
		if !slices.Equal(s.Headings, headings) && len(s.Headings) > 0 {
			fmt.Fprintf(w, "\n§ %s\n", strings.Join(s.Headings, " › "))
		}
		headings = s.Headings
		text := strings.TrimRight(doc.Text[s.Start:s.End], "\n ")
		if text != "" {
			fmt.Fprintf(w, "%s\n", text)
		}
	}
}
