// Package filter is the attribute filter grammar of OpenAI's vector-store
// search: comparisons eq, ne, gt, gte, lt, lte, in, nin on one attribute key,
// and compound and/or filters nested to any depth.
//
// A Filter unmarshals from and marshals to the API's JSON form:
//
//	{"type": "eq", "key": "region", "value": "eu"}
//	{"type": "and", "filters": [{...}, {...}]}
package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Op is a filter type.
type Op string

const (
	Eq  Op = "eq"
	Ne  Op = "ne"
	Gt  Op = "gt"
	Gte Op = "gte"
	Lt  Op = "lt"
	Lte Op = "lte"
	In  Op = "in"
	Nin Op = "nin"
	And Op = "and"
	Or  Op = "or"
)

// MaxDepth bounds the nesting of compound filters.
const MaxDepth = 32

// ErrInvalid matches every error from Validate and UnmarshalJSON.
var ErrInvalid = errors.New("filter: invalid filter")

// Filter is a comparison (Key and Value set) or a compound (Filters set).
// Values are string, float64, bool, or for in/nin a []any of those.
type Filter struct {
	Type    Op       `json:"type"`
	Key     string   `json:"key,omitempty"`
	Value   any      `json:"value,omitempty"`
	Filters []Filter `json:"filters,omitempty"`
}

// Comparison helpers for Go callers.
func Compare(op Op, key string, value any) Filter {
	return Filter{Type: op, Key: key, Value: norm(value)}
}

// AllOf is an "and" of fs.
func AllOf(fs ...Filter) Filter { return Filter{Type: And, Filters: fs} }

// AnyOf is an "or" of fs.
func AnyOf(fs ...Filter) Filter { return Filter{Type: Or, Filters: fs} }

// Parse reads a filter in the API's JSON form and validates it.
func Parse(data []byte) (*Filter, error) {
	var f Filter
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	f = f.normalized()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// UnmarshalJSON decodes numbers as float64 and validates nothing but the
// nesting (a filter nested far deeper than MaxDepth is refused before it
// is decoded: decoding costs the square of the depth); use Parse or
// Validate.
func (f *Filter) UnmarshalJSON(b []byte) error {
	if jsonDepth(b, 2*MaxDepth+4) > 2*MaxDepth+4 {
		return fmt.Errorf("%w: nested deeper than %d", ErrInvalid, MaxDepth)
	}
	type raw Filter
	var r raw
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	*f = Filter(r).normalized()
	return nil
}

// jsonDepth returns the deepest nesting of objects and arrays in the JSON
// text b, or a depth past limit as soon as it finds one. A compound filter
// level is two (an object and its filters array).
func jsonDepth(b []byte, limit int) int {
	depth, deepest := 0, 0
	inStr, esc := false, false
	for _, c := range b {
		if inStr {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '{', '[':
			if depth++; depth > deepest {
				if deepest = depth; deepest > limit {
					return deepest
				}
			}
		case '}', ']':
			depth--
		}
	}
	return deepest
}

func (f Filter) normalized() Filter {
	f.Value = norm(f.Value)
	for i := range f.Filters {
		f.Filters[i] = f.Filters[i].normalized()
	}
	return f
}

// Normalize maps an attribute or filter value to the types Match compares:
// Go numbers and json.Number become float64, string and float64 slices
// become []any; other values are returned as they are. Indexes that
// evaluate filters themselves use it to agree with Match.
func Normalize(v any) any { return norm(v) }

// norm maps Go numeric types and json.Number to float64.
func norm(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float32:
		return float64(x)
	case uint64:
		return float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return x.String()
		}
		return f
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = norm(x[i])
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out
	case []float64:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out
	}
	return v
}

// Validate reports every problem in f at once, wrapped in ErrInvalid.
func (f *Filter) Validate() error {
	var errs []error
	f.validate("filter", 0, &errs)
	return errors.Join(errs...)
}

func (f *Filter) validate(path string, depth int, errs *[]error) {
	bad := func(format string, a ...any) {
		*errs = append(*errs, fmt.Errorf("%w: %s: %s", ErrInvalid, path, fmt.Sprintf(format, a...)))
	}
	if depth > MaxDepth {
		bad("nested deeper than %d", MaxDepth)
		return
	}
	switch f.Type {
	case And, Or:
		if len(f.Filters) == 0 {
			bad("%q needs at least one filter", f.Type)
		}
		for i := range f.Filters {
			f.Filters[i].validate(fmt.Sprintf("%s.filters[%d]", path, i), depth+1, errs)
		}
	case Eq, Ne, Gt, Gte, Lt, Lte, In, Nin:
		if f.Key == "" {
			bad("%q needs a key", f.Type)
		}
		switch v := f.Value.(type) {
		case string, bool:
			if f.Type == In || f.Type == Nin {
				bad("%q needs an array value", f.Type)
			}
			if _, isBool := v.(bool); isBool && f.Type != Eq && f.Type != Ne {
				bad("%q cannot compare booleans", f.Type)
			}
		case float64:
			if f.Type == In || f.Type == Nin {
				bad("%q needs an array value", f.Type)
			}
		case []any:
			if f.Type != In && f.Type != Nin {
				bad("%q does not take an array value", f.Type)
			}
			for _, e := range v {
				switch e.(type) {
				case string, float64, bool:
				default:
					bad("array values must be strings, numbers or booleans, got %T", e)
				}
			}
		case nil:
			bad("%q needs a value", f.Type)
		default:
			bad("value must be a string, number, boolean or array, got %T", v)
		}
	default:
		bad("unknown type %q", f.Type)
	}
}

// Match reports whether attrs satisfy f. A comparison on a missing key is
// false, except ne and nin, which are true.
func (f *Filter) Match(attrs map[string]any) bool {
	switch f.Type {
	case And:
		for i := range f.Filters {
			if !f.Filters[i].Match(attrs) {
				return false
			}
		}
		return true
	case Or:
		for i := range f.Filters {
			if f.Filters[i].Match(attrs) {
				return true
			}
		}
		return false
	}
	v, ok := attrs[f.Key]
	if !ok {
		return f.Type == Ne || f.Type == Nin
	}
	v = norm(v)
	switch f.Type {
	case Eq:
		return equal(v, f.Value)
	case Ne:
		return !equal(v, f.Value)
	case In, Nin:
		list, _ := f.Value.([]any)
		found := false
		for _, e := range list {
			if equal(v, e) {
				found = true
				break
			}
		}
		return found == (f.Type == In)
	}
	c, ok := compare(v, f.Value)
	if !ok {
		return false
	}
	switch f.Type {
	case Gt:
		return c > 0
	case Gte:
		return c >= 0
	case Lt:
		return c < 0
	case Lte:
		return c <= 0
	}
	return false
}

func equal(a, b any) bool {
	c, ok := compare(a, b)
	if ok {
		return c == 0
	}
	ab, aok := a.(bool)
	bb, bok := b.(bool)
	return aok && bok && ab == bb
}

// compare orders two numbers or two strings.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(x, y), true
	}
	return 0, false
}
