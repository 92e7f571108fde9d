package server

import (
	"slices"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// listOptions pages through a list, as the OpenAI list endpoints do.
type listOptions struct {
	Limit  int    // 1..100, default 20
	Order  string // "asc" or "desc" (default) by creation time
	After  string // an id: start after it
	Before string // an id: end before it
	// Status, for file lists only: keep files with this status.
	Status store.FileStatus
}

// paginate applies o to items as the OpenAI list endpoints do: ordered by
// creation time then id (descending unless o.Order is "asc"), cut at the
// After and Before cursors, at most o.Limit long. key returns an item's id
// and creation time. It sorts items in place; page is never nil. Errors
// are 400s naming the parameter.
func paginate[T any](items []T, o listOptions, key func(T) (string, int64)) (page []T, first, last string, more bool, err error) {
	if o.Limit == 0 {
		o.Limit = 20
	}
	if o.Limit < 1 || o.Limit > 100 {
		return nil, "", "", false, invalid("limit", "invalid 'limit': must be between 1 and 100, got %d", o.Limit)
	}
	switch o.Order {
	case "", "desc", "asc":
	default:
		return nil, "", "", false, invalid("order", "invalid 'order': must be \"asc\" or \"desc\", got %q", o.Order)
	}
	order := func(a, b T) int {
		ida, ta := key(a)
		idb, tb := key(b)
		c := 0
		switch {
		case ta < tb:
			c = -1
		case ta > tb:
			c = 1
		default:
			c = strings.Compare(ida, idb)
		}
		if o.Order != "asc" {
			c = -c
		}
		return c
	}
	// The store lists newest first already: sort only what is not in order.
	if !slices.IsSortedFunc(items, order) {
		slices.SortStableFunc(items, order)
	}
	start, end := 0, len(items)
	if o.After != "" {
		i := slices.IndexFunc(items, func(t T) bool { id, _ := key(t); return id == o.After })
		if i < 0 {
			return nil, "", "", false, invalid("after", "invalid 'after': no such id %q", o.After)
		}
		start = i + 1
	}
	if o.Before != "" {
		i := slices.IndexFunc(items, func(t T) bool { id, _ := key(t); return id == o.Before })
		if i < 0 {
			return nil, "", "", false, invalid("before", "invalid 'before': no such id %q", o.Before)
		}
		end = i
		if o.After == "" {
			start = max(0, end-o.Limit)
		}
	}
	if start > end {
		start = end
	}
	page = items[start:min(end, start+o.Limit)]
	more = start+o.Limit < end
	if o.Before != "" && o.After == "" {
		more = start > 0
	}
	if len(page) > 0 {
		first, _ = key(page[0])
		last, _ = key(page[len(page)-1])
	}
	if page == nil {
		page = []T{}
	}
	return page, first, last, more, nil
}

func timeOf(unix int64) time.Time { return time.Unix(unix, 0) }
