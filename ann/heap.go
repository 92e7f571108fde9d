package ann

// cand is a node index and its distance to the query.
type cand struct {
	d float32
	i uint32
}

// minHeap is a binary heap with the nearest candidate on top. It is written
// out by hand: container/heap's interface calls cost more than the distance
// computations they order on short vectors.
type minHeap []cand

func (h *minHeap) push(c cand) {
	s := append(*h, c)
	j := len(s) - 1
	for j > 0 {
		p := (j - 1) / 2
		if s[p].d <= c.d {
			break
		}
		s[j] = s[p]
		j = p
	}
	s[j] = c
	*h = s
}

// pop removes and returns the top; REQUIRES: len(*h) > 0.
func (h *minHeap) pop() cand {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	s = s[:n]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && s[r].d < s[l].d {
			l = r
		}
		if last.d <= s[l].d {
			break
		}
		s[j] = s[l]
		j = l
	}
	if n > 0 {
		s[j] = last
	}
	*h = s
	return top
}

// maxHeap is a binary heap with the farthest candidate on top: the bounded
// result set of a search.
type maxHeap []cand

func (h *maxHeap) push(c cand) {
	s := append(*h, c)
	j := len(s) - 1
	for j > 0 {
		p := (j - 1) / 2
		if s[p].d >= c.d {
			break
		}
		s[j] = s[p]
		j = p
	}
	s[j] = c
	*h = s
}

// pop removes and returns the top; REQUIRES: len(*h) > 0.
func (h *maxHeap) pop() cand {
	s := *h
	top := s[0]
	n := len(s) - 1
	last := s[n]
	s = s[:n]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && s[r].d > s[l].d {
			l = r
		}
		if last.d >= s[l].d {
			break
		}
		s[j] = s[l]
		j = l
	}
	if n > 0 {
		s[j] = last
	}
	*h = s
	return top
}

// pushBounded keeps the k nearest: it pushes c when there is room or when c
// is nearer than the current worst, which it then drops.
func (h *maxHeap) pushBounded(c cand, k int) {
	if len(*h) < k {
		h.push(c)
		return
	}
	if c.d < (*h)[0].d {
		(*h)[0] = c
		h.siftDown()
	}
}

func (h maxHeap) siftDown() {
	n := len(h)
	c := h[0]
	j := 0
	for {
		l := 2*j + 1
		if l >= n {
			break
		}
		if r := l + 1; r < n && h[r].d > h[l].d {
			l = r
		}
		if c.d >= h[l].d {
			break
		}
		h[j] = h[l]
		j = l
	}
	h[j] = c
}

// drainSorted empties h into dst, nearest first.
func (h *maxHeap) drainSorted(dst []cand) []cand {
	n := len(*h)
	start := len(dst)
	for range n {
		dst = append(dst, cand{})
	}
	for i := n - 1; i >= 0; i-- {
		dst[start+i] = h.pop()
	}
	return dst
}

// visited marks nodes seen by one search. Clearing is O(1): a mark counts
// only when it equals the current epoch.
type visited struct {
	marks []uint16
	epoch uint16
}

// reset prepares v for a search over n nodes.
func (v *visited) reset(n int) {
	if len(v.marks) < n {
		v.marks = make([]uint16, n+n/4)
		v.epoch = 0
	}
	v.epoch++
	if v.epoch == 0 { // wrapped: old marks could collide
		clear(v.marks)
		v.epoch = 1
	}
}

// visit marks i and reports whether it was already marked.
func (v *visited) visit(i uint32) bool {
	if v.marks[i] == v.epoch {
		return true
	}
	v.marks[i] = v.epoch
	return false
}
