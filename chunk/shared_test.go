package chunk

import (
	"context"
	"os"
	"testing"

	"github.com/quarrylabs/quarry/internal/shareddata"
	"github.com/quarrylabs/quarry/parse"
)

// TestSharedDocuments chunks real parsed files (markdown, code, tables,
// PDF pages) from the shared test data and checks every invariant.
func TestSharedDocuments(t *testing.T) {
	dir := shareddata.Path(t, "datasets/docs")
	c := newChunker(t, CL100K)
	for _, name := range []string{"golang_slog-handler-guide.md", "ngt_README-jp.md", "linguist_commit.c",
		"pandoc_tables.docx", "poi_DataTableCities.xlsx", "pdfjs_tracemonkey.pdf", "country-codes.csv"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(dir + "/" + name)
			if err != nil {
				t.Skipf("%s: %v", name, err)
			}
			defer f.Close()
			doc, err := parse.Parse(context.Background(), name, f, nil)
			if err != nil {
				t.Fatalf("parse %s: %v", name, err)
			}
			for _, s := range []Strategy{{}, {Type: Static, MaxTokens: 100, OverlapTokens: 50}} {
				chunks, err := c.Split(context.Background(), doc, s)
				if err != nil {
					t.Fatal(err)
				}
				n := s.Normalize()
				if err := checkChunks(c, doc, chunks, n.MaxTokens, n.OverlapTokens, s.Type == Static); err != nil {
					t.Errorf("%+v: %v", s, err)
				}
			}
		})
	}
}
