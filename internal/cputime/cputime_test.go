package cputime

import (
	"runtime"
	"testing"
)

// TestCPUAdvances: burning CPU shows up in Process and, on Linux, in
// Thread.
func TestCPUAdvances(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0, pok := Process()
	t0, tok := Thread()
	if !pok {
		t.Skip("CPU time is not measured on " + runtime.GOOS)
	}
	for i := range 50_000_000 {
		sink ^= i * i
	}
	if p1, _ := Process(); p1 <= p0 {
		t.Errorf("Process did not advance: %v then %v", p0, p1)
	}
	if t1, _ := Thread(); tok && t1 <= t0 {
		t.Errorf("Thread did not advance: %v then %v", t0, t1)
	}
}

var sink int // keeps the busy loop from being optimized away
