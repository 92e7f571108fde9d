package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// quarry runs the command line in process; err is non-nil when the exit
// status is not 0 (see quarryCode for the status itself).
func quarry(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	out, errOut, code := quarryCode(t, args...)
	if code != 0 {
		return out, errOut, fmt.Errorf("exit status %d: %s", code, errOut)
	}
	return out, errOut, nil
}

// quarryCode runs the command line in process and returns its output and
// exit status, as main would.
func quarryCode(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdout: &out, stderr: &errOut}
	ctx := context.Background()
	code := report(e, run(ctx, args, e), context.Cause(ctx))
	return out.String(), errOut.String(), code
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestIndexSearchLsRm(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	writeFiles(t, docs, map[string]string{
		"a.md":          "# Alpha\n\nThe alpha document explains zebra migration patterns.\n",
		"sub/b.txt":     "Bravo is about volcanic soil chemistry.\n",
		"image.bin":     "\x00\x01binary",
		".hidden/c.txt": "hidden file",
	})
	out, errOut, err := quarry(t, "index", docs, "--store", st)
	if err != nil {
		t.Fatalf("index: %v\n%s", err, errOut)
	}
	// Quiet by default: the summary line, no line per skipped file.
	if !strings.Contains(out, "2 added") || !strings.Contains(out, "1 skipped") || errOut != "" {
		t.Errorf("index output:\n%s\n%s", out, errOut)
	}
	// Unchanged files are skipped by content hash.
	out, _, err = quarry(t, "index", "--store", st, docs)
	if err != nil || !strings.Contains(out, "0 added, 2 unchanged") {
		t.Errorf("second index: %v\n%s", err, out)
	}
	// A changed file is re-indexed and its old version removed.
	writeFiles(t, docs, map[string]string{"sub/b.txt": "Bravo is now about glacier hydrology.\n"})
	out, _, err = quarry(t, "index", "--store", st, docs)
	if err != nil || !strings.Contains(out, "1 added, 1 unchanged") {
		t.Errorf("re-index: %v\n%s", err, out)
	}
	out, _, err = quarry(t, "search", "--store", st, "--json", "glacier hydrology")
	if err != nil {
		t.Fatal(err)
	}
	var res store.SearchResults
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("search --json: %v\n%s", err, out)
	}
	if len(res.Data) == 0 || !strings.HasSuffix(res.Data[0].Filename, "b.txt") {
		t.Fatalf("search results = %+v", res.Data)
	}
	for _, r := range res.Data {
		for _, c := range r.Content {
			if strings.Contains(c.Text, "volcanic") {
				t.Errorf("old version of b.txt still searchable")
			}
		}
	}
	out, _, err = quarry(t, "search", "--store", st, "zebra migration")
	if err != nil || !strings.Contains(out, "a.md") || !strings.Contains(out, "§ Alpha") {
		t.Errorf("readable search: %v\n%s", err, out)
	}
	out, _, err = quarry(t, "ls", "--store", st)
	if err != nil || strings.Count(out, "completed") != 2 {
		t.Errorf("ls: %v\n%s", err, out)
	}
	if _, _, err := quarry(t, "rm", "--store", st, filepath.Join(docs, "a.md")); err != nil {
		t.Fatal(err)
	}
	out, _, _ = quarry(t, "search", "--store", st, "--json", "zebra migration")
	if strings.Contains(out, "a.md") {
		t.Errorf("removed file still found:\n%s", out)
	}
	// A file deleted from disk is removed at the next index.
	os.Remove(filepath.Join(docs, "sub/b.txt"))
	out, _, err = quarry(t, "index", "--store", st, docs)
	if err != nil || !strings.Contains(out, "1 removed") {
		t.Errorf("index after delete: %v\n%s", err, out)
	}
}

func TestSearchDirAndFlags(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	writeFiles(t, docs, map[string]string{"k.md": "# Keys\n\nRotate keys every ninety days.\n", "o.txt": "Office opens at seven."})
	out, errOut, err := quarry(t, "search", "--store", st, "--dir", docs, "--max-results", "1", "--ranker", "none", "rotate keys")
	if err != nil || !strings.Contains(out, "k.md") || strings.Contains(out, "o.txt") {
		t.Errorf("search --dir: %v\n%s\n%s", err, out, errOut)
	}
	if _, _, err := quarry(t, "search", "--store", st, "--max-results", "99", "x"); err == nil {
		t.Error("--max-results 99 accepted")
	}
	if _, _, err := quarry(t, "search", "--store", st, "--filter", "{bad", "x"); err == nil {
		t.Error("bad --filter accepted")
	}
	if _, _, err := quarry(t, "search", "--store", st, "--vector-store", "nope", "x"); err == nil {
		t.Error("unknown vector store accepted")
	}
}

// TestThousandFiles is the foundation's scale check: 1,000 small files
// index and search in seconds. Timing goes to the log, not to assertions.
func TestThousandFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	st, docs := t.TempDir(), t.TempDir()
	files := map[string]string{}
	for i := range 1000 {
		files[fmt.Sprintf("d%02d/f%04d.txt", i%20, i)] = fmt.Sprintf("Note %d about subject%d. %s", i, i, strings.Repeat("filler words here ", 20))
	}
	writeFiles(t, docs, files)
	start := time.Now()
	out, _, err := quarry(t, "index", "--store", st, docs)
	if err != nil || !strings.Contains(out, "1000 added") {
		t.Fatalf("index: %v\n%s", err, out)
	}
	t.Logf("indexed 1000 files in %v", time.Since(start))
	start = time.Now()
	out, _, err = quarry(t, "search", "--store", st, "--json", "subject777")
	if err != nil || !strings.Contains(out, "f0777.txt") {
		t.Fatalf("search: %v\n%.500s", err, out)
	}
	t.Logf("opened the store and searched in %v", time.Since(start))
}

func TestBestSentence(t *testing.T) {
	text := "# Keys\n\nAlpha words at the start. " + strings.Repeat("Filler words. ", 30) + "Here glaciers melt and rivers rise\nin spring. " + strings.Repeat("more filler ", 40)
	got := bestSentence(text, "", queryStems("why do glaciers melt in spring"), 200)
	if got != "Here glaciers melt and rivers rise in spring." {
		t.Errorf("bestSentence = %q, want the sentence with glaciers, melt and spring, whole", got)
	}
	if short := bestSentence("tiny  text", "", queryStems("x"), 80); short != "tiny text" {
		t.Errorf("bestSentence of short text = %q", short)
	}
	// A long sentence is cut at word boundaries around its matches.
	long := strings.Repeat("lorem ipsum ", 40) + "the glacier melts " + strings.Repeat("dolor sit ", 40)
	got = bestSentence(long, "", queryStems("glacier melting"), 80)
	if !strings.Contains(got, "glacier melts") || !strings.HasPrefix(got, "…") || strings.HasPrefix(got, "…m") && !strings.HasPrefix(got, "…melts") {
		t.Errorf("window = %q", got)
	}
	for _, w := range strings.Fields(strings.Trim(got, "…")) {
		if w != "lorem" && w != "ipsum" && w != "dolor" && w != "sit" && w != "the" && w != "glacier" && w != "melts" {
			t.Errorf("window %q cuts a word: %q", got, w)
		}
	}
}
