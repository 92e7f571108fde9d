//go:build !unix

package lexical_test

import "time"

// cpuTime is unknown here: the benchmark's CPU metric reads 0.
func cpuTime() time.Duration { return 0 }
