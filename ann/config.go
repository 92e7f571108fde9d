package ann

import (
	"errors"
	"fmt"
)

// Config holds the knobs of an HNSW graph. The zero Config is usable: every
// zero field takes its documented default.
type Config struct {
	// Metric is the distance; the default is Cosine.
	Metric Metric
	// M is the number of neighbours a node keeps on the upper layers; layer
	// 0 keeps 2*M. Larger M raises recall and memory. The default is 16.
	M int
	// EfConstruction is the candidate list size while inserting. The
	// default is 200.
	EfConstruction int
	// EfSearch is the candidate list size while searching (raised to k when
	// smaller). The default is 64.
	EfSearch int
	// Seed seeds the level generator; equal seeds and equal insertion
	// orders on one goroutine give equal graphs. The default is 1.
	Seed uint64
	// RepairFraction is the share of tombstoned nodes at which Delete
	// repairs the graph: neighbours of deleted nodes are reconnected and the
	// slots are freed for reuse. The default is 0.1; a negative value never
	// repairs automatically (call Compact).
	RepairFraction float64
	// ExactBelow makes a filtered search scan the allowed ids exactly
	// instead of walking the graph when the filter is estimated to allow
	// fewer ids than this. The default is 2048.
	ExactBelow int
	// ExactSelectivity makes a filtered search scan exactly when the
	// filter is estimated to allow less than this share of the ids. The
	// default is 0.05.
	ExactSelectivity float64
	// Quantize makes searches walk the graph over int8 codes of the
	// vectors (one byte per dimension instead of four) and re-score the ef
	// candidates they end with on the float32 vectors, which are kept. The
	// quantizer (a per-dimension centre and one shared scale) is fixed
	// from the first 1024 live vectors and never retrained; until then
	// searches use the float32 vectors. Inserts always use the float32
	// vectors, so the graph is the one Quantize off builds. Memory grows by
	// dim+4 bytes per node (see the package doc). The default is false.
	Quantize bool
}

// Defaults of Config's fields.
const (
	DefaultM                = 16
	DefaultEfConstruction   = 200
	DefaultEfSearch         = 64
	DefaultRepairFraction   = 0.1
	DefaultExactBelow       = 2048
	DefaultExactSelectivity = 0.05

	maxM     = 1 << 10
	maxLevel = 30
	maxDim   = 1 << 16
)

// EnsureDefaults returns c with every zero field set to its default.
func (c Config) EnsureDefaults() Config {
	if c.M == 0 {
		c.M = DefaultM
	}
	if c.EfConstruction == 0 {
		c.EfConstruction = DefaultEfConstruction
	}
	if c.EfSearch == 0 {
		c.EfSearch = DefaultEfSearch
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.RepairFraction == 0 {
		c.RepairFraction = DefaultRepairFraction
	}
	if c.ExactBelow == 0 {
		c.ExactBelow = DefaultExactBelow
	}
	if c.ExactSelectivity == 0 {
		c.ExactSelectivity = DefaultExactSelectivity
	}
	return c
}

// Validate reports every problem with c (after defaults) at once.
func (c Config) Validate() error {
	var errs []error
	if c.Metric != Cosine && c.Metric != L2 {
		errs = append(errs, fmt.Errorf("%w: unknown metric %v", ErrConfig, c.Metric))
	}
	if c.M < 2 || c.M > maxM {
		errs = append(errs, fmt.Errorf("%w: M %d outside 2..%d", ErrConfig, c.M, maxM))
	}
	if c.EfConstruction < 1 {
		errs = append(errs, fmt.Errorf("%w: EfConstruction %d < 1", ErrConfig, c.EfConstruction))
	}
	if c.EfSearch < 1 {
		errs = append(errs, fmt.Errorf("%w: EfSearch %d < 1", ErrConfig, c.EfSearch))
	}
	if c.RepairFraction > 1 {
		errs = append(errs, fmt.Errorf("%w: RepairFraction %g > 1", ErrConfig, c.RepairFraction))
	}
	if c.ExactSelectivity < 0 || c.ExactSelectivity > 1 {
		errs = append(errs, fmt.Errorf("%w: ExactSelectivity %g outside 0..1", ErrConfig, c.ExactSelectivity))
	}
	return errors.Join(errs...)
}
