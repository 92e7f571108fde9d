package parse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestOfficeDump(t *testing.T) {
	f := os.Getenv("OFFICE_DUMP")
	if f == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(f)
	doc, err := parseZip(context.Background(), filepath.Base(f), data, officeOpts())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("type=%s pages=%d\n", doc.Type, doc.Pages)
	for _, s := range doc.Sections {
		fmt.Printf("--- kind=%d page=%d label=%q head=%q hdr=%q\n%s", s.Kind, s.Page, s.PageLabel, s.Headings, s.Header, doc.Text[s.Start:s.End])
	}
}
