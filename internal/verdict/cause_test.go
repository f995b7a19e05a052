package verdict

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

func causeEntry(layer, reason string) types.ReportEntry {
	return types.ReportEntry{Name: report.CauseEntry, Value: types.WrapEntryValue(report.Cause{Layer: layer, Reason: reason}.JSON())}
}

func TestCauseIsTheFirstRecordedOne(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, tc := range []struct {
		name string
		s    types.SpecReport
		want string
	}{
		{
			name: "the cause the suite recorded, whatever the message says",
			s: types.SpecReport{State: types.SpecStateFailed,
				Failure:       types.Failure{Message: "Timed out after 90.001s.\nsomething Gomega wrote"},
				ReportEntries: types.ReportEntries{causeEntry(report.LayerCluster, "pod ns/hello-kiamol cannot become Ready: the image cannot be pulled")}},
			want: "pod ns/hello-kiamol cannot become Ready: the image cannot be pulled",
		},
		{
			name: "the first of several (a clean-up failing after the spec)",
			s: types.SpecReport{State: types.SpecStateFailed,
				ReportEntries: types.ReportEntries{causeEntry(report.LayerKubectl, "first"), causeEntry(report.LayerSuite, "second")}},
			want: "first",
		},
		{
			name: "a claim's assertion, its message on one line",
			s: types.SpecReport{State: types.SpecStateFailed,
				ReportEntries: types.ReportEntries{causeEntry(report.LayerClaim, "kubectl prints the IPs the API has\nExpected\n    <[]string | len:3>: [a b c]\nto equal\n    <[]string | len:3>: [a b d]")}},
			want: "kubectl prints the IPs the API has Expected <[]string | len:3>: [a b c] to equal <[]string | len:3>: [a b d]",
		},
		{
			name: "timed out while a wait said why",
			s: types.SpecReport{State: types.SpecStateTimedout,
				ReportEntries: types.ReportEntries{causeEntry(report.LayerCluster, "pod ns/p not Ready after 1m30s: phase=Pending")}},
			want: "timed out: pod ns/p not Ready after 1m30s: phase=Pending",
		},
		{name: "timed out with nothing recorded", s: types.SpecReport{State: types.SpecStateTimedout}, want: "timed out"},
		{name: "interrupted", s: types.SpecReport{State: types.SpecStateInterrupted}, want: "interrupted"},
		{
			name: "a panic",
			s:    types.SpecReport{State: types.SpecStatePanicked, Failure: types.Failure{Message: "Test Panicked", ForwardedPanic: "runtime error:\n index out of range"}},
			want: "panic: runtime error: index out of range",
		},
		{
			name: "long causes are cut to one cell",
			s:    types.SpecReport{State: types.SpecStateFailed, ReportEntries: types.ReportEntries{causeEntry(report.LayerClaim, long)}},
			want: strings.Repeat("é", maxCause-1) + "…",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cause(tc.s)
			if got != tc.want {
				t.Errorf("cause = %q\n want %q", got, tc.want)
			}
			if utf8.RuneCountInString(got) > maxCause {
				t.Errorf("cause has %d runes, more than %d", utf8.RuneCountInString(got), maxCause)
			}
		})
	}
}
