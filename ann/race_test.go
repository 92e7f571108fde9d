//go:build race

package ann

// raceEnabled shrinks the larger tests under the race detector, which slows
// them tenfold; the full sizes run without it.
const raceEnabled = true
