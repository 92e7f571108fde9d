//go:build unix

package embed

import (
	"syscall"
	"time"
)

// cpuTime returns the user+system CPU time of the process, so benchmarks
// can report throughput per CPU-second, which a busy machine does not skew
// the way it skews wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
