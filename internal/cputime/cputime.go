// Package cputime reads CPU time consumed, for benchmarks and bounds that
// must not depend on how busy a shared machine is.
package cputime

import "time"

// Process returns the CPU time (user and system, all threads) the process
// has used so far; ok is false where it cannot be measured, and the
// duration then 0.
func Process() (d time.Duration, ok bool) { return process() }

// Thread returns the CPU time of the calling OS thread (lock the goroutine
// to its thread around a measurement); ok is false where it cannot be
// measured (outside Linux), and the duration then 0.
func Thread() (d time.Duration, ok bool) { return thread() }
