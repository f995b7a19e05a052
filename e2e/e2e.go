// Package e2e is the suite: every chapter's claims (chapters.All) as Ginkgo
// specs, with the cluster checks, run by internal/spec. e2e_test.go runs it
// under go test (what make e2e compiles); the kiamol-e2e binary calls Run.
package e2e

import (
	"github.com/onsi/ginkgo/v2"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// Run builds the suite's specs and runs them in this process; s is the
// environment's settings, read once by the caller.
func Run(t ginkgo.GinkgoTestingT, s settings.Settings) bool {
	return spec.Run(t, s, chapters.All)
}
