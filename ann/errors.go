package ann

import "errors"

var (
	// ErrDimension is returned when a vector's length differs from the index's.
	ErrDimension = errors.New("ann: dimension mismatch")
	// ErrCorrupt is returned when a serialized index fails its checks.
	ErrCorrupt = errors.New("ann: corrupt index")
	// ErrConfig is returned by Config.Validate for an unusable configuration.
	ErrConfig = errors.New("ann: invalid config")
)
