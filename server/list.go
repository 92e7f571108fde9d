package server

import (
	"time"

	"github.com/quarrylabs/quarry/store"
)

// paginate applies o to items the server keeps itself (uploads, a batch's
// files) with store.Paginate.
func paginate[T any](items []T, o store.ListOptions, key func(T) (string, int64)) (page []T, first, last string, more bool, err error) {
	p, err := store.Paginate(items, o, key)
	if err != nil {
		return nil, "", "", false, err
	}
	return p.Data, p.FirstID, p.LastID, p.HasMore, nil
}

func timeOf(unix int64) time.Time { return time.Unix(unix, 0) }
