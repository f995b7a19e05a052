package e2e_test

import (
	"testing"

	"github.com/onsi/ginkgo/v2"

	"github.com/kiamol-e2e/kiamol-e2e/e2e"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// TestKiamol runs the suite under go test: what make e2e compiles and runs
// with ginkgo -p. (The ginkgo CLI knows a suite by its test files' import
// of Ginkgo.)
func TestKiamol(t *testing.T) {
	var _ ginkgo.GinkgoTestingT = t
	e2e.Run(t, settings.FromEnv())
}
