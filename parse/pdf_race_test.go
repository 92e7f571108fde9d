//go:build race

package parse

// raceScale stretches CPU-time bounds under the race detector, which slows
// code down five to ten times.
const raceScale = 10
