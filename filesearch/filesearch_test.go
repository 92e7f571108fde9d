package filesearch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/quarrylabs/quarry/store"
)

// fakeSearcher answers from canned pages keyed by store and query, and
// records the calls.
type fakeSearcher struct {
	mu    sync.Mutex
	pages map[string]*store.SearchResults // "vs|query"
	calls []string
	err   error
}

func (f *fakeSearcher) Search(ctx context.Context, vsIDs []string, req store.SearchRequest) (*store.SearchResults, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(vsIDs) != 1 || len(req.Query) != 1 {
		return nil, fmt.Errorf("fake: want one store and one query, got %v %v", vsIDs, req.Query)
	}
	key := vsIDs[0] + "|" + req.Query[0]
	f.calls = append(f.calls, key)
	if f.err != nil {
		return nil, f.err
	}
	if p, ok := f.pages[key]; ok {
		return p, nil
	}
	return &store.SearchResults{SearchQuery: req.Query, Data: []store.SearchResult{}}, nil
}

func page(vs string, chunks ...string) *store.SearchResults {
	res := &store.SearchResults{Data: []store.SearchResult{}}
	for i, c := range chunks {
		file, id, _ := strings.Cut(c, "/")
		res.Data = append(res.Data, store.SearchResult{FileID: file, Filename: file + ".md", VectorStoreID: vs, Score: 1 - float64(i)/10,
			Content: []store.ChunkResult{{Type: "text", Text: "text of " + id, ChunkID: id, Score: 1 - float64(i)/10, Rank: i, CharStart: 10 * i, CharEnd: 10*i + 9, Headings: []string{"H", id}}}})
	}
	return res
}

func TestParseArguments(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`{"queries":["a","b"]}`, []string{"a", "b"}, true},
		{`{"query":"a"}`, []string{"a"}, true},
		{`{"queries":"a"}`, []string{"a"}, true},
		{`{"queries":["a"],"query":"b"}`, []string{"a", "b"}, true},
		{`{"queries":[" a ","a",""]}`, []string{"a"}, true},
		{`"a"`, []string{"a"}, true},
		{`["a","b","c","d","e"]`, []string{"a", "b", "c", "d", "e"}, true},
		{`["a","b","c","d","e","f"]`, nil, false},
		{`{"queries":[]}`, nil, false},
		{`{"queries":[1]}`, nil, false},
		{`{"queries":["a"`, nil, false},
		{``, nil, false},
		{`42`, nil, false},
		{`{"q":"a"}`, nil, false},
	}
	for _, tt := range tests {
		got, err := ParseArguments(tt.in)
		if tt.ok != (err == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("ParseArguments(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrArguments) {
			t.Errorf("ParseArguments(%q) error %v does not match ErrArguments", tt.in, err)
		}
	}
}

func TestSearchFanOutFusionDedupeCap(t *testing.T) {
	fs := &fakeSearcher{pages: map[string]*store.SearchResults{
		"vs_a|keys":     page("vs_a", "f1/chunk_1", "f2/chunk_2", "f3/chunk_3"),
		"vs_b|keys":     page("vs_b", "f9/chunk_9"),
		"vs_a|rotation": page("vs_a", "f2/chunk_2", "f4/chunk_4"),
		"vs_other|keys": page("vs_other", "fx/chunk_666"),
	}}
	tool, err := New(fs, Config{VectorStoreIDs: []string{"vs_a", "vs_b", "vs_a"}, MaxResults: 3})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tool.Call(context.Background(), `{"queries":["keys","rotation"]}`)
	if err != nil {
		t.Fatal(err)
	}
	calls := slices.Sorted(slices.Values(fs.calls))
	if want := []string{"vs_a|keys", "vs_a|rotation", "vs_b|keys", "vs_b|rotation"}; !slices.Equal(calls, want) {
		t.Errorf("searches = %v, want %v (queries × configured stores, each once)", calls, want)
	}
	var ids []string
	for _, s := range res.Sources {
		ids = append(ids, s.ChunkID)
	}
	// chunk_2 is in two lists and wins the fusion; chunk_1 and chunk_9
	// are first in one list each (tie broken by score: equal, so order of
	// lists); the cap keeps 3.
	if len(ids) != 3 || ids[0] != "chunk_2" || slices.Contains(ids, "chunk_666") {
		t.Errorf("sources = %v, want 3 with chunk_2 first and nothing from vs_other", ids)
	}
	for i, s := range res.Sources {
		if s.Handle != i+1 {
			t.Errorf("source %d handle = %d, want %d", i, s.Handle, i+1)
		}
		if !strings.Contains(res.Text, fmt.Sprintf("[%d] %s", s.Handle, s.Filename)) || !strings.Contains(res.Text, s.Text) {
			t.Errorf("text for the model lacks source [%d] %s:\n%s", s.Handle, s.Filename, res.Text)
		}
	}

	// A second round keeps the handles of chunks already shown and numbers
	// new ones after them.
	fs.pages["vs_a|more"] = page("vs_a", "f4/chunk_4", "f2/chunk_2")
	res2, err := tool.Call(context.Background(), `{"query":"more"}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(res2.Sources) != 2 || res2.Sources[0].Handle != 4 || res2.Sources[1].Handle != 1 {
		t.Errorf("round 2 handles = %+v, want chunk_4 as 4 and chunk_2 as 1", res2.Sources)
	}
	if got := len(tool.Sources()); got != 4 {
		t.Errorf("Sources() has %d, want 4", got)
	}
}

func TestSearchErrorIsAnError(t *testing.T) {
	boom := errors.New("disk on fire")
	tool, err := New(&fakeSearcher{err: boom}, Config{VectorStoreIDs: []string{"vs_a"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tool.Call(context.Background(), `{"query":"x"}`)
	if !errors.Is(err, boom) || res != nil {
		t.Errorf("Call with a failing store = %v, %v; want nil and the store's error", res, err)
	}
}

func TestNoResults(t *testing.T) {
	tool, _ := New(&fakeSearcher{}, Config{VectorStoreIDs: []string{"vs_a"}})
	res, err := tool.Call(context.Background(), `{"query":"x"}`)
	if err != nil || len(res.Sources) != 0 || !strings.Contains(res.Text, "No results") {
		t.Errorf("Call = %+v, %v; want no sources and a 'No results' text", res, err)
	}
	ans := tool.Cite("I found nothing [1].")
	if len(ans.Citations) != 0 || ans.Fallback || len(ans.Unresolved) != 1 {
		t.Errorf("Cite with nothing shown = %+v; want no citations, one unresolved, no fallback", ans)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{}, {VectorStoreIDs: []string{"a"}, MaxResults: 51}, {VectorStoreIDs: []string{"a"}, Ranking: store.RankingOptions{Ranker: "bogus"}},
		{VectorStoreIDs: []string{"a"}, Sources: []Source{{Handle: 0, ChunkResult: store.ChunkResult{ChunkID: "chunk_1"}}}}} {
		if _, err := New(&fakeSearcher{}, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

func shownTool(t testing.TB) *Tool {
	fs := &fakeSearcher{pages: map[string]*store.SearchResults{"vs|q": page("vs", "f1/chunk_1", "f2/chunk_2", "f3/chunk_3")}}
	tool, err := New(fs, Config{VectorStoreIDs: []string{"vs"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tool.Call(context.Background(), `{"query":"q"}`); err != nil {
		t.Fatal(err)
	}
	return tool
}

func TestCite(t *testing.T) {
	tool := shownTool(t)
	tests := []struct {
		answer     string
		text       string
		cites      []string // chunk@index
		unresolved int
		fallback   bool
	}{
		{"Keys rotate [1].", "Keys rotate.", []string{"chunk_1@11"}, 0, false},
		{"A [1][2]. B [3]", "A. B", []string{"chunk_1@1", "chunk_2@1", "chunk_3@4"}, 0, false},
		{"Ünïcödé [2, 3]!", "Ünïcödé!", []string{"chunk_2@7", "chunk_3@7"}, 0, false},
		{"Footnote[^1] and 【2†source】.", "Footnote and.", []string{"chunk_1@8", "chunk_2@12"}, 0, false},
		{"Made up [7] and real [1].", "Made up [7] and real.", []string{"chunk_1@20"}, 1, false},
		{"Half [1, 9].", "Half.", []string{"chunk_1@4"}, 1, false},
		{"No markers at all.", "No markers at all.", nil, 0, true},
		{"Array a[0] is [ 1 ] not a cite", "Array a[0] is [ 1 ] not a cite", nil, 1, true},
	}
	for _, tt := range tests {
		ans := tool.Cite(tt.answer)
		var got []string
		for _, c := range ans.Citations {
			got = append(got, fmt.Sprintf("%s@%d", c.ChunkID, c.Index))
		}
		if ans.Text != tt.text || !slices.Equal(got, tt.cites) || len(ans.Unresolved) != tt.unresolved || ans.Fallback != tt.fallback {
			t.Errorf("Cite(%q) = %q %v unresolved %q fallback %v; want %q %v unresolved %d fallback %v",
				tt.answer, ans.Text, got, ans.Unresolved, ans.Fallback, tt.text, tt.cites, tt.unresolved, tt.fallback)
		}
	}
	c := tool.Cite("x [2]").Citations[0]
	if c.FileID != "f2" || c.Filename != "f2.md" || c.VectorStoreID != "vs" || c.CharStart != 10 || c.CharEnd != 19 || !slices.Equal(c.Headings, []string{"H", "chunk_2"}) {
		t.Errorf("citation of [2] = %+v, want file f2, chars 10-19, headings H > chunk_2", c)
	}
}

func FuzzCite(f *testing.F) {
	for _, s := range []string{"a [1] b [2, 3].", "【1†x】", "[^3][", "[1,,2]", "\xff[1]", "[99999999]", "  [1]", "x\n[2]"} {
		f.Add(s)
	}
	tool := shownTool(f)
	shown := map[string]bool{}
	for _, s := range tool.Sources() {
		shown[s.ChunkID] = true
	}
	f.Fuzz(func(t *testing.T, answer string) {
		ans := tool.Cite(answer)
		if !utf8.ValidString(ans.Text) {
			t.Fatalf("Cite(%q).Text = %q, not valid UTF-8", answer, ans.Text)
		}
		n := utf8.RuneCountInString(ans.Text)
		prev := 0
		for _, c := range ans.Citations {
			if c.Index < 0 || c.Index > n {
				t.Fatalf("Cite(%q): citation index %d outside the %d-character answer %q", answer, c.Index, n, ans.Text)
			}
			if c.Index < prev {
				t.Fatalf("Cite(%q): citations out of order", answer)
			}
			prev = c.Index
			if !shown[c.ChunkID] {
				t.Fatalf("Cite(%q): citation of %s, which was never shown", answer, c.ChunkID)
			}
		}
		if len(ans.Text) > 3*len(answer) {
			t.Fatalf("Cite(%q): text grew to %d bytes", answer, len(ans.Text))
		}
		if ans.Fallback != (len(ans.Citations) == 0) {
			t.Fatalf("Cite(%q): fallback %v with %d citations", answer, ans.Fallback, len(ans.Citations))
		}
	})
}

func FuzzParseArguments(f *testing.F) {
	for _, s := range []string{`{"queries":["a","b"]}`, `{"query":"a"}`, `"a"`, `["a"]`, `{"queries":"a","query":["b"]}`, `{`, `null`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, args string) {
		qs, err := ParseArguments(args)
		if err != nil {
			if !errors.Is(err, ErrArguments) || qs != nil {
				t.Fatalf("ParseArguments(%q) = %q, %v; want nil and an *ArgumentsError", args, qs, err)
			}
			return
		}
		if len(qs) < 1 || len(qs) > MaxQueries {
			t.Fatalf("ParseArguments(%q) = %d queries", args, len(qs))
		}
		for _, q := range qs {
			if q == "" || strings.TrimSpace(q) != q || !utf8.ValidString(q) || len(q) > maxQueryBytes {
				t.Fatalf("ParseArguments(%q) returned query %q", args, q)
			}
		}
	})
}
