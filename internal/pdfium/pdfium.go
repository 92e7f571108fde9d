// Package pdfium extracts the text of PDFs with PDFium, Chrome's PDF engine,
// compiled to WebAssembly (github.com/klippa-app/go-pdfium) and run by
// wazy (github.com/samyfodil/wazy, go-pdfium's experimental/wazy backend):
// pure Go, no cgo, and sandboxed.
//
// The sandbox: each instance sees no file system and no stdout or stderr,
// its linear memory is capped (Config.MemoryLimit), and a call in flight is
// aborted when the caller's context ends (the instance is killed). wazy, a
// wazero fork, interrupts compiled code on a done context by design; wazero
// v1.12.0 needs WithCloseOnContextDone for that, which calls a trampoline at
// every loop header and made PDFium's text pages about 1.5 times slower
// (go-pdfium's own corpus: 4.4 times for rendering). At most
// Config.Instances files are read at once; further callers wait.
//
// An instance reads up to Config.Reuse files, one at a time: starting one
// costs more CPU than reading a small PDF, and PDFium's font and CMap
// caches carry over. It is closed instead of reused after a timeout or any
// call failing in an unusual way, once its linear memory has grown past
// Config.ReuseMemory (the memory of a wasm instance never shrinks), and
// after Config.IdleTimeout unused.
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
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	gopdfium "github.com/klippa-app/go-pdfium"
	pdferr "github.com/klippa-app/go-pdfium/errors"
	pdfiumwazy "github.com/klippa-app/go-pdfium/experimental/wazy"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/samyfodil/wazy"
	"github.com/samyfodil/wazy/api"
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
	CacheDir    string // compilation cache; default <user cache dir>/quarry/wazy, "-" for none
	// An instance is reused for up to Reuse files (default 64; 1 for a
	// fresh instance per file) while its linear memory stays at most
	// ReuseMemory bytes (default 128 MiB); one idle for IdleTimeout
	// (default 30 s) is closed.
	Reuse       int
	ReuseMemory int64
	IdleTimeout time.Duration
}

// Engine reads PDFs with a lazily started pool of PDFium instances. It is
// safe for concurrent use.
type Engine struct {
	cfg  Config
	once sync.Once
	pool gopdfium.Pool
	err  error

	slots chan struct{} // one token per instance in use
	mu    sync.Mutex    // guards idle, last, done and reap; serializes instantiation
	idle  []*slot
	last  *linearMemory // the memory the latest instantiation allocated
	done  bool
	reap  *time.Timer // closes instances idle too long; nil when none is idle
}

// slot is one PDFium instance with the linear memory that backs it.
type slot struct {
	inst  gopdfium.Pdfium
	mem   *linearMemory
	files int
	idle  time.Time // when it was last put back
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
			cfg.CacheDir = filepath.Join(d, "quarry", "wazy")
		}
	}
	if cfg.Reuse <= 0 {
		cfg.Reuse = 64
	}
	if cfg.ReuseMemory <= 0 {
		cfg.ReuseMemory = 128 << 20
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	return &Engine{cfg: cfg, slots: make(chan struct{}, cfg.Instances)}
}

func (e *Engine) start() {
	rc := wazy.NewRuntimeConfig().
		WithCoreFeatures(api.CoreFeaturesV2 | api.CoreFeatureExceptionHandling).
		WithMemoryLimitPages(uint32(e.cfg.MemoryLimit >> 16))
	if e.cfg.CacheDir != "" && e.cfg.CacheDir != "-" {
		if c, err := wazy.NewCompilationCacheWithDir(e.cfg.CacheDir); err == nil {
			rc = rc.WithCompilationCache(c)
		}
	}
	// The allocator lets the engine see each instance's memory: an instance
	// is created under e.mu, so the allocation it makes is e.last.
	alloc := api.MemoryAllocatorFunc(func(_, max uint64) api.LinearMemory {
		m := &linearMemory{max: min(max, uint64(e.cfg.MemoryLimit))}
		e.last = m
		return m
	})
	e.pool, e.err = pdfiumwazy.Init(pdfiumwazy.Config{
		Context:       api.WithMemoryAllocator(context.Background(), alloc),
		MinIdle:       0,
		MaxIdle:       0,
		MaxTotal:      e.cfg.Instances,
		FSConfig:      wazy.NewFSConfig(), // no file system at all
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
	e.once.Do(func() { e.err = errors.New("pdfium: engine closed") })
	e.mu.Lock()
	e.done = true
	idle := e.idle
	e.idle = nil
	if e.reap != nil {
		e.reap.Stop()
	}
	e.mu.Unlock()
	for _, s := range idle {
		s.inst.Close()
	}
	if e.pool != nil {
		return e.pool.Close()
	}
	return nil
}

// get returns an idle instance or a new one; the caller holds a token of
// e.slots.
func (e *Engine) get(ctx context.Context) (*slot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done {
		return nil, errors.New("pdfium: engine closed")
	}
	if n := len(e.idle); n > 0 {
		s := e.idle[n-1]
		e.idle = e.idle[:n-1]
		return s, nil
	}
	e.last = nil
	inst, err := e.pool.GetInstanceWithContext(ctx)
	if err != nil {
		return nil, err
	}
	if e.last == nil {
		inst.Close()
		return nil, errors.New("pdfium: instance memory not seen")
	}
	return &slot{inst: inst, mem: e.last}, nil
}

// put keeps s for the next file when it may be reused, else closes it.
func (e *Engine) put(s *slot, reuse bool) {
	s.files++
	reuse = reuse && s.files < e.cfg.Reuse && s.mem.size.Load() <= uint64(e.cfg.ReuseMemory)
	e.mu.Lock()
	if reuse && !e.done {
		s.idle = time.Now()
		e.idle = append(e.idle, s)
		s = nil
		if e.reap == nil {
			e.reap = time.AfterFunc(e.cfg.IdleTimeout, e.reapIdle)
		}
	}
	e.mu.Unlock()
	if s != nil {
		s.inst.Close()
	}
}

// reapIdle closes the instances idle for IdleTimeout or more, so a process
// that stops reading PDFs gives their memory back.
func (e *Engine) reapIdle() {
	e.mu.Lock()
	var old []*slot
	keep := e.idle[:0]
	for _, s := range e.idle {
		if time.Since(s.idle) >= e.cfg.IdleTimeout {
			old = append(old, s)
		} else {
			keep = append(keep, s)
		}
	}
	clear(e.idle[len(keep):])
	e.idle = keep
	e.reap = nil
	if len(keep) > 0 && !e.done {
		e.reap = time.AfterFunc(e.cfg.IdleTimeout-time.Since(keep[0].idle), e.reapIdle)
	}
	e.mu.Unlock()
	for _, s := range old {
		s.inst.Close()
	}
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
	select {
	case e.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("pdfium: %w", ctx.Err())
	}
	defer func() { <-e.slots }()
	s, err := e.get(ctx)
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
		s.inst.Kill()
		close(killed)
	})
	clean := false
	defer func() {
		if stop() {
			e.put(s, clean)
		} else {
			<-killed
		}
		if ctx.Err() != nil {
			doc, err = nil, fmt.Errorf("pdfium: %w", ctx.Err())
		}
	}()
	doc, clean, err = extract(s.inst, data, password, maxPages)
	return doc, err
}

// linearMemory backs one instance's linear memory with a Go slice, as
// wazero's own allocator does, and publishes its size.
type linearMemory struct {
	buf  []byte
	max  uint64
	size atomic.Uint64
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size > uint64(cap(m.buf)) {
		b := make([]byte, size, min(m.max, max(size, 2*uint64(cap(m.buf)))))
		copy(b, m.buf)
		m.buf = b
	}
	m.buf = m.buf[:size]
	m.size.Store(size)
	return m.buf
}

func (m *linearMemory) Free() { m.buf = nil }

// extract reads the document; clean reports whether the instance may read
// another file: every call succeeded or failed in the ordinary way.
func extract(p gopdfium.Pdfium, data []byte, password *string, maxPages int) (_ *Document, clean bool, _ error) {
	od, err := p.OpenDocument(&requests.OpenDocument{File: &data, Password: password})
	if err != nil {
		switch {
		case errors.Is(err, pdferr.ErrPassword):
			return nil, true, ErrPassword
		case errors.Is(err, pdferr.ErrSecurity):
			return nil, true, ErrSecurity
		}
		return nil, false, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	defer p.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: od.Document})
	pc, err := p.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: od.Document})
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	// The declared page count comes from /Count, which a hostile file sets
	// to anything: pages are loaded one by one, the document ends after its
	// last page that loads, and 64 failures in a row end the walk.
	doc := &Document{}
	clean = true
	for i, fails := 0, 0; i < pc.PageCount && fails < 64; i++ {
		lines, err := pageLines(p, od.Document, i)
		if err != nil {
			clean = false
			if strings.Contains(err.Error(), "closed") {
				return nil, false, err
			}
			fails++
			continue // a page PDFium cannot load keeps no text but counts
		}
		fails = 0
		if i >= maxPages {
			return nil, clean, ErrTooManyPages
		}
		for len(doc.Pages) < i {
			doc.Pages = append(doc.Pages, Page{})
		}
		doc.Pages = append(doc.Pages, Page{Lines: lines})
	}
	outline, ok := outline(p, od.Document)
	doc.Outline = outline
	return doc, clean && ok, nil
}

// maxOutline bounds the outline entries read from a document: an outline
// is a few hundred entries, a hostile one could be any number.
const maxOutline = 10000

// outline reads the document outline, depth first, at most maxOutline
// entries and 17 levels, through PDFium's bookmark calls one by one.
// go-pdfium's GetBookmarks follows /Next links for as long as they lead
// somewhere, so a cycle (a hostile file's last bookmark pointing back to
// the first) grew memory until the process died; the bounds here end a
// cycle after maxOutline entries. ok is false when a call failed (the
// instance is then retired, as after any unusual failure).
func outline(p gopdfium.Pdfium, d references.FPDF_DOCUMENT) (out []Bookmark, ok bool) {
	ok = true
	var walk func(parent *references.FPDF_BOOKMARK, level int)
	walk = func(parent *references.FPDF_BOOKMARK, level int) {
		if level > 16 {
			return
		}
		fc, err := p.FPDFBookmark_GetFirstChild(&requests.FPDFBookmark_GetFirstChild{Document: d, Bookmark: parent})
		if err != nil {
			ok = false
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
				ok = false
				return
			}
			b = ns.Bookmark
		}
	}
	walk(nil, 0)
	return out, ok
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
		if bx, err := p.FPDFText_GetLooseCharBox(&requests.FPDFText_GetLooseCharBox{TextPage: tp.TextPage, Index: first}); err == nil {
			l.Top = float64(bx.Rect.Top)
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
