//go:build race

package server

// raceEnabled skips the peak-RSS suite under the race detector.
const raceEnabled = true
