//go:build linux

package bench

import (
	"syscall"
	"time"
)

const rusageThread = 1 // RUSAGE_THREAD

// threadCPU returns the calling OS thread's CPU time; the caller locks its
// goroutine to the thread. On a shared machine CPU time is a steadier
// measure of single-thread work than wall time.
func threadCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}

// processCPU returns the process's CPU time (all threads).
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
