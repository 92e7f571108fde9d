package parse

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/quarrylabs/quarry/internal/cputime"
	"github.com/quarrylabs/quarry/internal/shareddata"
)

// recallFloor is the mean word recall against pdftotext that
// TestPDFFidelity requires over the shared PDFs (the target).
const recallFloor = 0.93

// belowRecall lists the shared PDFs whose recall is under 0.9, with the
// reason, read from the two texts. Any other file under 0.9 fails the test.
var belowRecall = map[string]string{
	// pdftotext prints Latin-1 mojibake ("¹ØÓÚºì¾ü") where PDFium gives the
	// Chinese table of contents ("关 于 红 军 作 战"): the reference is wrong.
	"pdfjs_XiaoBiaoSong.pdf": "pdftotext mojibake; PDFium reads the Chinese text",
	// Fonts without a usable ToUnicode map: PDFium gives punctuation
	// ("% + & C #") for most body glyphs, pdftotext symbols ("ǣ ǡ Ȍ") plus
	// run-together words ("Thedegreetowhichanindividual"); both are garbled.
	"pdfjs_TAMReview.pdf": "broken font encodings; both texts garbled",
	// Thai: PDFium splits lines before combining vowel marks ("ต\nั้\nงฉาก"),
	// so some words are cut in two; the letters are all there.
	"pdfjs_issue13211.pdf": "Thai combining marks split into their own lines",
}

// recallWords counts the words of s as shared/tools/textrecall.py does:
// NFKC, lower case, runs of letters, digits and underscores; a word with a
// CJK character counts each of its characters as a word.
func recallWords(s string) map[string]int {
	s = strings.ToLower(norm.NFKC.String(s))
	out := map[string]int{}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_')
	}) {
		cjk := false
		for _, r := range w {
			if isRecallCJK(r) {
				cjk = true
				break
			}
		}
		if !cjk {
			out[w]++
			continue
		}
		for _, r := range w {
			out[string(r)]++
		}
	}
	return out
}

func isRecallCJK(r rune) bool {
	return r >= 0x3040 && r <= 0x30ff || r >= 0x3400 && r <= 0x9fff || r >= 0xac00 && r <= 0xd7af || r >= 0xf900 && r <= 0xfaff
}

// wordRecall is the share of ref's words (as a multiset) that ours has, and
// the number of words of ref.
func wordRecall(ours, ref string) (float64, int) {
	o, r := recallWords(ours), recallWords(ref)
	hit, total := 0, 0
	for w, c := range r {
		total += c
		hit += min(c, o[w])
	}
	if total == 0 {
		return 1, 0
	}
	return float64(hit) / float64(total), total
}

// pdftotext returns poppler's text of the file at path, or skips the test
// when pdftotext is not installed.
func pdftotext(tb testing.TB, path string) string {
	tb.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		tb.Skip("pdftotext not installed (apt-get install poppler-utils)")
	}
	out, err := exec.Command(bin, "-q", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

// TestPDFFidelity compares parse's text of each shared PDF with pdftotext's,
// word by word: the mean recall must reach recallFloor, no file pdftotext
// reads (20 words or more) may be rejected, and every file under 0.9 must be
// listed in belowRecall with its reason.
func TestPDFFidelity(t *testing.T) {
	dir := shareddata.Path(t, "datasets/docs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if len(files) == 0 {
		t.Skip("no PDFs in the shared documents")
	}
	if raceScale > 1 {
		t.Skip("text fidelity does not depend on the race detector; run without -race")
	}
	type row struct {
		name   string
		recall float64
	}
	var rows []row
	sum := 0.0
	for _, f := range files {
		name := filepath.Base(f)
		ref := pdftotext(t, f)
		rec, n := wordRecall("", ref)
		if n < 20 {
			continue // no text layer for pdftotext either
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		o := (&Options{}).withDefaults()
		doc, err := parsePDF(context.Background(), name, data, &o)
		if err != nil {
			t.Errorf("%s: rejected (%v) but pdftotext reads %d words", name, err, n)
		} else {
			rec, _ = wordRecall(doc.Text, ref)
		}
		rows = append(rows, row{name, rec})
		sum += rec
		why, listed := belowRecall[name]
		switch {
		case rec < 0.9 && !listed:
			t.Errorf("%s: recall %.3f < 0.9 and not listed in belowRecall", name, rec)
		case rec >= 0.9 && listed:
			t.Errorf("%s: recall %.3f >= 0.9 but listed in belowRecall (%s): remove it", name, rec, why)
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].recall < rows[j].recall })
	for _, r := range rows {
		t.Logf("%.3f %s", r.recall, r.name)
	}
	mean := sum / float64(len(rows))
	t.Logf("mean word recall %.3f over %d PDFs", mean, len(rows))
	if mean < recallFloor {
		t.Errorf("mean word recall %.3f < floor %.2f", mean, recallFloor)
	}
}

// BenchmarkPDFThroughput compares parsePDF (PDFium, what quarry index
// runs), parsePDFLegacy (the old reader alone) and pdftotext (one process
// per file, as a user would run it) on the same files, one after the other
// in each iteration: the shared PDFs, and a generated set of multi-page
// books. It reports parsePDF's pages/s and MB/s and, per peer, the speed
// ratio per page (above 1: parsePDF is faster) twice: by wall time
// (speed_vs_*) and by CPU time (cpu_vs_*), which a busy shared machine
// disturbs much less. Each engine's pages are those it read (a file it
// rejects adds its time and no pages); pdftotext is credited with
// parsePDF's pages. The engine is started (module compiled or loaded from
// the cache) before the timer.
func BenchmarkPDFThroughput(b *testing.B) {
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		b.Skip("pdftotext not installed (apt-get install poppler-utils)")
	}
	b.Run("shared", func(b *testing.B) {
		dir := shareddata.Path(b, "datasets/docs")
		files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
		if len(files) == 0 {
			b.Skip("no shared PDFs")
		}
		benchPDFEngines(b, bin, files)
	})
	b.Run("books", func(b *testing.B) {
		dir := b.TempDir()
		var files []string
		for i := range 8 {
			f := filepath.Join(dir, fmt.Sprintf("book%d.pdf", i))
			if err := os.WriteFile(f, bookPDF(i, 40), 0o644); err != nil {
				b.Fatal(err)
			}
			files = append(files, f)
		}
		benchPDFEngines(b, bin, files)
	})
}

// bookPDF returns a generated PDF of n pages of Flate-compressed prose, with
// a larger heading line on every page; seed varies the words.
func bookPDF(seed, n int) []byte {
	words := strings.Fields("the of retrieval engine vector store index search query page document chunk token embedding ranking recall precision latency throughput memory budget stream filter heading paragraph section outline reader parser")
	var pages [][]byte
	k := seed
	for p := range n {
		var c bytes.Buffer
		fmt.Fprintf(&c, "BT /F1 18 Tf 72 740 Td (Chapter %d.%d) Tj ET\nBT /F1 10 Tf 12 TL 72 710 Td\n", seed, p+1)
		for range 50 {
			var l strings.Builder
			for range 12 {
				k = (k*1103515245 + 12345) & 0x7fffffff
				l.WriteString(words[k%len(words)])
				l.WriteByte(' ')
			}
			fmt.Fprintf(&c, "(%s) Tj T*\n", strings.TrimSpace(l.String()))
		}
		c.WriteString("ET\n")
		pages = append(pages, deflate(c.Bytes()))
	}
	return textPDF("%PDF-1.4", " /Filter /FlateDecode", pages...)
}

func benchPDFEngines(b *testing.B, bin string, files []string) {
	var docs [][]byte
	var size int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, data)
		size += int64(len(data))
	}
	o := (&Options{}).withDefaults()
	parsePDF(context.Background(), "warm-up", docs[0], &o) // compile or load the module
	type meter struct {
		wall, cpu time.Duration
		pages     int
	}
	var ours, legacy, poppler meter
	run := func(m *meter, f func() int) {
		c0, _ := cputime.Process()
		t0 := time.Now()
		m.pages += f()
		m.wall += time.Since(t0)
		c1, _ := cputime.Process()
		m.cpu += c1 - c0
	}
	b.ResetTimer()
	for range b.N {
		run(&ours, func() (n int) {
			for j, d := range docs {
				if doc, err := parsePDF(context.Background(), files[j], d, &o); err == nil {
					n += doc.Pages
				}
			}
			return n
		})
		run(&legacy, func() (n int) {
			for j, d := range docs {
				if doc, err := parsePDFLegacy(context.Background(), files[j], d, &o); err == nil {
					n += doc.Pages
				}
			}
			return n
		})
		t0 := time.Now()
		for _, f := range files {
			cmd := exec.Command(bin, "-q", "-enc", "UTF-8", f, "-")
			cmd.Output()
			if cmd.ProcessState != nil {
				poppler.cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			}
		}
		poppler.wall += time.Since(t0)
	}
	b.StopTimer()
	poppler.pages = ours.pages
	perPage := func(m meter, d time.Duration) float64 { return float64(m.pages) / d.Seconds() }
	b.ReportMetric(perPage(ours, ours.wall), "pages/s")
	b.ReportMetric(float64(size)*float64(b.N)/ours.wall.Seconds()/1e6, "MB/s")
	b.ReportMetric(perPage(ours, ours.wall)/perPage(legacy, legacy.wall), "speed_vs_legacy")
	b.ReportMetric(perPage(ours, ours.wall)/perPage(poppler, poppler.wall), "speed_vs_pdftotext")
	if ours.cpu > 0 && legacy.cpu > 0 && poppler.cpu > 0 {
		b.ReportMetric(perPage(ours, ours.cpu)/perPage(legacy, legacy.cpu), "cpu_vs_legacy")
		b.ReportMetric(perPage(ours, ours.cpu)/perPage(poppler, poppler.cpu), "cpu_vs_pdftotext")
	}
}
