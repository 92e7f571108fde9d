//go:build race

package embed

// raceEnabled skips the quality gates under the race detector, which makes
// them ten times slower; .ci/run runs them without it.
const raceEnabled = true
