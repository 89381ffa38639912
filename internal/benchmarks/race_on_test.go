//go:build race

package benchmarks

// raceEnabled reports whether the tests run under the race detector.
const raceEnabled = true
