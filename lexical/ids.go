package lexical

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/blevesearch/bleve/v2/index/scorch"
	bindex "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// idTables resolves internal document numbers to our uint64 ids without
// reading stored fields per hit: scorch's ExternalID decompresses a stored
// document for each call, about a tenth of a 1,000-deep query. Segments are
// immutable, so each one's table of ids (indexed by local document number)
// is built once, on first use, and dropped when a later snapshot no longer
// holds the segment. It costs 8 bytes per document.
type idTables struct {
	mu     sync.Mutex
	tables map[segment.Segment][]uint64
}

// resolve returns the ids of the internal document numbers nums of r.
func (t *idTables) resolve(r bindex.IndexReader, nums []uint64) ([]uint64, error) {
	out := make([]uint64, len(nums))
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		var key [8]byte
		for i, n := range nums {
			binary.BigEndian.PutUint64(key[:], n)
			ext, err := r.ExternalID(key[:])
			if err != nil {
				return nil, fmt.Errorf("lexical: resolve document: %w", translate(err))
			}
			if out[i], err = parseID(ext); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	segs := snap.Segments()
	// Global numbers are local numbers plus the segment's offset, the
	// running count of the segments before it (as scorch computes them).
	offsets := make([]uint64, len(segs))
	var running uint64
	for i, s := range segs {
		offsets[i] = running
		running += s.Segment().Count()
	}
	tables := make([][]uint64, len(segs))
	for i, n := range nums {
		si := sort.Search(len(offsets), func(x int) bool { return offsets[x] > n }) - 1
		if si < 0 || n >= running {
			return nil, fmt.Errorf("%w: document number %d outside the index", ErrCorrupt, n)
		}
		if tables[si] == nil {
			tab, err := t.table(segs[si].Segment(), segs)
			if err != nil {
				return nil, err
			}
			tables[si] = tab
		}
		out[i] = tables[si][n-offsets[si]]
	}
	return out, nil
}

// table returns seg's ids, building them when needed (outside the lock,
// so searches on other segments do not wait); segs is the snapshot's
// segment list, whose absent entries are dropped.
func (t *idTables) table(seg segment.Segment, segs []*scorch.SegmentSnapshot) ([]uint64, error) {
	t.mu.Lock()
	tab, ok := t.tables[seg]
	t.mu.Unlock()
	if ok {
		return tab, nil
	}
	tab = make([]uint64, seg.Count())
	for n := range tab {
		v, err := seg.DocID(uint64(n))
		if err != nil {
			return nil, fmt.Errorf("lexical: resolve document: %w", translate(err))
		}
		if tab[n], err = parseID(string(v)); err != nil {
			return nil, err
		}
	}
	live := make(map[segment.Segment]bool, len(segs))
	for _, s := range segs {
		live[s.Segment()] = true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for s := range t.tables {
		if !live[s] {
			delete(t.tables, s)
		}
	}
	if t.tables == nil {
		t.tables = map[segment.Segment][]uint64{}
	}
	t.tables[seg] = tab
	return tab, nil
}

func parseID(ext string) (uint64, error) {
	u, err := strconv.ParseUint(ext, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: document id %q", ErrCorrupt, ext)
	}
	return u, nil
}
