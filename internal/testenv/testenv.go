// Package testenv is the one rule for tests that need something of the machine (an
// emulator, a memory cgroup, a shared library): without it they skip and say why, except
// under CI=true, where the thing is required (scripts/test installs or starts it) and its
// absence fails the test, so that CI never counts a skip as a pass.
package testenv

import (
	"os"
	"testing"
)

// Missing skips the test, or fails it under CI=true, because what is not available.
func Missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true but not available here; scripts/test sets it up", what)
	}
	t.Skipf("%s not available (scripts/test sets it up)", what)
}
