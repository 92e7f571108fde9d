//go:build race

package bench

// raceEnabled skips the quality gates under the race detector, which makes
// them ten times slower; .ci/run runs them without it.
const raceEnabled = true
