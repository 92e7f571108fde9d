package lexical

import (
	"context"
	"fmt"

	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"github.com/quarrylabs/quarry/filter"
)

// filterQuery translates f into a bleve query over the attribute fields
// that matches exactly the documents whose Attributes satisfy f.Match.
func filterQuery(f *filter.Filter) (query.Query, error) {
	switch f.Type {
	case filter.And, filter.Or:
		qs := make([]query.Query, len(f.Filters))
		for i := range f.Filters {
			q, err := filterQuery(&f.Filters[i])
			if err != nil {
				return nil, err
			}
			qs[i] = q
		}
		if f.Type == filter.And {
			return query.NewConjunctionQuery(qs), nil
		}
		return query.NewDisjunctionQuery(qs), nil
	case filter.Eq:
		return equalQuery(f.Key, f.Value), nil
	case filter.Ne:
		return not(equalQuery(f.Key, f.Value)), nil
	case filter.In, filter.Nin:
		list, _ := f.Value.([]any)
		qs := make([]query.Query, 0, len(list))
		for _, v := range list {
			qs = append(qs, equalQuery(f.Key, v))
		}
		var in query.Query = query.NewMatchNoneQuery()
		if len(qs) > 0 {
			in = query.NewDisjunctionQuery(qs)
		}
		if f.Type == filter.In {
			return in, nil
		}
		return not(in), nil
	case filter.Gt, filter.Gte, filter.Lt, filter.Lte:
		lower := f.Type == filter.Gt || f.Type == filter.Gte
		incl := f.Type == filter.Gte || f.Type == filter.Lte
		switch v := f.Value.(type) {
		case float64:
			q := query.NewNumericRangeInclusiveQuery(nil, nil, nil, nil)
			if lower {
				q.Min, q.InclusiveMin = &v, &incl
			} else {
				q.Max, q.InclusiveMax = &v, &incl
			}
			q.SetField(numberPrefix + f.Key)
			return q, nil
		case string:
			// Every indexed string starts with stringMark, so the range
			// ["v", "w") is all strings of the field.
			bound, t, fl := stringMark+v, true, false
			q := query.NewTermRangeInclusiveQuery(stringMark, string(rune(stringMark[0]+1)), &t, &fl)
			if lower {
				q.Min, q.InclusiveMin = bound, &incl
			} else {
				q.Max, q.InclusiveMax = bound, &incl
			}
			q.SetField(stringPrefix + f.Key)
			return q, nil
		}
		// Booleans and other values are not ordered: nothing matches.
		return query.NewMatchNoneQuery(), nil
	}
	return nil, fmt.Errorf("%w: filter type %q", ErrInvalid, f.Type)
}

// equalQuery matches documents whose attribute key equals v (same type).
func equalQuery(key string, v any) query.Query {
	switch x := v.(type) {
	case string:
		q := query.NewTermQuery(stringMark + x)
		q.SetField(stringPrefix + key)
		return q
	case float64:
		t := true
		q := query.NewNumericRangeInclusiveQuery(&x, &x, &t, &t)
		q.SetField(numberPrefix + key)
		return q
	case bool:
		q := query.NewBoolFieldQuery(x)
		q.SetField(boolPrefix + key)
		return q
	}
	return query.NewMatchNoneQuery()
}

func not(q query.Query) query.Query {
	return query.NewBooleanQuery([]query.Query{query.NewMatchAllQuery()}, nil, []query.Query{q})
}

// bitset is a set of internal document numbers.
type bitset []uint64

func (b bitset) has(n uint64) bool {
	w := n / 64
	return w < uint64(len(b)) && b[w]&(1<<(n%64)) != 0
}

func (b *bitset) set(n uint64) {
	w := n / 64
	for w >= uint64(len(*b)) {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (n % 64)
}

// filterSet runs f's query against r and returns the matching document
// numbers.
func (ix *Index) filterSet(ctx context.Context, r bindex.IndexReader, f *filter.Filter) (bitset, error) {
	q, err := filterQuery(f)
	if err != nil {
		return nil, err
	}
	s, err := q.Searcher(ctx, r, ix.bi.Mapping(), search.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, fmt.Errorf("lexical: filter: %w", translate(err))
	}
	defer s.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0)}
	var set bitset
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		m, err := s.Next(sctx)
		if err != nil {
			return nil, fmt.Errorf("lexical: filter: %w", translate(err))
		}
		if m == nil {
			return set, nil
		}
		num, err := docNum(m.IndexInternalID)
		if err != nil {
			return nil, err
		}
		set.set(num)
		sctx.DocumentMatchPool.Put(m)
	}
}
