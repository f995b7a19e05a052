package main

import (
	"flag"
	"testing"

	"github.com/kiamol-e2e/kiamol-e2e/e2e"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// worker is one of the suite's processes, as `go test` would run it: the
// test flags registered (Ginkgo's runner passes -test.timeout), Ginkgo's
// own flags parsed, the suite run.
func worker() int {
	testing.Init()
	flag.Parse()
	var t failure
	if !e2e.Run(&t, settings.FromEnv()) || t.failed {
		return 1
	}
	return 0
}

// failure is what Ginkgo needs of a *testing.T: somewhere to say it failed.
type failure struct{ failed bool }

func (f *failure) Fail() { f.failed = true }
