package filter

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseAndMatch(t *testing.T) {
	attrs := map[string]any{"region": "eu", "year": 2024.0, "draft": false, "team": "infra"}
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`{"type":"eq","key":"region","value":"eu"}`, true},
		{`{"type":"eq","key":"region","value":"us"}`, false},
		{`{"type":"ne","key":"region","value":"us"}`, true},
		{`{"type":"ne","key":"missing","value":"us"}`, true},
		{`{"type":"eq","key":"missing","value":"us"}`, false},
		{`{"type":"gt","key":"year","value":2023}`, true},
		{`{"type":"gte","key":"year","value":2024}`, true},
		{`{"type":"lt","key":"year","value":2024}`, false},
		{`{"type":"lte","key":"year","value":2024}`, true},
		{`{"type":"gt","key":"region","value":"de"}`, true},
		{`{"type":"gt","key":"year","value":"2023"}`, false},
		{`{"type":"eq","key":"draft","value":false}`, true},
		{`{"type":"in","key":"region","value":["us","eu"]}`, true},
		{`{"type":"nin","key":"region","value":["us","eu"]}`, false},
		{`{"type":"nin","key":"missing","value":["x"]}`, true},
		{`{"type":"in","key":"year","value":[2023,2024]}`, true},
		{`{"type":"and","filters":[{"type":"eq","key":"region","value":"eu"},{"type":"gt","key":"year","value":2020}]}`, true},
		{`{"type":"and","filters":[{"type":"eq","key":"region","value":"eu"},{"type":"gt","key":"year","value":2030}]}`, false},
		{`{"type":"or","filters":[{"type":"eq","key":"region","value":"us"},{"type":"and","filters":[{"type":"eq","key":"team","value":"infra"},{"type":"eq","key":"draft","value":false}]}]}`, true},
	} {
		f, err := Parse([]byte(tc.json))
		if err != nil {
			t.Errorf("Parse(%s) = %v", tc.json, err)
			continue
		}
		if got := f.Match(attrs); got != tc.want {
			t.Errorf("Match(%s) = %v, want %v", tc.json, got, tc.want)
		}
		// The JSON form round-trips.
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		g, err := Parse(b)
		if err != nil || g.Match(attrs) != tc.want {
			t.Errorf("round trip of %s: %s, %v", tc.json, b, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		json string
		n    int // problems expected
	}{
		{`{"type":"foo","key":"a","value":1}`, 1},
		{`{"type":"eq","value":1}`, 1},
		{`{"type":"eq","key":"a"}`, 1},
		{`{"type":"in","key":"a","value":"x"}`, 1},
		{`{"type":"eq","key":"a","value":[1]}`, 1},
		{`{"type":"gt","key":"a","value":true}`, 1},
		{`{"type":"and","filters":[]}`, 1},
		{`{"type":"and","filters":[{"type":"eq"},{"type":"zz","key":"k","value":1}]}`, 3},
		{`{"type":"in","key":"a","value":[{"x":1}]}`, 1},
	} {
		_, err := Parse([]byte(tc.json))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%s) = %v, want ErrInvalid", tc.json, err)
			continue
		}
		var joined interface{ Unwrap() []error }
		n := 1
		if errors.As(err, &joined) {
			n = len(joined.Unwrap())
		}
		if n != tc.n {
			t.Errorf("Parse(%s): %d problems (%v), want %d", tc.json, n, err, tc.n)
		}
	}
	if _, err := Parse([]byte(`{`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad JSON: %v", err)
	}
}

func TestDepthLimit(t *testing.T) {
	f := Compare(Eq, "a", 1)
	for range MaxDepth + 2 {
		f = AllOf(f)
	}
	if err := f.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("depth %d accepted", MaxDepth+2)
	}
}

// TestDeepJSON: a filter nested thousands deep is refused naming the
// limit, at a cost linear in its size (decoding it level by level would
// cost the square of the depth); one at MaxDepth, with a value list and
// brackets inside strings, still decodes and validates.
func TestDeepJSON(t *testing.T) {
	nest := func(depth int, leaf string) string {
		return strings.Repeat(`{"type":"and","filters":[`, depth) + leaf + strings.Repeat(`]}`, depth)
	}
	var f Filter
	err := json.Unmarshal([]byte(nest(4_900, `{"type":"eq","key":"a","value":1}`)), &f)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("4,900 deep (under encoding/json's own depth limit): %v, want ErrInvalid naming the depth limit", err)
	}
	ok := nest(MaxDepth, `{"type":"in","key":"k[{","value":["]}]}","{["]}`)
	if err := json.Unmarshal([]byte(ok), &f); err != nil {
		t.Fatalf("%d deep: %v", MaxDepth, err)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("%d deep: %v", MaxDepth, err)
	}
	if !f.Match(map[string]any{"k[{": "]}]}"}) {
		t.Errorf("%d deep filter does not match", MaxDepth)
	}
}

func TestGoConstructors(t *testing.T) {
	f := AnyOf(Compare(Eq, "n", 3), Compare(In, "s", []string{"a", "b"}))
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if !f.Match(map[string]any{"n": 3}) || !f.Match(map[string]any{"s": "b"}) || f.Match(map[string]any{"s": "c"}) {
		t.Error("constructed filter matches wrongly")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"and","filters":[{"type":"eq","key":"a","value":1}]}`))
	f.Add([]byte(`{"type":"in","key":"a","value":["x",2,true]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := Parse(data)
		if err != nil {
			return
		}
		flt.Match(map[string]any{"a": 1.0, "b": "x", "c": true})
	})
}
