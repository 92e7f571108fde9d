package lexical

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestIncrementalMatchesRebuild applies a random sequence of batches (adds,
// replacements, deletes, repeated IDs within a batch) to a persistent index
// that is closed and reopened along the way, and after every batch compares
// its scores with an index built from scratch from the surviving documents.
func TestIncrementalMatchesRebuild(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	words := strings.Fields("cat dog bird fish cow horse pig owl bee ant")
	text := func() string {
		n := 1 + r.IntN(12)
		w := make([]string, n)
		for i := range w {
			w[i] = words[r.IntN(len(words))]
		}
		return strings.Join(w, " ")
	}
	dir := filepath.Join(t.TempDir(), "idx")
	ix, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { ix.Close() }()
	live := map[uint64]Doc{}
	ctx := context.Background()
	for seq := uint64(1); seq <= 25; seq++ {
		var add []Doc
		var del []uint64
		for range r.IntN(8) {
			del = append(del, uint64(1+r.IntN(40)))
		}
		for range r.IntN(15) {
			d := Doc{ID: uint64(1 + r.IntN(40)), Text: text()}
			if r.IntN(3) == 0 {
				d.Title = text()
			}
			add = append(add, d)
		}
		if err := ix.Apply(ctx, seq, add, del); err != nil {
			t.Fatalf("Apply(%d) = %v", seq, err)
		}
		for _, id := range del {
			delete(live, id)
		}
		for _, d := range add {
			live[d.ID] = d
		}
		if r.IntN(4) == 0 {
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			if ix, err = Open(dir, Options{}); err != nil {
				t.Fatal(err)
			}
		}
		fresh, err := OpenMem(Options{})
		if err != nil {
			t.Fatal(err)
		}
		var docs []Doc
		for _, d := range live {
			docs = append(docs, d)
		}
		if err := fresh.Apply(ctx, seq, docs, nil); err != nil {
			t.Fatal(err)
		}
		if n, _ := ix.Count(); n != uint64(len(live)) {
			t.Fatalf("seq %d: Count() = %d, want %d", seq, n, len(live))
		}
		if s, _ := ix.Seq(); s != seq {
			t.Fatalf("Seq() = %d, want %d", s, seq)
		}
		for _, q := range []string{"cat", "dog owl", "bee bee ant horse"} {
			got := searchMap(t, ix, q, 100, nil)
			want := searchMap(t, fresh, q, 100, nil)
			if len(got) != len(want) {
				t.Fatalf("seq %d: Search(%q) = %v, want %v", seq, q, got, want)
			}
			for id, w := range want {
				if g := got[id]; math.Abs(g-w) > 1e-9 {
					t.Fatalf("seq %d: Search(%q) doc %d = %v, want %v", seq, q, id, g, w)
				}
			}
		}
		fresh.Close()
	}
	if err := ix.Apply(ctx, 3, nil, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Apply with a lower seq = %v, want ErrInvalid", err)
	}
}

func TestVocabulary(t *testing.T) {
	ix, err := OpenMem(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	mustApply(t, ix, 1, []Doc{{ID: 1, Text: "connection connected cones"}, {ID: 2, Text: "connecting zebra"}}, nil)
	got, err := ix.Vocabulary("con", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Term{{"cone", 1}, {"connect", 2}}
	if !slices.Equal(got, want) {
		t.Fatalf("Vocabulary(con) = %v, want %v", got, want)
	}
	if got, _ := ix.Vocabulary("", 1); len(got) != 1 {
		t.Fatalf("Vocabulary(\"\", 1) = %v, want one term", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		o    Options
		errs int
	}{
		{Options{}, 0},
		{Options{K1: 0.9, B: 0.4, TitleBoost: 1}, 0},
		{Options{K1: -1}, 1},
		{Options{B: 2, TitleBoost: -1, HeadingBoost: math.NaN()}, 3},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		n := 0
		if err != nil {
			n = strings.Count(err.Error(), "\n") + 1
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate(%+v) = %v, not ErrInvalid", tt.o, err)
			}
		}
		if n != tt.errs {
			t.Errorf("Validate(%+v) = %v, want %d problems", tt.o, err, tt.errs)
		}
	}
	if _, err := OpenMem(Options{B: 3}); !errors.Is(err, ErrInvalid) {
		t.Errorf("OpenMem(B: 3) = %v, want ErrInvalid", err)
	}
}

func TestOpenNotAnIndex(t *testing.T) {
	dir := t.TempDir()
	if err := writeFile(filepath.Join(dir, "x"), "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(non-index dir) = %v, want ErrCorrupt", err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }
