package lexical

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueryTermsCapAndWeights: distinct terms in order of first appearance,
// repeats add weight, at most MaxQueryTerms distinct terms.
func TestQueryTermsCapAndWeights(t *testing.T) {
	ix, err := Open(filepath.Join(t.TempDir(), "idx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	got := ix.queryTerms("zebra dog zebra zebra dog quark")
	want := []WeightedTerm{{"zebra", 3}, {"dog", 2}, {"quark", 1}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("queryTerms = %v, want %v", got, want)
	}
	var b strings.Builder
	for i := range 3 * MaxQueryTerms {
		fmt.Fprintf(&b, "w%dx ", i)
	}
	b.WriteString("w0x w5000x") // a kept term repeated, a dropped one
	got = ix.queryTerms(b.String())
	if len(got) != MaxQueryTerms {
		t.Fatalf("%d distinct terms kept, want %d", len(got), MaxQueryTerms)
	}
	if got[0].Term != "w0x" || got[0].Weight != 2 || got[MaxQueryTerms-1].Term != fmt.Sprintf("w%dx", MaxQueryTerms-1) {
		t.Fatalf("first %v, last %v", got[0], got[MaxQueryTerms-1])
	}
}

// BenchmarkQueryTerms: cost per distinct term; compare 10k with 40k terms
// (linear: the ns/op ratio is about 4, quadratic would be 16).
func BenchmarkQueryTerms(b *testing.B) {
	ix, err := Open(filepath.Join(b.TempDir(), "idx"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	for _, n := range []int{10000, 40000} {
		var sb strings.Builder
		for i := range n {
			fmt.Fprintf(&sb, "t%x ", i*2654435761)
		}
		q := sb.String()
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				ix.queryTerms(q)
			}
		})
	}
}
