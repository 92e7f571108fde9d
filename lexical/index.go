package lexical

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/quarrylabs/quarry/filter"
)

// Doc is one unit of retrieval (a chunk). Text, Title, Filename and Headings
// are analyzed into separate fields with their own BM25 statistics and
// boosts; Attributes are indexed for filters only. Attribute values are
// string, float64 (other Go numbers are converted) or bool; values of other
// types make the key present but match no comparison except ne and nin.
type Doc struct {
	ID         uint64
	Text       string
	Filename   string
	Title      string
	Headings   []string
	Attributes map[string]any
}

// Hit is one search result.
type Hit struct {
	ID    uint64
	Score float64
}

// Index is a BM25 index over one bleve scorch index. It is safe for
// concurrent use: searches run in parallel with each other and with Apply;
// Apply calls are serialized.
type Index struct {
	opts     Options
	analyzer analysis.Analyzer

	mu     sync.RWMutex // guards bi against Close; held shared by every call
	bi     bleve.Index  // nil after Close
	closed bool

	wmu sync.Mutex // serializes Apply

	persisted atomic.Uint64 // the highest sequence known to be on disk

	ids idTables // internal document numbers to ids, per segment

	// gen counts batches: odd while one is being applied. dfs caches
	// document frequencies read at an even gen, for CollectionProbs.
	gen atomic.Uint64
	dfs dfCache
}

// Open opens the index in dir, creating it when dir is missing or empty.
func Open(dir string, opts Options) (*Index, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	empty, err := emptyDir(dir)
	if err != nil {
		return nil, fmt.Errorf("lexical: open %s: %w", dir, err)
	}
	var bi bleve.Index
	if empty {
		bi, err = bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, nil)
	} else {
		if _, serr := os.Stat(filepath.Join(dir, "index_meta.json")); serr != nil {
			return nil, fmt.Errorf("%w: %s is not a lexical index (no index_meta.json)", ErrCorrupt, dir)
		}
		bi, err = bleve.Open(dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lexical: open %s: %w", dir, translate(err))
	}
	return newIndex(bi, opts)
}

// OpenMem returns an index held in memory only (a scorch index without a
// directory), scored exactly like a persistent one.
func OpenMem(opts Options) (*Index, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	bi, err := bleve.NewUsing("", newMapping(), scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("lexical: open in memory: %w", translate(err))
	}
	return newIndex(bi, opts)
}

func newIndex(bi bleve.Index, opts Options) (*Index, error) {
	ix := &Index{opts: opts.withDefaults(), analyzer: newAnalyzer(), bi: bi}
	// Read the stats once so a corrupt index fails at Open.
	seq, err := ix.Seq()
	if err != nil {
		bi.Close()
		return nil, err
	}
	ix.persisted.Store(seq)
	return ix, nil
}

func emptyDir(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(ents) == 0, nil
}

// newMapping is a mapping that indexes nothing by itself: documents are
// built field by field in Apply, so bleve's mapping and analyzer registry are
// not consulted.
func newMapping() *mapping.IndexMappingImpl {
	m := bleve.NewIndexMapping()
	m.DefaultMapping.Dynamic = false
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

// translate maps bleve's errors to this package's sentinels; other errors
// are flattened to text so no bleve type reaches callers.
func translate(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrClosed), errors.Is(err, ErrCorrupt), errors.Is(err, ErrInvalid),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, bleve.ErrorIndexClosed):
		return ErrClosed
	case errors.Is(err, bleve.ErrorIndexMetaCorrupt), errors.Is(err, bleve.ErrorIndexMetaMissing),
		errors.Is(err, bleve.ErrorUnknownIndexType):
		return fmt.Errorf("%w: %v", ErrCorrupt, err)
	case errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %v", syscall.ENOSPC, err) // a full disk stays recognizable (store.ErrNoSpace)
	}
	return errors.New(err.Error())
}

// Close releases the index. It waits for calls in progress; later calls
// return ErrClosed. Close is idempotent.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	err := ix.bi.Close()
	ix.bi = nil
	return translate(err)
}

// reader returns a snapshot reader with the stats stored in it. The caller
// must hold ix.mu shared and close the reader.
func (ix *Index) reader() (bindex.IndexReader, stats, error) {
	if ix.closed {
		return nil, stats{}, ErrClosed
	}
	adv, err := ix.bi.Advanced()
	if err != nil {
		return nil, stats{}, translate(err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, stats{}, translate(err)
	}
	b, err := r.GetInternal([]byte(statsKey))
	if err != nil {
		r.Close()
		return nil, stats{}, translate(err)
	}
	st, err := decodeStats(b)
	if err != nil {
		r.Close()
		return nil, stats{}, err
	}
	return r, st, nil
}

// Seq returns the sequence number recorded by the last Apply, 0 for a new
// index.
func (ix *Index) Seq() (uint64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, st, err := ix.reader()
	if err != nil {
		return 0, err
	}
	r.Close()
	return st.Seq, nil
}

// Count returns the number of documents in the index.
func (ix *Index) Count() (uint64, error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, _, err := ix.reader()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n, err := r.DocCount()
	return n, translate(err)
}

func docKey(id uint64) string { return strconv.FormatUint(id, 10) }

// analyzed is one document ready for the batch.
type analyzed struct {
	doc *document.Document
	len lengths
}

// Apply adds, replaces and deletes documents in one atomic bleve batch that
// also records seq and the updated collection statistics: a reader sees all
// of it or none of it, and after a crash the index holds a prefix of the
// applied batches whose Seq says which. Deletes are applied before adds, so
// an ID in both ends up added. A document whose ID is already indexed is
// replaced. seq must not be lower than Seq().
//
// Apply returns once the batch is visible to searches; scorch persists it to
// disk in the background, and PersistedSeq tells when.
func (ix *Index) Apply(ctx context.Context, seq uint64, add []Doc, del []uint64) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	r, st, err := ix.reader()
	if err != nil {
		return err
	}
	defer r.Close()
	if seq < st.Seq {
		return fmt.Errorf("%w: apply seq %d is lower than the index's %d", ErrInvalid, seq, st.Seq)
	}

	docs, err := ix.analyzeAll(ctx, add)
	if err != nil {
		return err
	}

	b := ix.bi.NewBatch()
	// pending holds the lengths of documents added earlier in this batch;
	// gone marks IDs whose committed version was already subtracted.
	pending := make(map[uint64]lengths, len(add))
	gone := make(map[uint64]bool, len(del))
	remove := func(id uint64) error {
		if l, ok := pending[id]; ok {
			st.add(l, -1)
			delete(pending, id)
			return nil
		}
		if gone[id] {
			return nil
		}
		gone[id] = true
		old, err := storedLengths(r, id)
		if err != nil {
			return err
		}
		if old != nil {
			st.add(*old, -1)
			b.Delete(docKey(id))
		}
		return nil
	}
	for _, id := range del {
		if err := remove(id); err != nil {
			return err
		}
	}
	for i := range docs {
		id := add[i].ID
		if err := remove(id); err != nil {
			return err
		}
		if err := b.IndexAdvanced(docs[i].doc); err != nil {
			return fmt.Errorf("lexical: index document %d: %w", id, translate(err))
		}
		pending[id] = docs[i].len
		st.add(docs[i].len, +1)
	}
	st.Seq = seq
	b.SetInternal([]byte(statsKey), st.encode())
	if err := ctx.Err(); err != nil {
		return err
	}
	// Scorch persists batches in order: this one on disk means every
	// earlier one is.
	b.SetPersistedCallback(func(err error) {
		for err == nil {
			old := ix.persisted.Load()
			if seq <= old || ix.persisted.CompareAndSwap(old, seq) {
				return
			}
		}
	})
	ix.gen.Add(1) // odd: frequencies read now are not cached
	err = ix.bi.Batch(b)
	ix.gen.Add(1)
	if err != nil {
		return fmt.Errorf("lexical: apply seq %d: %w", seq, translate(err))
	}
	return nil
}

// PersistedSeq returns the highest sequence whose Apply scorch has written
// to disk (or that was on disk at Open): a crash after it loses no batch up
// to it. Under load scorch may persist many seconds after Apply returns.
// An index held in memory (OpenMem) never persists.
func (ix *Index) PersistedSeq() uint64 { return ix.persisted.Load() }

// storedLengths returns the field lengths recorded for id, or nil when id is
// not indexed.
func storedLengths(r bindex.IndexReader, id uint64) (*lengths, error) {
	d, err := r.Document(docKey(id))
	if err != nil {
		return nil, translate(err)
	}
	if d == nil {
		return nil, nil
	}
	var (
		l     lengths
		found bool
		derr  error
	)
	d.VisitFields(func(f bindex.Field) {
		if f.Name() == lengthsField {
			found = true
			l, derr = decodeLengths(f.Value())
		}
	})
	if derr != nil {
		return nil, derr
	}
	if !found {
		return nil, fmt.Errorf("%w: document %d has no recorded lengths", ErrCorrupt, id)
	}
	return &l, nil
}

// analyzeAll analyzes docs on all CPUs.
func (ix *Index) analyzeAll(ctx context.Context, docs []Doc) ([]analyzed, error) {
	out := make([]analyzed, len(docs))
	workers := min(runtime.GOMAXPROCS(0), (len(docs)+63)/64)
	if workers <= 1 {
		for i := range docs {
			out[i] = ix.analyzeDoc(&docs[i])
		}
		return out, ctx.Err()
	}
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := range next {
				for i := start; i < min(start+64, len(docs)); i++ {
					out[i] = ix.analyzeDoc(&docs[i])
				}
			}
		}()
	}
	for start := 0; start < len(docs) && ctx.Err() == nil; start += 64 {
		next <- start
	}
	close(next)
	wg.Wait()
	return out, ctx.Err()
}

func (ix *Index) analyzeDoc(d *Doc) analyzed {
	doc := document.NewDocument(docKey(d.ID))
	var l lengths
	texts := [numFields]string{d.Text, d.Title, d.Filename, joinHeadings(d.Headings)}
	for f, text := range texts {
		if text == "" {
			continue
		}
		ts := ix.analyzer.Analyze([]byte(text))
		if len(ts) == 0 {
			continue
		}
		l[f] = uint64(len(ts))
		doc.AddField(document.NewTextFieldCustom(fieldNames[f], nil, nil, bindex.IndexField, fixedAnalyzer(ts)))
	}
	doc.AddField(document.NewTextFieldCustom(lengthsField, nil, l.encode(), bindex.StoreField, nil))
	addAttributes(doc, d.Attributes)
	return analyzed{doc: doc, len: l}
}

func joinHeadings(hs []string) string {
	switch len(hs) {
	case 0:
		return ""
	case 1:
		return hs[0]
	}
	n := 0
	for _, h := range hs {
		n += len(h) + 1
	}
	b := make([]byte, 0, n)
	for i, h := range hs {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, h...)
	}
	return string(b)
}

// Attribute fields. A key k is recorded in presenceField, and its value in
// one field per type, so a string and a number never share a term space.
const (
	presenceField = "_attr"
	stringPrefix  = "s."
	numberPrefix  = "n."
	boolPrefix    = "b."
	// stringMark starts every indexed string value so "" is a real term;
	// it keeps byte order, so term ranges compare like strings.Compare.
	stringMark = "v"
)

func addAttributes(doc *document.Document, attrs map[string]any) {
	for k, v := range attrs {
		doc.AddField(document.NewTextFieldCustom(presenceField, nil, []byte(k), bindex.IndexField, nil))
		switch x := filter.Normalize(v).(type) {
		case string:
			doc.AddField(document.NewTextFieldCustom(stringPrefix+k, nil, []byte(stringMark+x), bindex.IndexField, nil))
		case float64:
			if !math.IsNaN(x) {
				doc.AddField(document.NewNumericFieldWithIndexingOptions(numberPrefix+k, nil, x, bindex.IndexField))
			}
		case bool:
			doc.AddField(document.NewBooleanFieldWithIndexingOptions(boolPrefix+k, nil, x, bindex.IndexField))
		}
	}
}
