package folder

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/quarrylabs/quarry/store"
)

func write(t *testing.T, dir string, files map[string]string) {
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

func openVS(t *testing.T) *store.VectorStore {
	t.Helper()
	db, err := store.Open(context.Background(), t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	vs, err := db.CreateVectorStore(context.Background(), store.VectorStoreParams{Name: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func byName(t *testing.T, vs *store.VectorStore) map[string]store.File {
	t.Helper()
	files, err := vs.AllFiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]store.File{}
	for _, f := range files {
		m[filepath.Base(f.Filename)] = f
	}
	return m
}

func TestSync(t *testing.T) {
	ctx := context.Background()
	vs := openVS(t)
	dir := t.TempDir()
	write(t, dir, map[string]string{
		".quarry.json":      `{"attributes": {"team": "infra", "tier": 1}}`,
		"a.md":              "---\ntitle: \"Alpha: notes\"\ntier: 2\ntags: [x, y]\n---\n# Alpha\n\nText.\n",
		"sub/.quarry.json":  `{"attributes": {"team": "web"}, "files": {"b.txt": {"owner": "ana"}}}`,
		"sub/b.txt":         "Bravo.",
		"sub/c.txt":         "Charlie.",
		".hidden/d.txt":     "hidden",
		"image.png":         "\x89PNG\r\n\x1a\n\x00\x00\x00",
		"sub/deeper/e.conf": "[section]\nkey = value\n",
	})
	var phases []Phase
	rep, err := Sync(ctx, vs, []string{dir}, Options{Attributes: map[string]any{"src": "cli"}, Progress: func(p Progress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
		if p.Phase == PhaseIndex && p.Total != 5 {
			t.Errorf("index progress total %d, want 5", p.Total)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 4 || rep.Skipped != 1 || rep.Failed != 0 || rep.Chunks < 4 {
		t.Errorf("report = %+v", rep)
	}
	if len(phases) == 0 || phases[0] != PhaseWalk || phases[len(phases)-1] != PhaseRemove {
		t.Errorf("phases = %v", phases)
	}
	m := byName(t, vs)
	want := map[string]map[string]any{
		"a.md":   {"team": "infra", "tier": 2.0, "title": "Alpha: notes", "src": "cli"},
		"b.txt":  {"team": "web", "tier": 1.0, "owner": "ana", "src": "cli"},
		"c.txt":  {"team": "web", "tier": 1.0, "src": "cli"},
		"e.conf": {"team": "web", "tier": 1.0, "src": "cli"},
	}
	for name, attrs := range want {
		if got := m[name].Attributes; !reflect.DeepEqual(normalize(got), attrs) {
			t.Errorf("%s attributes = %v, want %v", name, got, attrs)
		}
	}
	if _, ok := m["d.txt"]; ok {
		t.Error("hidden file indexed")
	}

	// Unchanged run; then a change, a deletion and a single file.
	rep, err = Sync(ctx, vs, []string{dir}, Options{Attributes: map[string]any{"src": "cli"}})
	if err != nil || rep.Added != 0 || rep.Unchanged != 4 || rep.Updated != 0 {
		t.Errorf("unchanged run: %+v %v", rep, err)
	}
	write(t, dir, map[string]string{"sub/b.txt": "Bravo, changed."})
	os.Remove(filepath.Join(dir, "sub", "c.txt"))
	rep, err = Sync(ctx, vs, []string{dir}, Options{Attributes: map[string]any{"src": "cli"}})
	if err != nil || rep.Added != 1 || rep.Unchanged != 2 || rep.Removed != 1 {
		t.Errorf("changed run: %+v %v", rep, err)
	}
	m = byName(t, vs)
	if len(m) != 3 || m["b.txt"].Bytes != int64(len("Bravo, changed.")) {
		t.Errorf("files after the change: %v", m)
	}
	// A single file is synced alone: the folder's other files stay.
	other := filepath.Join(t.TempDir(), "x.txt")
	write(t, filepath.Dir(other), map[string]string{"x.txt": "X-ray."})
	if rep, err := Sync(ctx, vs, []string{other}, Options{}); err != nil || rep.Added != 1 || rep.Removed != 0 {
		t.Errorf("single file: %+v %v", rep, err)
	}
	if len(byName(t, vs)) != 4 {
		t.Errorf("single-file sync removed other files")
	}
	// A missing path fails before anything changes.
	if _, err := Sync(ctx, vs, []string{dir, filepath.Join(dir, "missing")}, Options{}); err == nil {
		t.Error("missing path accepted")
	}
}

func normalize(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		switch x := v.(type) {
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		}
		out[k] = v
	}
	return out
}

func TestSyncCancelled(t *testing.T) {
	vs := openVS(t)
	dir := t.TempDir()
	write(t, dir, map[string]string{"a.txt": "a", "b.txt": "b"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Sync(ctx, vs, []string{dir}, Options{}); err != context.Canceled {
		t.Errorf("cancelled Sync: %v, want context.Canceled", err)
	}
}

func TestFrontMatterAndValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]any
	}{
		{"---\nlang: en\nyear: 2024\ndraft: false\n---\nbody", map[string]any{"lang": "en", "year": 2024.0, "draft": false}},
		{"---\r\nlang: 'fr'  \r\nnested:\r\n  a: 1\r\nlist:\r\n- x\r\n---\r\n", map[string]any{"lang": "fr"}},
		{"---\nlang: en # comment\n---\n", map[string]any{"lang": "en"}},
		{"no front matter\n---\n", nil},
		{"---\nunterminated: yes\n", nil},
	} {
		if got := frontMatter([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("frontMatter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for in, want := range map[string]any{"1.5": 1.5, "true": true, "0x10": "0x10", `"42"`: "42", "plain": "plain", "": ""} {
		if got := ParseValue(in); got != want {
			t.Errorf("ParseValue(%q) = %#v, want %#v", in, got, want)
		}
	}
}
