// Package pdfium extracts the text of PDFs with PDFium, Chrome's PDF engine,
// compiled to WebAssembly (github.com/klippa-app/go-pdfium) and run by
// wazero: pure Go, no cgo, and sandboxed.
//
// The sandbox: each instance sees no file system and no stdout or stderr,
// its linear memory is capped (Config.MemoryLimit), a call in flight is
// aborted by closing the module when the caller's context ends, and every
// file gets a fresh instance, so no state or grown memory outlives a file.
// At most Config.Instances files are read at once; further callers wait.
//
// Start-up is lazy and paid once per process: the module (6 MB of wasm) is
// compiled on the first Extract, through wazero's compilation cache in the
// user's cache directory, so later processes load the compiled code from
// disk instead of compiling it again.
package pdfium

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	gopdfium "github.com/klippa-app/go-pdfium"
	pdferr "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Errors Extract returns, wrapped.
var (
	ErrPassword     = errors.New("pdfium: password missing or wrong")
	ErrSecurity     = errors.New("pdfium: unsupported encryption")
	ErrRefused      = errors.New("pdfium: cannot open the file")
	ErrTooManyPages = errors.New("pdfium: too many pages")
)

// Line is one line of a page's text, as PDFium's text order gives it.
type Line struct {
	Text   string
	Size   float64 // font size in points of the line's first and middle glyphs, the larger
	Weight int     // font weight of the line's first glyph (400 regular, 700 bold); 0 unknown
	Top    float64 // top of the line's first glyph, in page space (y grows upwards)
}

// Page is one page's text.
type Page struct {
	Lines []Line
}

// Bookmark is one entry of the document outline.
type Bookmark struct {
	Title string
	Page  int // 0-based page index, -1 when the entry has no page destination
	Level int // 0 for top-level entries
}

// Document is what Extract reads from a PDF.
type Document struct {
	Pages   []Page
	Outline []Bookmark
}

// Config sizes an Engine. The zero value means the defaults.
type Config struct {
	Instances   int    // files read at once; default 4
	MemoryLimit int64  // linear memory per instance in bytes; default 1 GiB, at most 4 GiB
	CacheDir    string // compilation cache; default <user cache dir>/quarry/wazero, "-" for none
}

// Engine reads PDFs with a lazily started pool of PDFium instances. It is
// safe for concurrent use.
type Engine struct {
	cfg  Config
	once sync.Once
	pool gopdfium.Pool
	err  error
}

// New returns an Engine; nothing is compiled or started until the first
// Extract.
func New(cfg Config) *Engine {
	if cfg.Instances <= 0 {
		cfg.Instances = 4
	}
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = 1 << 30
	}
	cfg.MemoryLimit = min(cfg.MemoryLimit, 4<<30)
	if cfg.CacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cfg.CacheDir = filepath.Join(d, "quarry", "wazero")
		}
	}
	return &Engine{cfg: cfg}
}

func (e *Engine) start() {
	rc := wazero.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(uint32(e.cfg.MemoryLimit >> 16))
	if e.cfg.CacheDir != "" && e.cfg.CacheDir != "-" {
		if c, err := wazero.NewCompilationCacheWithDir(e.cfg.CacheDir); err == nil {
			rc = rc.WithCompilationCache(c)
		}
	}
	e.pool, e.err = webassembly.Init(webassembly.Config{
		MinIdle:       0,
		MaxIdle:       0,
		MaxTotal:      e.cfg.Instances,
		FSConfig:      wazero.NewFSConfig(), // no file system at all
		RuntimeConfig: rc,
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if e.err != nil {
		e.err = fmt.Errorf("pdfium: start: %w", e.err)
	}
}

// Close stops the pool, if it was started.
func (e *Engine) Close() error {
	var err error
	e.once.Do(func() { e.err = errors.New("pdfium: engine closed") })
	if e.pool != nil {
		err = e.pool.Close()
	}
	return err
}

// Extract reads the text of every page of data, a PDF, opening it with
// password (nil for none: PDFium then tries the empty user password). It
// fails with ErrTooManyPages when the document has more than maxPages
// pages, with ctx.Err() (wrapped) when ctx ends first, and with
// ErrPassword, ErrSecurity or ErrRefused when PDFium cannot open it.
func (e *Engine) Extract(ctx context.Context, data []byte, password *string, maxPages int) (doc *Document, err error) {
	e.once.Do(e.start)
	if e.err != nil {
		return nil, e.err
	}
	inst, err := e.pool.GetInstanceWithContext(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pdfium: %w", ctx.Err())
		}
		return nil, fmt.Errorf("pdfium: instance: %w", err)
	}
	// The deadline closes the module under a call in flight; the instance is
	// then discarded, never reused.
	killed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		inst.Kill()
		close(killed)
	})
	defer func() {
		if stop() {
			inst.Close()
		} else {
			<-killed
		}
		if ctx.Err() != nil {
			doc, err = nil, fmt.Errorf("pdfium: %w", ctx.Err())
		}
	}()
	return extract(inst, data, password, maxPages)
}

func extract(p gopdfium.Pdfium, data []byte, password *string, maxPages int) (*Document, error) {
	od, err := p.OpenDocument(&requests.OpenDocument{File: &data, Password: password})
	if err != nil {
		switch {
		case errors.Is(err, pdferr.ErrPassword):
			return nil, ErrPassword
		case errors.Is(err, pdferr.ErrSecurity):
			return nil, ErrSecurity
		}
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	defer p.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: od.Document})
	pc, err := p.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: od.Document})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	// The declared page count comes from /Count, which a hostile file sets
	// to anything: pages are loaded one by one, the document ends after its
	// last page that loads, and 64 failures in a row end the walk.
	doc := &Document{}
	for i, fails := 0, 0; i < pc.PageCount && fails < 64; i++ {
		lines, err := pageLines(p, od.Document, i)
		if err != nil {
			if strings.Contains(err.Error(), "closed") {
				return nil, err
			}
			fails++
			continue // a page PDFium cannot load keeps no text but counts
		}
		fails = 0
		if i >= maxPages {
			return nil, ErrTooManyPages
		}
		for len(doc.Pages) < i {
			doc.Pages = append(doc.Pages, Page{})
		}
		doc.Pages = append(doc.Pages, Page{Lines: lines})
	}
	doc.Outline = outline(p, od.Document)
	return doc, nil
}

// maxOutline bounds the outline entries read from a document: an outline
// is a few hundred entries, a hostile one could be any number.
const maxOutline = 10000

// outline reads the document outline, depth first, at most maxOutline
// entries and 17 levels, through PDFium's bookmark calls one by one.
// go-pdfium's GetBookmarks follows /Next links for as long as they lead
// somewhere, so a cycle (a hostile file's last bookmark pointing back to
// the first) grew memory until the process died; the bounds here end a
// cycle after maxOutline entries.
func outline(p gopdfium.Pdfium, d references.FPDF_DOCUMENT) []Bookmark {
	var out []Bookmark
	var walk func(parent *references.FPDF_BOOKMARK, level int)
	walk = func(parent *references.FPDF_BOOKMARK, level int) {
		if level > 16 {
			return
		}
		fc, err := p.FPDFBookmark_GetFirstChild(&requests.FPDFBookmark_GetFirstChild{Document: d, Bookmark: parent})
		if err != nil {
			return
		}
		for b := fc.Bookmark; b != nil && len(out) < maxOutline; {
			title := ""
			if t, err := p.FPDFBookmark_GetTitle(&requests.FPDFBookmark_GetTitle{Bookmark: *b}); err == nil {
				title = strings.TrimSpace(t.Title)
			}
			out = append(out, Bookmark{Title: title, Page: bookmarkPage(p, d, *b), Level: level})
			walk(b, level+1)
			ns, err := p.FPDFBookmark_GetNextSibling(&requests.FPDFBookmark_GetNextSibling{Document: d, Bookmark: *b})
			if err != nil {
				return
			}
			b = ns.Bookmark
		}
	}
	walk(nil, 0)
	return out
}

// bookmarkPage is the 0-based page a bookmark leads to, through its
// destination or its action's, or -1.
func bookmarkPage(p gopdfium.Pdfium, d references.FPDF_DOCUMENT, b references.FPDF_BOOKMARK) int {
	var dest *references.FPDF_DEST
	if r, err := p.FPDFBookmark_GetDest(&requests.FPDFBookmark_GetDest{Document: d, Bookmark: b}); err == nil && r.Dest != nil {
		dest = r.Dest
	} else if a, err := p.FPDFBookmark_GetAction(&requests.FPDFBookmark_GetAction{Bookmark: b}); err == nil && a.Action != nil {
		if r, err := p.FPDFAction_GetDest(&requests.FPDFAction_GetDest{Document: d, Action: *a.Action}); err == nil {
			dest = r.Dest
		}
	}
	if dest == nil {
		return -1
	}
	r, err := p.FPDFDest_GetDestPageIndex(&requests.FPDFDest_GetDestPageIndex{Document: d, Dest: *dest})
	if err != nil {
		return -1
	}
	return r.Index
}

func pageLines(p gopdfium.Pdfium, d references.FPDF_DOCUMENT, index int) ([]Line, error) {
	pg, err := p.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: d, Index: index})
	if err != nil {
		return nil, err
	}
	defer p.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: pg.Page})
	tp, err := p.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: requests.Page{ByReference: &pg.Page}})
	if err != nil {
		return nil, err
	}
	defer p.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	cc, err := p.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil || cc.Count <= 0 {
		return nil, err
	}
	tx, err := p.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, StartIndex: 0, Count: cc.Count})
	if err != nil {
		return nil, err
	}
	// PDFium ends each line with a generated "\r\n"; character i of the text
	// is character i of the page (but for astral characters, which take two
	// UTF-16 units: indexes are clamped, and only font sizes can drift).
	var out []Line
	idx := 0
	for _, raw := range strings.Split(fixUTF8Pairs(tx.Text), "\n") {
		n := utf8.RuneCountInString(raw) + 1 // with the "\n"
		start := idx
		idx += n
		text := dehyphen(strings.TrimRight(raw, "\r"))
		lead := len(text) - len(strings.TrimLeft(text, " \t"))
		if strings.TrimSpace(text) == "" {
			continue
		}
		first := min(start+utf8.RuneCountInString(text[:lead]), cc.Count-1)
		mid := min(start+utf8.RuneCountInString(text)/2, cc.Count-1)
		l := Line{Text: text}
		for _, c := range []int{first, mid} {
			if fs, err := p.FPDFText_GetFontSize(&requests.FPDFText_GetFontSize{TextPage: tp.TextPage, Index: c}); err == nil {
				l.Size = max(l.Size, fs.FontSize)
			}
		}
		if fw, err := p.FPDFText_GetFontWeight(&requests.FPDFText_GetFontWeight{TextPage: tp.TextPage, Index: first}); err == nil {
			l.Weight = fw.FontWeight
		}
		if bx, err := p.FPDFText_GetCharBox(&requests.FPDFText_GetCharBox{TextPage: tp.TextPage, Index: first}); err == nil {
			l.Top = bx.Top
		}
		out = append(out, l)
	}
	return out, nil
}

// dehyphen resolves U+FFFE, which PDFium puts for a hyphen it found at the
// end of a line (and then joins the two lines): before a lower-case letter
// the word continues ("exam-ple" → "example"), else the hyphen stays and
// the line break becomes a space.
func dehyphen(s string) string {
	if !strings.ContainsRune(s, 0xFFFE) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if r != 0xFFFE {
			b.WriteRune(r)
			continue
		}
		next, _ := utf8.DecodeRuneInString(s[i+len(string(r)):])
		if !unicode.IsLower(next) {
			b.WriteString("- ")
		}
	}
	return b.String()
}

// fixUTF8Pairs repairs text whose fonts map each glyph to two UTF-8 bytes
// taken as one UTF-16 unit (a ToUnicode map written in UTF-8: "П", UTF-8
// D0 9F, comes out as U+D09F, a Hangul syllable). It decodes such runes
// back when the text has at least four runes in U+C280..U+DFBF and every
// one of them is a valid two-byte UTF-8 sequence, which genuine Korean text
// (syllables with any second byte) practically never is.
func fixUTF8Pairs(s string) string {
	n := 0
	for _, r := range s {
		if r >= 0xC280 && r <= 0xDFBF {
			if r&0xFF < 0x80 || r&0xFF > 0xBF {
				return s
			}
			n++
		}
	}
	if n < 4 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r >= 0xC280 && r <= 0xDFBF {
			q, _ := utf8.DecodeRune([]byte{byte(r >> 8), byte(r)})
			b.WriteRune(q)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
