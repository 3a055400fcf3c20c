// Package ci is the one reading of the CI environment variable for every
// test gate: under CI a test that lacks root, a program or a server fails,
// elsewhere it skips. CI holds when CI parses as true by strconv.ParseBool
// ("1", "t", "true", "TRUE", "True"); scripts (test/cli/lib.bash in_ci,
// scripts/test-all) read it the same way.
package ci

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Enabled reports whether the tests run in CI.
func Enabled() bool {
	v, err := strconv.ParseBool(strings.TrimSpace(os.Getenv("CI")))
	return err == nil && v
}

// Require fails the test in CI, and skips it elsewhere, because it lacks
// what the message (a fmt format) names.
func Require(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Enabled() {
		tb.Fatal(msg + " [CI is set, so this is a failure, not a skip]")
		return
	}
	tb.Skip(msg + " (skipping; with CI=true this is a failure)")
}
