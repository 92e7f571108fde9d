package pdfium

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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
