package ann

import "fmt"

// Metric is a distance function.
type Metric int

const (
	// Cosine distance, 1 - dot(a, b), on vectors normalized on insert.
	Cosine Metric = iota
	// L2 is the squared Euclidean distance.
	L2
)

func (m Metric) String() string {
	switch m {
	case Cosine:
		return "cosine"
	case L2:
		return "l2"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// Result is one neighbour; smaller Distance is nearer.
type Result struct {
	ID       uint64
	Distance float32
}

// Filter reports whether id may be returned. A nil Filter allows every id.
// A Filter may be called from several goroutines at once.
type Filter func(id uint64) bool

// Index is what the store needs of a vector index. Implementations are safe
// for concurrent use.
type Index interface {
	// Add inserts or replaces the vector for id.
	Add(id uint64, vec []float32) error
	// Delete removes id; it reports whether id was present.
	Delete(id uint64) bool
	// Search returns up to k nearest ids allowed by filter, nearest first.
	Search(query []float32, k int, filter Filter) ([]Result, error)
	Len() int
	Dim() int
}

func checkDim(want int, v []float32) error {
	if len(v) != want || want <= 0 {
		return fmt.Errorf("%w: got %d, want %d", ErrDimension, len(v), want)
	}
	return nil
}
