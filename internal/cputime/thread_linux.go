//go:build linux

package cputime

import "time"

const rusageThread = 1 // RUSAGE_THREAD, which package syscall does not name

func thread() (time.Duration, bool) { return rusage(rusageThread) }
