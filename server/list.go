package server

import (
	"slices"
	"strings"
	"time"

	"github.com/quarrylabs/quarry/store"
)

// paginate applies o to items the server keeps itself (uploads, a batch's
// files), as store does for its lists: by creation time then id, descending
// unless o.Order is "asc". It returns the page, its first and last ids and
// whether more items follow.
func paginate[T any](items []T, o store.ListOptions, key func(T) (string, int64)) (page []T, first, last string, more bool, err error) {
	if o.Limit == 0 {
		o.Limit = 20
	}
	slices.SortStableFunc(items, func(a, b T) int {
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
	})
	index := func(id string) int {
		return slices.IndexFunc(items, func(t T) bool { k, _ := key(t); return k == id })
	}
	start, end := 0, len(items)
	if o.After != "" {
		i := index(o.After)
		if i < 0 {
			return nil, "", "", false, invalid("after", "invalid 'after': no such id %q", o.After)
		}
		start = i + 1
	}
	if o.Before != "" {
		i := index(o.Before)
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
	stop := min(end, start+o.Limit)
	page = items[start:stop]
	more = stop < end
	if o.Before != "" && o.After == "" {
		more = start > 0
	}
	if len(page) > 0 {
		first, _ = key(page[0])
		last, _ = key(page[len(page)-1])
	}
	return page, first, last, more, nil
}

func timeOf(unix int64) time.Time { return time.Unix(unix, 0) }
