package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// timeline is where one suite run's time went, from the command's own
// start: make and the suite's build and preflight until Ginkgo's first
// node, the suite's setup (SynchronizedBeforeSuite: the cluster's facts,
// the fixtures the claims share), each spec from its start to its end on
// its process with its longest step (a By: the book's command, or a wait),
// the suite's teardown, and the verdict until the command exits.
func timeline(reportPath string, started, ended time.Time) (string, error) {
	r, err := readReport(reportPath)
	if err != nil {
		return "", err
	}
	return drawTimeline(r, started, ended), nil
}

// reportTimeline is a report's timeline from Ginkgo's start to its end
// (what came before and after it is not in the report).
func reportTimeline(reportPath string) (string, error) {
	r, err := readReport(reportPath)
	if err != nil {
		return "", err
	}
	return drawTimeline(r, r.StartTime, r.EndTime), nil
}

func readReport(reportPath string) (types.Report, error) {
	raw, err := os.ReadFile(reportPath)
	if err != nil {
		return types.Report{}, err
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return types.Report{}, fmt.Errorf("%s: %w", reportPath, err)
	}
	if len(reports) != 1 {
		return types.Report{}, fmt.Errorf("%s: %d suites, want 1", reportPath, len(reports))
	}
	return reports[0], nil
}

func drawTimeline(r types.Report, started, ended time.Time) string {
	at := func(t time.Time) string { return fmt.Sprintf("%5.1f s", t.Sub(started).Seconds()) }
	var b strings.Builder
	b.WriteString("| from | to | what | took | its longest step |\n|---|---|---|---|---|\n")
	row := func(from, to time.Time, what, step string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f s | %s |\n", at(from), at(to), what, to.Sub(from).Seconds(), step)
	}
	row(started, r.StartTime, "make: tools, the suite's build, preflight; Ginkgo's processes start", "")
	specs := append(types.SpecReports(nil), r.SpecReports...)
	sort.SliceStable(specs, func(i, j int) bool { return specs[i].StartTime.Before(specs[j].StartTime) })
	var lastEnd time.Time
	for _, s := range specs {
		if s.StartTime.IsZero() {
			continue
		}
		what := ""
		switch {
		case s.LeafNodeType.Is(types.NodeTypeIt):
			what = fmt.Sprintf("spec on process %d: %s", s.ParallelProcess, short(s.LeafNodeText))
		case s.LeafNodeType.Is(types.NodeTypeSynchronizedBeforeSuite | types.NodeTypeBeforeSuite):
			what = fmt.Sprintf("suite setup (%s, process %d)", s.LeafNodeType, s.ParallelProcess)
		case s.LeafNodeType.Is(types.NodeTypeSynchronizedAfterSuite | types.NodeTypeAfterSuite | types.NodeTypeCleanupAfterSuite):
			what = fmt.Sprintf("suite teardown (%s, process %d)", s.LeafNodeType, s.ParallelProcess)
		default:
			what = fmt.Sprintf("%s (process %d)", s.LeafNodeType, s.ParallelProcess)
		}
		if s.State.Is(types.SpecStateSkipped) {
			what += ", skipped"
		}
		row(s.StartTime, s.EndTime, what, longestStep(s))
		if s.EndTime.After(lastEnd) {
			lastEnd = s.EndTime
		}
	}
	if r.EndTime.After(lastEnd) {
		lastEnd = r.EndTime
	}
	row(lastEnd, ended, "the verdict; the command exits", "")
	return b.String()
}

// longestStep is the spec's longest step: a By (By("...") without a
// callback records only its start, so a step lasts until the next one
// starts, or the spec ends), with its duration.
func longestStep(s types.SpecReport) string {
	var starts []types.SpecEvent
	for _, e := range s.SpecEvents {
		if e.SpecEventType == types.SpecEventByStart {
			starts = append(starts, e)
		}
	}
	sort.SliceStable(starts, func(i, j int) bool { return starts[i].TimelineLocation.Time.Before(starts[j].TimelineLocation.Time) })
	var best string
	var longest time.Duration
	for i, e := range starts {
		end := s.EndTime
		if i+1 < len(starts) {
			end = starts[i+1].TimelineLocation.Time
		}
		if d := end.Sub(e.TimelineLocation.Time); d > longest {
			best, longest = e.Message, d
		}
	}
	if longest == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f s `%s`", longest.Seconds(), strings.ReplaceAll(short(best), "|", `\|`))
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 90 {
		return s[:87] + "..."
	}
	return s
}
