package rerank

import (
	"errors"
	"math"
	"testing"
)

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func checkScored(t *testing.T, name string, got, want []Scored) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", name, got, want)
	}
	for i := range got {
		if got[i].ID != want[i].ID || !approx(got[i].Score, want[i].Score) {
			t.Fatalf("%s = %v, want %v (at %d)", name, got, want, i)
		}
	}
}

func TestFuse(t *testing.T) {
	a := []Scored{{1, 10}, {2, 5}, {3, 0}}
	b := []Scored{{3, 0.9}, {1, 0.5}}
	tests := []struct {
		name   string
		method Fusion
		lists  []List
		k      int
		want   []Scored
	}{
		{
			// d1 = 1/61+1/62, d3 = 1/63+1/61, d2 = 1/62; best = 2/61.
			name: "rrf equal weights", method: RRF, lists: []List{{Items: a}, {Items: b}},
			want: []Scored{
				{1, (1.0/61 + 1.0/62) / (2.0 / 61)},
				{3, (1.0/63 + 1.0/61) / (2.0 / 61)},
				{2, (1.0 / 62) / (2.0 / 61)},
			},
		},
		{
			name: "rrf empty method is rrf", method: "", lists: []List{{Items: a}, {Items: b}},
			want: []Scored{{1, 0.5 + 61.0/124}, {3, 0.5 + 61.0/126}, {2, 61.0 / 124}},
		},
		{
			// weights 2 and 1: best = 3/61.
			name: "rrf weighted", method: RRF, lists: []List{{Items: a, Weight: 2}, {Items: b, Weight: 1}},
			want: []Scored{
				{1, (2.0/61 + 1.0/62) / (3.0 / 61)},
				{3, (2.0/63 + 1.0/61) / (3.0 / 61)},
				{2, (2.0 / 62) / (3.0 / 61)},
			},
		},
		{
			name: "rrf k=1", method: RRF, lists: []List{{Items: a}}, k: 1,
			want: []Scored{{1, 1}, {2, (1.0 / 3) / (1.0 / 2)}, {3, (1.0 / 4) / (1.0 / 2)}},
		},
		{
			name: "rrf first everywhere scores 1", method: RRF, lists: []List{{Items: []Scored{{7, 0}, {8, 0}}}, {Items: []Scored{{7, 0}}, Weight: 3}},
			want: []Scored{{7, 1}, {8, (1.0 / 62) / (4.0 / 61)}},
		},
		{
			name: "rrf negative weight drops list", method: RRF, lists: []List{{Items: a}, {Items: b, Weight: -1}},
			want: []Scored{{1, 1}, {2, 61.0 / 62}, {3, 61.0 / 63}},
		},
		{
			name: "rrf duplicate id counts once at best rank", method: RRF, lists: []List{{Items: []Scored{{5, 0}, {6, 0}, {5, 0}}}},
			want: []Scored{{5, 1}, {6, 61.0 / 62}},
		},
		{
			name: "rrf ties broken by id", method: RRF, lists: []List{{Items: []Scored{{9, 0}}}, {Items: []Scored{{4, 0}}}},
			want: []Scored{{4, 0.5}, {9, 0.5}},
		},
		{
			// A → 1, .5, 0; B → 1 (id 3), 0 (id 1).
			name: "normalized", method: NormalizedScore, lists: []List{{Items: a}, {Items: b}},
			want: []Scored{{1, 0.5}, {3, 0.5}, {2, 0.25}},
		},
		{
			name: "normalized weighted", method: NormalizedScore, lists: []List{{Items: a, Weight: 3}, {Items: b, Weight: 1}},
			want: []Scored{{1, 0.75}, {2, 0.375}, {3, 0.25}},
		},
		{
			name: "normalized constant list gives 1", method: NormalizedScore, lists: []List{{Items: []Scored{{1, 2}, {2, 2}}}},
			want: []Scored{{1, 1}, {2, 1}},
		},
		{
			name: "normalized NaN is minimum", method: NormalizedScore, lists: []List{{Items: []Scored{{1, 4}, {2, math.NaN()}, {3, 2}}}},
			want: []Scored{{1, 1}, {2, 0}, {3, 0}},
		},
		{name: "no lists", method: RRF, lists: nil, want: nil},
		{name: "empty lists", method: NormalizedScore, lists: []List{{}, {Weight: 2}}, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Fuse(tc.method, tc.lists, tc.k)
			checkScored(t, "Fuse", got, tc.want)
			for _, s := range got {
				if s.Score < 0 || s.Score > 1 {
					t.Fatalf("score %v outside 0..1", s.Score)
				}
			}
		})
	}
}

func TestFuseDoesNotModifyInput(t *testing.T) {
	a := []Scored{{1, 10}, {2, 5}}
	Fuse(NormalizedScore, []List{{Items: a}}, 0)
	if a[0] != (Scored{1, 10}) || a[1] != (Scored{2, 5}) {
		t.Fatalf("input modified: %v", a)
	}
}

func TestParseFusion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Fusion
		err  error
	}{
		{"", RRF, nil}, {"rrf", RRF, nil}, {"normalized", NormalizedScore, nil}, {"borda", "", ErrUnknownFusion},
	} {
		got, err := ParseFusion(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ParseFusion(%q) = %q, %v, want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func FuzzFuse(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6}, 60, true)
	f.Fuzz(func(t *testing.T, data []byte, k int, normalized bool) {
		var lists []List
		var cur List
		for i, b := range data {
			if b == 0xff {
				lists = append(lists, cur)
				cur = List{Weight: float64(i%3) - 0.5}
				continue
			}
			cur.Items = append(cur.Items, Scored{ID: uint64(b % 16), Score: float64(int8(b)) / 7})
		}
		lists = append(lists, cur)
		m := RRF
		if normalized {
			m = NormalizedScore
		}
		got := Fuse(m, lists, k%1000)
		seen := map[uint64]bool{}
		for i, s := range got {
			if s.Score < 0 || s.Score > 1 || math.IsNaN(s.Score) {
				t.Fatalf("score %v outside 0..1", s.Score)
			}
			if seen[s.ID] {
				t.Fatalf("id %d twice", s.ID)
			}
			seen[s.ID] = true
			if i > 0 && (got[i-1].Score < s.Score || got[i-1].Score == s.Score && got[i-1].ID > s.ID) {
				t.Fatalf("not sorted at %d: %v", i, got)
			}
		}
	})
}

func BenchmarkFuse(b *testing.B) {
	for _, m := range []Fusion{RRF, NormalizedScore} {
		b.Run(string(m), func(b *testing.B) {
			dense := make([]Scored, 100)
			lex := make([]Scored, 100)
			for i := range dense {
				dense[i] = Scored{ID: uint64(i * 7 % 150), Score: 1 - float64(i)/100}
				lex[i] = Scored{ID: uint64(i * 11 % 150), Score: 20 - float64(i)/10}
			}
			lists := []List{{Items: dense, Weight: 0.7}, {Items: lex, Weight: 0.3}}
			b.ReportAllocs()
			for b.Loop() {
				Fuse(m, lists, 60)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200, "ns/item")
		})
	}
}
