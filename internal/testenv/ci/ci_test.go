package ci

import (
	"runtime"
	"testing"
)

func TestEnabled(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "true": true, "TRUE": true, "True": true, "1": true, " true\n": true, "t": true,
		"false": false, "0": false, "yes": false, "no": false, "garbage": false,
	} {
		t.Setenv("CI", v)
		if got := Enabled(); got != want {
			t.Errorf("CI=%q: Enabled() = %v, want %v", v, got, want)
		}
	}
}

// TestRequire: outside CI a missing dependency skips the test; in CI it
// fails it.
func TestRequire(t *testing.T) {
	for _, c := range []struct {
		ci            string
		failed, skipd bool
	}{{"", false, true}, {"true", true, false}} {
		t.Setenv("CI", c.ci)
		ft := &fakeTB{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Require(ft, "needs %s", "a thing")
		}()
		<-done
		if ft.failed != c.failed || ft.skipped != c.skipd {
			t.Errorf("CI=%q: failed %v skipped %v", c.ci, ft.failed, ft.skipped)
		}
	}
}

// fakeTB records Fatal and Skip; both end the goroutine as the real ones do.
type fakeTB struct {
	testing.TB
	failed, skipped bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatal(args ...any) {
	f.failed = true
	runtimeGoexit()
}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = true
	runtimeGoexit()
}

func runtimeGoexit() { runtime.Goexit() }
