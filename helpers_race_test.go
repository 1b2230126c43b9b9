//go:build race

package justap_test

// raceEnabled is set when the tests run under the race detector, which
// makes the long loops of a few tests ten times shorter.
const raceEnabled = true
