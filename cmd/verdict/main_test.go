package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func writeReport(t *testing.T, r types.Report) string {
	t.Helper()
	raw, err := json.Marshal([]types.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCountsSpecsNotSuiteNodes(t *testing.T) {
	p := writeReport(t, types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateFailed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped},
	}})
	passed, failed, skipped, err := count(p)
	if err != nil || passed != 2 || failed != 1 || skipped != 1 {
		t.Errorf("got %d passed, %d failed, %d skipped, %v", passed, failed, skipped, err)
	}
}

func TestAFailedSetUpCountsAsAFailure(t *testing.T) {
	p := writeReport(t, types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped},
	}})
	if _, failed, _, _ := count(p); failed == 0 {
		t.Error("a suite whose set-up failed reported no failure")
	}
}

func TestAnEmptyFailedSuiteIsNotGreen(t *testing.T) {
	p := writeReport(t, types.Report{SuiteSucceeded: false})
	if passed, failed, _, _ := count(p); passed != 0 || failed != 1 {
		t.Errorf("got passed=%d failed=%d", passed, failed)
	}
}

func TestMissingReportIsAnError(t *testing.T) {
	if _, _, _, err := count(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("no error for a missing report")
	}
}
