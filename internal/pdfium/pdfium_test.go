package pdfium

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/quarrylabs/quarry/internal/shareddata"
)

// TestExtractShared reads every shared PDF: each either gives pages or
// fails with one of the package's errors, within the deadline.
func TestExtractShared(t *testing.T) {
	dir := shareddata.Path(t, "datasets/docs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	e := New(Config{Instances: 2})
	defer e.Close()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := time.Now()
		doc, err := e.Extract(ctx, data, nil, 10000)
		cancel()
		if err != nil {
			if !errors.Is(err, ErrPassword) && !errors.Is(err, ErrRefused) && !errors.Is(err, ErrSecurity) {
				t.Errorf("%s: %v", filepath.Base(f), err)
			}
			t.Logf("%s: %v", filepath.Base(f), err)
			continue
		}
		lines := 0
		for _, p := range doc.Pages {
			lines += len(p.Lines)
		}
		t.Logf("%s: %d pages, %d lines, %d outline entries, %v", filepath.Base(f), len(doc.Pages), lines, len(doc.Outline), time.Since(start))
	}
}

func TestFixUTF8Pairs(t *testing.T) {
	for in, want := range map[string]string{
		"\uD09F\uD0B5\uD180\uD0B2": "Перв",       // UTF-8 pairs taken as UTF-16
		"한국어 텍스트입니다":               "한국어 텍스트입니다", // genuine Korean stays
		"plain":                    "plain",
	} {
		if got := fixUTF8Pairs(in); got != want {
			t.Errorf("fixUTF8Pairs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDehyphen(t *testing.T) {
	for in, want := range map[string]string{
		"an exam\ufffeple": "an example",
		"Well\ufffeKnown":  "Well- Known",
		"none":             "none",
	} {
		if got := dehyphen(in); got != want {
			t.Errorf("dehyphen(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExtractDeadline checks that a deadline stops a file mid-way (the
// module is closed under the running call) and that the engine keeps
// working for the next file.
func TestExtractDeadline(t *testing.T) {
	dir := shareddata.Path(t, "datasets/docs")
	data, err := os.ReadFile(filepath.Join(dir, "pdfjs_freeculture.pdf"))
	if err != nil {
		t.Skip("pdfjs_freeculture.pdf not in the shared documents")
	}
	e := New(Config{Instances: 1})
	defer e.Close()
	if _, err := e.Extract(context.Background(), []byte("%PDF-1.4\n"), nil, 10); !errors.Is(err, ErrRefused) {
		t.Fatalf("Extract(header only) = %v, want ErrRefused", err) // also starts the engine
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = e.Extract(ctx, data, nil, 10000)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Extract(352 pages, 100 ms) = %v, want context.DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Extract returned %v after its 100 ms deadline", el)
	}
	doc, err := e.Extract(context.Background(), data, nil, 10000)
	if err != nil || len(doc.Pages) != 352 {
		t.Fatalf("Extract after a deadline = %v, want 352 pages", err)
	}
	if _, err := e.Extract(context.Background(), data, nil, 100); !errors.Is(err, ErrTooManyPages) {
		t.Errorf("Extract(maxPages 100) = %v, want ErrTooManyPages", err)
	}
}

// idle reports how many instances wait for a file, and the largest linear
// memory among them.
func (e *Engine) idleState() (n int, maxMem uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.idle {
		maxMem = max(maxMem, s.mem.size.Load())
	}
	return len(e.idle), maxMem
}

// TestReuseSameText reads every shared PDF with a fresh instance per file
// and with one reused instance: the documents must be identical, and the
// instance left idle within the reuse memory bound.
func TestReuseSameText(t *testing.T) {
	dir := shareddata.Path(t, "datasets/docs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if len(files) == 0 {
		t.Fatalf("no PDFs in %s", dir)
	}
	fresh := New(Config{Instances: 1, Reuse: 1})
	defer fresh.Close()
	reused := New(Config{Instances: 1, ReuseMemory: 512 << 20})
	defer reused.Close()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := fresh.Extract(context.Background(), data, nil, 10000)
		got, gerr := reused.Extract(context.Background(), data, nil, 10000)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || !reflect.DeepEqual(want, got) {
			t.Errorf("%s: reused instance gives (%d pages, %v), fresh (%d pages, %v)", filepath.Base(f), pages(got), gerr, pages(want), werr)
		}
		if n, _ := fresh.idleState(); n != 0 {
			t.Fatalf("Reuse 1 keeps %d idle instances", n)
		}
		if n, mem := reused.idleState(); n > 1 || mem > 512<<20 {
			t.Fatalf("after %s: %d idle instances, %d bytes of memory", filepath.Base(f), n, mem)
		}
	}
	n, mem := reused.idleState()
	t.Logf("idle instances %d, memory %d MiB", n, mem>>20)
}

func pages(d *Document) int {
	if d == nil {
		return 0
	}
	return len(d.Pages)
}

// TestReuseBounds: an instance is retired after Reuse files and closed
// after IdleTimeout unused.
func TestReuseBounds(t *testing.T) {
	pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	e := New(Config{Instances: 2, Reuse: 2, IdleTimeout: 200 * time.Millisecond})
	defer e.Close()
	for i, want := range []int{1, 0, 1} {
		if _, err := e.Extract(context.Background(), pdf, nil, 10); err != nil {
			t.Fatalf("file %d: %v", i+1, err)
		}
		if n, _ := e.idleState(); n != want {
			t.Errorf("after file %d: %d idle instances, want %d", i+1, n, want)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for n, _ := e.idleState(); n > 0; n, _ = e.idleState() {
		if time.Now().After(deadline) {
			t.Fatalf("%d instances still idle 10 s after a 200 ms idle timeout", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outlinePDF is a one-page PDF whose outline is two entries, A (to page
// 1, with a child C) and B; with cycle, B's /Next points back to A.
func outlinePDF(cycle bool) []byte {
	next := ""
	if cycle {
		next = "/Next 4 0 R"
	}
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R /Outlines 3 0 R >>",
		"<< /Type /Pages /Count 1 /Kids [7 0 R] >>",
		"<< /Type /Outlines /First 4 0 R /Last 5 0 R /Count 2 >>",
		"<< /Title (A) /Parent 3 0 R /Next 5 0 R /First 6 0 R /Last 6 0 R /Count 1 /Dest [7 0 R /Fit] >>",
		"<< /Title (B) /Parent 3 0 R /Prev 4 0 R " + next + " >>",
		"<< /Title (C) /Parent 4 0 R >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 8 0 R /Resources << /Font << /F1 9 0 R >> >> >>",
		"<< /Length 36 >>\nstream\nBT /F1 12 Tf 20 100 Td (hello) Tj ET\nendstream",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// TestOutline: outline titles, levels and pages are read; an outline whose
// sibling links form a cycle ends at maxOutline entries instead of growing
// memory until the process dies (go-pdfium's GetBookmarks did).
func TestOutline(t *testing.T) {
	e := New(Config{Instances: 1})
	defer e.Close()
	doc, err := e.Extract(context.Background(), outlinePDF(false), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Bookmark{{"A", 0, 0}, {"C", -1, 1}, {"B", -1, 0}}
	if fmt.Sprint(doc.Outline) != fmt.Sprint(want) {
		t.Errorf("outline %v, want %v", doc.Outline, want)
	}
	doc, err = e.Extract(context.Background(), outlinePDF(true), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Outline); n == 0 || n > maxOutline {
		t.Errorf("cyclic outline: %d entries, want 1..%d", n, maxOutline)
	}
	if len(doc.Pages) != 1 {
		t.Errorf("cyclic outline: %d pages, want 1", len(doc.Pages))
	}
}
