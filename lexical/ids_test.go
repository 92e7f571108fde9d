package lexical

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/blevesearch/bleve/v2/index/scorch"
)

// TestIDTables compares the per-segment id tables with scorch's
// ExternalID for every document number of an index of many segments with
// deletes, before and after the tables are built, and after more batches.
func TestIDTables(t *testing.T) {
	ctx := context.Background()
	// In memory, no merger runs: one segment per batch.
	ix, err := OpenMem(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	apply := func(seq uint64, from, to int, del []uint64) {
		var docs []Doc
		for i := from; i < to; i++ {
			docs = append(docs, Doc{ID: uint64(i * 7), Text: fmt.Sprintf("word%d common", i%13)})
		}
		if err := ix.Apply(ctx, seq, docs, del); err != nil {
			t.Fatal(err)
		}
	}
	check := func() {
		t.Helper()
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		r, _, err := ix.reader()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		snap := r.(*scorch.IndexSnapshot)
		var total uint64
		for _, s := range snap.Segments() {
			total += s.Segment().Count()
		}
		if len(snap.Segments()) < 2 {
			t.Fatalf("only %d segment(s)", len(snap.Segments()))
		}
		nums := make([]uint64, total)
		for n := range nums {
			nums[n] = uint64(n)
		}
		got, err := ix.ids.resolve(r, nums)
		if err != nil {
			t.Fatal(err)
		}
		var key [8]byte
		for n, id := range got {
			binary.BigEndian.PutUint64(key[:], uint64(n))
			ext, err := r.ExternalID(key[:])
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := parseID(ext); id != want {
				t.Fatalf("document %d: id %d, ExternalID says %d", n, id, want)
			}
		}
	}
	for b := range 12 {
		apply(uint64(b+1), b*50, b*50+50, []uint64{uint64(b * 7 * 13)})
	}
	check()
	check() // from the built tables
	apply(13, 600, 700, []uint64{0, 7, 14})
	check()
	hits, err := ix.Search(ctx, "common", 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for _, h := range hits {
		if h.ID%7 != 0 || h.ID/7 >= 700 || seen[h.ID] {
			t.Fatalf("hit id %d is not a live document or repeats", h.ID)
		}
		seen[h.ID] = true
	}
	if want := 700 - 12 - 2; len(hits) != want { // ids 0, 7*13*b (b<12) and 7, 14 deleted; 0 counted once
		t.Errorf("%d hits for a term in every document, want %d", len(hits), want)
	}
}
