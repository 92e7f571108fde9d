package filesearch_test

import (
	"context"
	"strings"
	"testing"

	"github.com/quarrylabs/quarry/filesearch"
	"github.com/quarrylabs/quarry/store"
)

// TestWithStore runs the tool against a real DB: the cited file holds the
// cited chunk's text at the cited character range.
func TestWithStore(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vs, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "kb"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateVectorStore(ctx, store.VectorStoreParams{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	add := func(vs *store.VectorStore, name, body string) *store.File {
		f, err := vs.AddFile(ctx, store.FileInput{Name: name, Body: strings.NewReader(body)})
		if err != nil {
			t.Fatal(err)
		}
		if f, err = vs.WaitFile(ctx, f.ID); err != nil || f.Status != store.StatusCompleted {
			t.Fatalf("WaitFile = %+v, %v", f, err)
		}
		return f
	}
	add(vs, "keys.md", "# Intro\n\nWelcome to the handbook.\n\n# API keys\n\nRotate production keys every ninety days.\n")
	add(vs, "vacation.md", "# Leave\n\nEmployees get twenty-five days of paid vacation.\n")
	add(other, "secret.md", "# API keys\n\nThe other store's keys rotate hourly.\n")

	tool, err := filesearch.New(db, filesearch.Config{VectorStoreIDs: []string{vs.ID()}, MaxResults: 5})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tool.Call(ctx, `{"queries":["rotate keys","vacation days"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sources) == 0 {
		t.Fatal("no sources")
	}
	for _, s := range res.Sources {
		if s.VectorStoreID != vs.ID() {
			t.Errorf("source %s from store %s, not the configured one", s.Filename, s.VectorStoreID)
		}
	}
	ans := tool.Cite("Keys rotate every ninety days [1]. Vacation is 25 days [2].")
	if len(ans.Citations) != min(2, len(res.Sources)) || ans.Fallback {
		t.Fatalf("Cite = %+v", ans)
	}
	for _, c := range ans.Citations {
		text, err := vs.FileContent(ctx, c.FileID)
		if err != nil {
			t.Fatal(err)
		}
		r := []rune(text)
		if c.CharStart < 0 || c.CharEnd > len(r) || c.CharStart >= c.CharEnd {
			t.Fatalf("citation range %d-%d outside the %d-character file", c.CharStart, c.CharEnd, len(r))
		}
		got := string(r[c.CharStart:c.CharEnd])
		var chunk string
		for _, s := range res.Sources {
			if s.ChunkID == c.ChunkID {
				chunk = strings.TrimPrefix(s.Text, s.Prefix)
			}
		}
		if strings.TrimSpace(got) != strings.TrimSpace(chunk) {
			t.Errorf("file %s at %d-%d = %q, want the cited chunk's text %q", c.Filename, c.CharStart, c.CharEnd, got, chunk)
		}
	}
}
