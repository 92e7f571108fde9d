//go:build !race

package parse

// raceScale stretches CPU-time bounds under the race detector.
const raceScale = 1
