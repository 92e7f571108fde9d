package server

import (
	"fmt"
	"testing"
)

func TestPaginate(t *testing.T) {
	type item struct {
		id string
		at int64
	}
	var items []item
	for i := range 7 {
		items = append(items, item{fmt.Sprintf("id%d", i), int64(i / 3)}) // creation times share seconds
	}
	key := func(it item) (string, int64) { return it.id, it.at }
	var got []string
	after := ""
	for {
		page, _, last, more, err := paginate(items, listOptions{Limit: 3, Order: "asc", After: after}, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page {
			got = append(got, it.id)
		}
		if !more {
			break
		}
		after = last
	}
	if fmt.Sprint(got) != "[id0 id1 id2 id3 id4 id5 id6]" {
		t.Errorf("paged asc = %v", got)
	}
	page, first, last, more, err := paginate(items, listOptions{Limit: 2, Before: "id2"}, key)
	if err != nil || len(page) != 2 || first != "id4" || last != "id3" || !more {
		t.Errorf("desc before id2 = %v %s %s %v %v", page, first, last, more, err)
	}
	for _, o := range []listOptions{{Limit: 101}, {Order: "up"}, {After: "nosuch"}, {Before: "nosuch"}} {
		if _, _, _, _, err := paginate(items, o, key); toAPIError(err).Status != 400 {
			t.Errorf("paginate(%+v) = %v, want a 400", o, err)
		}
	}
}
