package main

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/folder"
	"github.com/quarrylabs/quarry/store"
)

// Defect 1: no arguments, help on every command, bad flags.
func TestHelpAndExitCodes(t *testing.T) {
	out, _, code := quarryCode(t)
	if code != 0 || !strings.Contains(out, "Usage: quarry COMMAND") {
		t.Errorf("quarry: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "index"}, {"help", "bench", "ann"}} {
		if out, _, code := quarryCode(t, args...); code != 0 || !strings.Contains(out, "Usage: quarry") {
			t.Errorf("quarry %v: exit %d\n%s", args, code, out)
		}
	}
	// Every command and subcommand, with -h and --help, anywhere in the line.
	var paths [][]string
	for _, l := range leaves() {
		paths = append(paths, strings.Fields(l.path))
	}
	paths = append(paths, []string{"bench"})
	for _, p := range paths {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, p...), h)
			out, errOut, code := quarryCode(t, args...)
			if code != 0 || errOut != "" {
				t.Errorf("quarry %v: exit %d, stderr %q", args, code, errOut)
			}
			if !strings.Contains(out, "Usage: quarry "+strings.Join(p, " ")) {
				t.Errorf("quarry %v: no usage line:\n%s", args, out)
			}
			if len(p) > 1 || p[0] != "bench" {
				if !strings.Contains(out, "Examples:\n  ") {
					t.Errorf("quarry %v: no examples:\n%s", args, out)
				}
			}
		}
	}
	// A bad flag: exit 2, one line on stderr, nothing on stdout.
	for _, args := range [][]string{{"index", "--bogus", "x"}, {"search", "-max-results", "abc", "q"}, {"nope"}, {"bench", "nope"}, {"completion", "tcsh"}, {"search", "--store"}} {
		out, errOut, code := quarryCode(t, args...)
		if code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "quarry: ") {
			t.Errorf("quarry %v: exit %d, stdout %q, stderr %q; want 2 and one line", args, code, out, errOut)
		}
	}
	if _, errOut, _ := quarryCode(t, "index", "--bogus", "x"); !strings.Contains(errOut, "--bogus") || !strings.Contains(errOut, "quarry index --help") {
		t.Errorf("bad flag message = %q", errOut)
	}
}

// Defect 2: help shows the positional arguments, states defaults once,
// uses flag names, and lists only the flags that apply.
func TestHelpText(t *testing.T) {
	for _, l := range leaves() {
		var out strings.Builder
		l.c.help(&out)
		h := out.String()
		if strings.Contains(h, "Usage of") {
			t.Errorf("%s: raw flag dump:\n%s", l.path, h)
		}
		for _, line := range strings.Split(h, "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("%s: default stated twice: %q", l.path, line)
			}
		}
		if strings.Contains(h, "max_num_results") {
			t.Errorf("%s: API name in help:\n%s", l.path, h)
		}
		if !strings.Contains(h, "Usage: quarry "+l.path+" "+l.c.args) {
			t.Errorf("%s: usage line lacks the arguments %q", l.path, l.c.args)
		}
	}
	for _, cmd := range []string{"ls", "rm", "show"} {
		out, _, _ := quarryCode(t, cmd, "--help")
		if strings.Contains(out, "--embedder") || strings.Contains(out, "--dimensions") {
			t.Errorf("quarry %s --help lists embedder flags:\n%s", cmd, out)
		}
		if _, errOut, code := quarryCode(t, cmd, "--embedder", "local", "x"); code != 2 || !strings.Contains(errOut, "unknown flag --embedder") {
			t.Errorf("quarry %s --embedder: exit %d %q", cmd, code, errOut)
		}
	}
	out, _, _ := quarryCode(t, "search", "--help")
	if !strings.Contains(out, "-n, --max-results N") || !strings.Contains(out, "(default 10)") {
		t.Errorf("search help:\n%s", out)
	}
}

// Defect 3: --version and completion.
func TestVersion(t *testing.T) {
	out, _, code := quarryCode(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "quarry ") {
		t.Errorf("--version: exit %d %q", code, out)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "3f2a1bc9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3"},
		{Key: "vcs.time", Value: "2026-12-03T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	if got, want := formatVersion(bi), "quarry v0.3.0 (rev 3f2a1bc9d8e7, 2026-12-03, modified; go1.26.8)"; got != want {
		t.Errorf("formatVersion = %q, want %q", got, want)
	}
}

func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	out, _, code := quarryCode(t, "completion", "bash")
	if code != 0 {
		t.Fatal("completion bash failed")
	}
	script := filepath.Join(t.TempDir(), "quarry.bash")
	if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) string {
		t.Helper()
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", `set -e; source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _quarry; printf '%s\n' "${COMPREPLY[@]}"`, "bash", script)
		cmd.Args = append(cmd.Args, words...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash completion of %v: %v\n%s", q, err, b)
		}
		return string(b)
	}
	if got := complete("quarry", "in"); strings.TrimSpace(got) != "index" {
		t.Errorf("quarry in<TAB> = %q, want index", got)
	}
	if got := complete("quarry", ""); !strings.Contains(got, "search\n") || !strings.Contains(got, "completion\n") {
		t.Errorf("quarry <TAB> = %q", got)
	}
	if got := complete("quarry", "index", "--ve"); !strings.Contains(got, "--verbose") || !strings.Contains(got, "--vector-store") {
		t.Errorf("quarry index --ve<TAB> = %q", got)
	}
	if got := complete("quarry", "ls", "--"); strings.Contains(got, "--embedder") || !strings.Contains(got, "--stores") {
		t.Errorf("quarry ls --<TAB> = %q", got)
	}
	if got := complete("quarry", "bench", ""); !strings.Contains(got, "ann\n") || !strings.Contains(got, "ir\n") {
		t.Errorf("quarry bench <TAB> = %q", got)
	}
	if got := complete("quarry", "bench", "ann", "--p"); !strings.Contains(got, "--plot") || !strings.Contains(got, "--peer") {
		t.Errorf("quarry bench ann --p<TAB> = %q", got)
	}
	if got := complete("quarry", "completion", "f"); strings.TrimSpace(got) != "fish" {
		t.Errorf("quarry completion f<TAB> = %q", got)
	}
	// zsh and fish scripts are generated from the same table.
	for _, sh := range []string{"zsh", "fish"} {
		out, _, code := quarryCode(t, "completion", sh)
		if code != 0 || !strings.Contains(out, "index") || !strings.Contains(out, "vector-store") {
			t.Errorf("completion %s: exit %d\n%.300s", sh, code, out)
		}
	}
	if zsh, err := exec.LookPath("zsh"); err == nil {
		out, _, _ := quarryCode(t, "completion", "zsh")
		if b, err := exec.Command(zsh, "-c", out).CombinedOutput(); err != nil {
			t.Errorf("zsh script: %v\n%s", err, b)
		}
	}
	if fish, err := exec.LookPath("fish"); err == nil {
		out, _, _ := quarryCode(t, "completion", "fish")
		if b, err := exec.Command(fish, "-c", out).CombinedOutput(); err != nil {
			t.Errorf("fish script: %v\n%s", err, b)
		}
	}
}

// Defect 4: single files, several paths; read-only and failed commands
// create nothing.
func TestIndexFilesAndNoStoreCreation(t *testing.T) {
	root := t.TempDir()
	docs := filepath.Join(root, "docs")
	writeFiles(t, docs, map[string]string{"a.md": "# A\n\nAardvarks dig burrows.\n", "b.txt": "Beavers build dams.\n", "more/c.txt": "Camels store fat.\n"})
	for _, args := range [][]string{
		{"search", "--store", filepath.Join(root, "s1"), "q"},
		{"ls", "--store", filepath.Join(root, "s2")},
		{"rm", "--store", filepath.Join(root, "s3"), "x"},
		{"show", "--store", filepath.Join(root, "s4"), "x"},
		{"index", "--store", filepath.Join(root, "s5"), filepath.Join(root, "nonexistent")},
		{"index", "--store", filepath.Join(root, "s6"), "--attr", "novalue", docs},
	} {
		_, errOut, code := quarryCode(t, args...)
		if code != 2 {
			t.Errorf("quarry %v: exit %d, want 2", args, code)
		}
		if strings.Count(errOut, "\n") != 1 {
			t.Errorf("quarry %v: stderr %q, want one line", args, errOut)
		}
		for _, s := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
			if _, err := os.Stat(filepath.Join(root, s)); err == nil {
				t.Fatalf("quarry %v created store %s", args, s)
			}
		}
	}
	st := filepath.Join(root, "st")
	out, errOut, err := quarry(t, "index", "--store", st, filepath.Join(docs, "a.md"), filepath.Join(docs, "more"))
	if err != nil || !strings.Contains(out, "2 added") || !strings.Contains(out, "indexed 2 paths") {
		t.Fatalf("index a file and a folder: %v\n%s%s", err, out, errOut)
	}
	out, _, _ = quarry(t, "ls", "--store", st)
	if !strings.Contains(out, "a.md") || !strings.Contains(out, "c.txt") || strings.Contains(out, "b.txt") {
		t.Errorf("ls after indexing a.md and more/:\n%s", out)
	}
	// Indexing a single file leaves the folder's other files alone.
	if out, _, err := quarry(t, "index", "--store", st, filepath.Join(docs, "b.txt")); err != nil || !strings.Contains(out, "1 added, 0 unchanged, 0 removed") {
		t.Errorf("index b.txt: %v %s", err, out)
	}
	out, _, _ = quarry(t, "ls", "--store", st)
	if strings.Count(out, "completed") != 3 {
		t.Errorf("ls:\n%s", out)
	}
}

// Defect 5: quiet by default, -v lists skips, failures once.
func TestIndexNoise(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	files := map[string]string{"good.md": "# Good\n\nA fine document.\n", "broken.pdf": "%PDF-1.7\n garbage that is no pdf"}
	for i := range 30 {
		files[filepath.Join("bin", string(rune('a'+i%26))+strings.Repeat("x", i/26)+".png")] = "\x89PNG\r\n\x1a\n\x00\x00"
	}
	writeFiles(t, docs, files)
	out, errOut, err := quarry(t, "index", "--store", st, docs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "failed") || !strings.Contains(errOut, "broken.pdf") {
		t.Errorf("first run stderr = %q, want one failure line", errOut)
	}
	if !strings.Contains(out, "30 skipped, 1 failed") {
		t.Errorf("summary = %q", out)
	}
	// A no-op run does not reprint the failure, but says so; -v lists.
	out, errOut, _ = quarry(t, "index", "--store", st, docs)
	if errOut != "" || !strings.Contains(out, "0 failed (1 failed earlier: -v lists them)") {
		t.Errorf("no-op run: stdout %q stderr %q", out, errOut)
	}
	_, errOut, _ = quarry(t, "index", "-v", "--store", st, docs)
	if strings.Count(errOut, "skipped ") != 30 || !strings.Contains(errOut, "failed earlier") {
		t.Errorf("-v stderr:\n%s", errOut)
	}
	// -q: the summary line only, on a clean run (scripts read it).
	out, errOut, _ = quarry(t, "index", "-q", "--store", st, filepath.Join(docs, "good.md"))
	if !strings.HasPrefix(out, "indexed ") || strings.Count(out, "\n") != 1 || errOut != "" {
		t.Errorf("-q printed %q %q", out, errOut)
	}
}

// The progress display knows the total from the start, shows the walk,
// files/s and ETA, and erases itself.
func TestProgressBar(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	files := map[string]string{}
	for i := range 40 {
		files[filepath.Join("d", string(rune('a'+i%26))+strings.Repeat("y", i/26)+".txt")] = "text number " + strings.Repeat("z", i)
	}
	writeFiles(t, docs, files)
	var errOut strings.Builder
	e := &env{stdout: &strings.Builder{}, stderr: &errOut, tty: true}
	sf := &storeFlags{dir: st, embedder: "local"}
	if err := indexPaths(t.Context(), e, sf, []string{docs}, nil, false, false); err != nil {
		t.Fatal(err)
	}
	s := errOut.String()
	if !strings.Contains(s, "scanning… ") || !strings.Contains(s, " files found") {
		t.Errorf("no walk phase in %q", s)
	}
	for _, frame := range strings.Split(s, "\r\033[K") {
		if strings.HasPrefix(frame, "[") && !strings.Contains(frame, "/40 files") {
			t.Errorf("progress frame %q does not know the total of 40", frame)
		}
	}
	if !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("progress not erased at the end: %q", s[max(0, len(s)-80):])
	}
	b := &progressBar{w: &errOut}
	errOut.Reset()
	b.indexStart = time.Now().Add(-2 * time.Second)
	b.update(folder.Progress{Phase: folder.PhaseIndex, Done: 10, Total: 40})
	if !strings.Contains(errOut.String(), "files/s") || !strings.Contains(errOut.String(), "ETA") {
		t.Errorf("progress line without rate and ETA: %q", errOut.String())
	}
}

// Defect 6: an error says what is wrong once.
func TestErrorsOnce(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	writeFiles(t, docs, map[string]string{"a.txt": "alpha"})
	if _, _, err := quarry(t, "index", "--store", st, docs); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := quarryCode(t, "search", "--store", st, "--vector-store", "default", "--vector-store", "nope", "alpha")
	if code != 2 || strings.Count(errOut, "nope") != 1 || strings.Contains(errOut, "not found: ") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("unknown vector store: exit %d, %q", code, errOut)
	}
}

// Defect 7: results grouped by file, in the search's order (a file where
// its best-ranked result stands; scores are absolute and need not fall in
// that order); exit 1 on no results.
func TestSearchOutput(t *testing.T) {
	res := &store.SearchResults{SearchQuery: []string{"glacier melt"}, Data: []store.SearchResult{
		{FileID: "f1", Filename: "/x/a.md", Score: 0.5, Content: []store.ChunkResult{{Text: "Glaciers melt in spring.", Score: 0.5, Headings: []string{"Ice", "Melt"}, PageStart: 2}}},
		{FileID: "f2", Filename: "/x/b.md", Score: 0.9, Content: []store.ChunkResult{{Text: "The glacier melt rate.", Score: 0.9, Index: 3}}},
		{FileID: "f1", Filename: "/x/a.md", Score: 0.7, Content: []store.ChunkResult{{Text: "Melt water from the glacier.", Score: 0.7, PageStart: 4, PageEnd: 5}}},
	}}
	var b strings.Builder
	printResults(&b, res, "glacier melt", false)
	out := b.String()
	if strings.Count(out, "a.md") != 1 || strings.Count(out, "b.md") != 1 {
		t.Errorf("a file repeats:\n%s", out)
	}
	ia, ib := strings.Index(out, "1. /x/a.md  0.700"), strings.Index(out, "2. /x/b.md  0.900")
	if ia < 0 || ib < ia {
		t.Errorf("files not numbered in result order (with their best score):\n%s", out)
	}
	if i, j := strings.Index(out, "[p. 2, § Ice › Melt] Glaciers melt"), strings.Index(out, "[pp. 4-5] Melt water"); i < 0 || j < i {
		t.Errorf("chunks of a.md not in result order with one-line citations:\n%s", out)
	}
	if strings.Contains(out, "\033[") {
		t.Errorf("colours without a terminal:\n%q", out)
	}
	b.Reset()
	printResults(&b, res, "glacier melt", true)
	if !strings.Contains(b.String(), ansiMatch+"Glaciers"+ansiReset) {
		t.Errorf("no match highlight with colour on:\n%q", b.String())
	}

	st, docs := t.TempDir(), t.TempDir()
	writeFiles(t, docs, map[string]string{"a.txt": "Penguins huddle for warmth in the Antarctic winter."})
	if _, _, err := quarry(t, "index", "--store", st, docs); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := quarryCode(t, "search", "--store", st, "--score-threshold", "0.99", "--ranker", "none", "completely unrelated words")
	if code != 1 || out != "" || errOut != "no results\n" {
		t.Errorf("no results: exit %d, stdout %q, stderr %q; want 1, nothing, \"no results\"", code, out, errOut)
	}
	out, _, code = quarryCode(t, "search", "--json", "--store", st, "--score-threshold", "0.99", "--ranker", "none", "completely unrelated words")
	var r store.SearchResults
	if code != 1 || json.Unmarshal([]byte(out), &r) != nil {
		t.Errorf("--json no results: exit %d %q", code, out)
	}
	if _, _, code := quarryCode(t, "search", "--store", st, "penguins huddle"); code != 0 {
		t.Errorf("search with results: exit %d", code)
	}
}

// Defect 8: attributes from --attr, front matter and .quarry.json make
// --filter work from the command line.
func TestAttributesFromCLI(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	writeFiles(t, docs, map[string]string{
		"infra/.quarry.json": `{"attributes": {"team": "infra"}, "files": {"deploy.md": {"year": 2024}}}`,
		"infra/deploy.md":    "# Deploy\n\nRoll back a deploy with the release tool.\n",
		"web/notes.md":       "---\ntitle: Notes\nteam: web\ndraft: true\n---\n# Notes\n\nRoll back the web deploy from the dashboard.\n",
	})
	if _, _, err := quarry(t, "index", "--store", st, "--attr", "source=wiki", docs); err != nil {
		t.Fatal(err)
	}
	search := func(filter string) string {
		out, _, _ := quarryCode(t, "search", "--json", "--store", st, "--filter", filter, "roll back deploy")
		var r store.SearchResults
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("filter %s: %v\n%s", filter, err, out)
		}
		var names []string
		for _, d := range r.Data {
			names = append(names, filepath.Base(d.Filename))
		}
		return strings.Join(names, ",")
	}
	if got := search(`{"type":"eq","key":"team","value":"infra"}`); got != "deploy.md" {
		t.Errorf("team=infra: %q", got)
	}
	if got := search(`{"type":"eq","key":"team","value":"web"}`); got != "notes.md" {
		t.Errorf("team=web (front matter): %q", got)
	}
	if got := search(`{"type":"eq","key":"year","value":2024}`); got != "deploy.md" {
		t.Errorf("year=2024 (sidecar files entry): %q", got)
	}
	if got := search(`{"type":"eq","key":"draft","value":true}`); got != "notes.md" {
		t.Errorf("draft=true: %q", got)
	}
	if got := search(`{"type":"eq","key":"source","value":"wiki"}`); !strings.Contains(got, "deploy.md") || !strings.Contains(got, "notes.md") {
		t.Errorf("source=wiki (--attr): %q", got)
	}
	// Changing a sidecar updates the attributes of unchanged files.
	writeFiles(t, docs, map[string]string{"infra/.quarry.json": `{"attributes": {"team": "platform"}}`})
	out, _, err := quarry(t, "index", "--store", st, "--attr", "source=wiki", docs)
	if err != nil || !strings.Contains(out, "0 added, 2 unchanged") {
		t.Errorf("re-index: %v %s", err, out)
	}
	if got := search(`{"type":"eq","key":"team","value":"platform"}`); got != "deploy.md" {
		t.Errorf("after the sidecar changed, team=platform: %q", got)
	}
}

// Defect 9: detection by content, whatever the name.
func TestContentDetection(t *testing.T) {
	st, docs := t.TempDir(), t.TempDir()
	writeFiles(t, docs, map[string]string{
		"README":      "Plain text without an extension about otters.\n",
		"fake.txt":    "\x00\x01\x02\x03binary\x00data\x00",
		"real-pdf.md": "",
	})
	out, errOut, err := quarry(t, "index", "-v", "--store", st, docs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1 added") || !strings.Contains(errOut, "fake.txt: binary data") || !strings.Contains(errOut, "real-pdf.md: empty file") {
		t.Errorf("index: %s\n%s", out, errOut)
	}
	if strings.Contains(errOut, "failed") {
		t.Errorf("binary named .txt reached the parser and failed:\n%s", errOut)
	}
}

// Defect 10: benchmarks on the user's data, with a hint when the shared
// data is missing.
func TestBenchData(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nothing")
	for _, args := range [][]string{
		{"bench", "ir", "--shared", missing},
		{"bench", "search", "--shared", missing},
		{"bench", "ann", "--shared", missing, "--peer=false"},
	} {
		_, errOut, code := quarryCode(t, args...)
		if code != 2 || !strings.Contains(errOut, "--shared DIR") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("quarry %v: exit %d, %q; want a one-line hint of --shared", args, code, errOut)
		}
	}
	_, errOut, code := quarryCode(t, "bench", "ir", "--data", t.TempDir())
	if code != 2 || !strings.Contains(errOut, "not a BEIR dataset") || !strings.Contains(errOut, "corpus.jsonl") {
		t.Errorf("bench ir --data EMPTY: exit %d %q", code, errOut)
	}
	// Any .fvecs folder.
	dir := filepath.Join(t.TempDir(), "tiny")
	os.Mkdir(dir, 0o755)
	writeFvecs := func(name string, n, dim int) {
		var b []byte
		for i := range n {
			b = append(b, byte(dim), 0, 0, 0)
			for j := range dim {
				f := float32((i*7+j*3)%11) + float32(i)/float32(n)
				u := math.Float32bits(f)
				b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFvecs("base.fvecs", 300, 4)
	writeFvecs("query.fvecs", 10, 4)
	svg := filepath.Join(t.TempDir(), "p.svg")
	out, errOut, code := quarryCode(t, "bench", "ann", "--data", dir, "--peer=false", "--plot", svg)
	if code != 0 || !strings.Contains(out, "## tiny: 300 × 4, 10 queries, l2") {
		t.Fatalf("bench ann --data: exit %d\n%s\n%s", code, out, errOut)
	}
	if fi, err := os.Stat(svg); err != nil || fi.Size() == 0 {
		t.Errorf("no plot written: %v", err)
	}
}

// Defect 9, the rest: text with an extension the parser does not know
// (README.Debian, .service, go.mod, .s), and text named .pdf, are indexed
// as text (parse.Detect decides by content).
func TestUnknownExtensionText(t *testing.T) {
	text := []byte("[Unit]\nDescription=the quarry server\n")
	st, docs := t.TempDir(), t.TempDir()
	writeFiles(t, docs, map[string]string{"quarry.service": string(text), "README.Debian": "Debian notes.\n", "go.mod": "module example.com/x\n", "notes.pdf": "plain text in disguise\n"})
	out, errOut, err := quarry(t, "index", "--store", st, docs)
	if err != nil || !strings.Contains(out, "4 added") || !strings.Contains(out, "0 failed") {
		t.Errorf("index: %v\n%s%s", err, out, errOut)
	}
}
