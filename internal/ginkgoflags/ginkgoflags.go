// Package ginkgoflags holds the flags every run of the suite gives
// Ginkgo's runner, in one place for both callers: the Makefile reads
// flags.txt, the kiamol-e2e binary embeds it. Each adds only what is its
// own (the process count, the report paths, a label filter).
package ginkgoflags

import (
	_ "embed"
	"strings"
)

//go:embed flags.txt
var raw string

// Common is the flags every run gives Ginkgo's runner: parallel, in a
// random order, failing a run with a pending spec or none at all, within a
// bound, with a grace period for cleanup after an interrupt, and progress
// reports for a spec that runs long.
func Common() []string { return strings.Fields(raw) }
