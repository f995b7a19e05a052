// Command verdict reads Ginkgo's JSON report and prints one closing line,
// "N passed, N failed, N skipped", counting specs only (not suite set-up), so
// a CI log says plainly what ran.
//
//	go run ./cmd/verdict _artifacts/report.json
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/onsi/ginkgo/v2/types"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: verdict REPORT.json")
		os.Exit(2)
	}
	passed, failed, skipped, err := count(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "verdict: %v\n", err)
		os.Exit(2)
	}
	fmt.Printf("e2e: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	if failed > 0 || passed == 0 {
		os.Exit(1)
	}
}

func count(path string) (passed, failed, skipped int, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("no report (%w): did the suite run?", err)
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			switch {
			case s.LeafNodeType != types.NodeTypeIt:
				// suite set-up and tear-down: a failure there shows as
				// failed specs or as the suite's own failure below
				if s.State.Is(types.SpecStateFailureStates) {
					failed++
				}
			case s.State == types.SpecStatePassed:
				passed++
			case s.State.Is(types.SpecStateFailureStates):
				failed++
			case s.State == types.SpecStateSkipped, s.State == types.SpecStatePending:
				skipped++
			}
		}
		if !r.SuiteSucceeded && failed == 0 {
			failed++ // e.g. an empty or interrupted suite
		}
	}
	return passed, failed, skipped, nil
}
