package parse

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/text/encoding/unicode"
)

func TestDetect(t *testing.T) {
	utf16 := string(encodeText(t, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), "plain words in UTF-16\n"))
	tests := []struct {
		name, head, want string
	}{
		{"report.pdf", "%PDF-1.7\n", "pdf"},
		{"report.txt", "%PDF-1.4\n%\xe2\xe3", "pdf"},
		{"junk-before.bin", strings.Repeat("x", 500) + "%PDF-1.4\n1 0 obj", "pdf"},
		{"about-pdf.md", "# PDF headers\n\nA file starts with %PDF-1.7 and ends with %%EOF.", "markdown"},
		{"late.txt", strings.Repeat("x", 1100) + "%PDF-1.4", "text"},
		{"doc.docx", "PK\x03\x04\x14\x00", "docx"},
		{"renamed.zip", "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml....word/document.xml", "docx"},
		{"noext", "PK\x03\x04\x14\x00\x00\x00xl/workbook.xml", "xlsx"},
		{"archive.zip", "PK\x03\x04\x14\x00\x00\x00other.bin", "zip"},
		{"old.doc", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "doc"},
		{"old.txt", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "doc"},
		{"pic.md", "\x89PNG\r\n\x1a\n\x00\x00", "png"},
		{"a.jpg", "\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"},
		{"a.gif", "GIF89a\x01\x00", "gif"},
		{"a.gz", "\x1f\x8b\x08\x00", "gzip"},
		{"a.7z", "7z\xbc\xaf\x27\x1c\x00\x04", "7z"},
		{"prog", "\x7fELF\x02\x01\x01\x00", "elf"},
		{"prog.exe", "MZ\x90\x00\x03\x00\x00\x00", "exe"},
		{"Mzansi.txt", "MZansi is a word", "text"},
		{"blob.txt", "abc\x00\x01\x02\x00\x00\x00\x00\x00\x05", "binary"},
		{"u16.txt", utf16, "text"},
		{"u16-noext", utf16, "text"},
		{"notes.md", "# Title", "markdown"},
		{"NOTES.MD", "# Title", "markdown"},
		{"page.htm", "<p>x", "html"},
		{"data.json", "{}", "json"},
		{"a.jsonl", "{}\n{}", "jsonl"},
		{"a.yml", "a: 1", "yaml"},
		{"a.tsx", "export {}", "code"},
		{"a.toml", "[a]", "config"},
		{"a.unknown", "text", "text"},
		{"x.service", "[Unit]\nDescription=the quarry server\n", "text"},
		{"README.Debian", "Debian notes.\n", "text"},
		{"go.mod", "module example.com/x\n", "text"},
		{"boot.s", "\t.globl main\nmain:\n\tret\n", "text"},
		{"noise.unknown", "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12", ""},
		{"a.unknown", "", ""},
		{"fake.docx", "just text", "text"},
		{"notes.pdf", "plain text in disguise\n", "text"},
		{"headless.pdf", "1 0 obj\n<< /Type /Catalog >>\nendobj\n", "pdf"},
		{"broken.docx", "\x00\x01zip-ish", "docx"},
		{"empty.pdf", "", "pdf"},
		{"page.doc", "<html><body>Word web page", "html"},
		{"plain.doc", "just words", "text"},
		{"broken.doc", "\x00\x01binary", "doc"},
		{"README", "# Hello\n\ntext", "markdown"},
		{"page", "<!DOCTYPE html><html>", "html"},
		{"feed", "<?xml version=\"1.0\"?><rss>", "xml"},
		{"data", "  {\"a\": 1}", "json"},
		{"rows", "{\"a\": 1}\n{\"a\": 2}\n", "jsonl"},
		{"arr", "[1, 2]", "json"},
		{"settings", "[section]\nkey=1", "text"},
		{"run", "#!/bin/sh\necho hi", "code"},
		{"LICENSE", "Permission is hereby granted", "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.name, []byte(tt.head)); got != tt.want {
				t.Errorf("Detect(%q, %.20q) = %q, want %q", tt.name, tt.head, got, tt.want)
			}
		})
	}
}

func TestSupported(t *testing.T) {
	for name, want := range map[string]bool{
		"a.txt": true, "a.MD": true, "a.pdf": true, "a.docx": true, "a.xlsx": true, "a.pptx": true,
		"a.doc": true, "a.go": true, "a.yml": true, "a.jsonl": true, "Makefile": true, "dir/a.tex": true,
		"a.png": false, "a.exe": false, "a.zip": false, "a.xls": false, "a.bin": false,
	} {
		if got := Supported(name); got != want {
			t.Errorf("Supported(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestDispatch checks that content wins over the name: Parse hands PDF,
// zip and OLE2 bytes to their readers whatever the extension. Those readers
// may reject these stubs; what matters is that the text reader never sees them.
func TestDispatch(t *testing.T) {
	for _, tt := range []struct{ name, data, typ string }{
		{"report.txt", "%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n", "pdf"},
		{"renamed.zip", "PK\x03\x04\x14\x00\x00\x00word/document.xml", "docx"},
		{"noext", "PK\x03\x04\x14\x00\x00\x00ppt/presentation.xml", "pptx"},
		{"old.md", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + strings.Repeat("\x00", 100), "doc"},
	} {
		doc, err := Parse(context.Background(), tt.name, strings.NewReader(tt.data), nil)
		if err == nil && doc.Type == "text" || err == nil && doc.Type == "markdown" {
			t.Errorf("Parse(%q) read %s bytes as %s", tt.name, tt.typ, doc.Type)
		}
		var perr *Error
		if err != nil && !errors.As(err, &perr) {
			t.Errorf("Parse(%q) error %v is not a *parse.Error", tt.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "extension") {
			t.Errorf("Parse(%q) judged by extension: %v", tt.name, err)
		}
	}
}
