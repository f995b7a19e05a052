package main

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

type outcome int

const (
	pass outcome = iota
	fail
	skip
	notRun
)

// Sections in the order they are shown. Specs labelled smoke or airgap
// check the cluster the suite built, not a claim the book makes.
const (
	claimsSection  = "Chapter 2 claims"
	clusterSection = "Cluster checks"
	suiteSection   = "Suite set-up / tear-down"
)

var sectionOrder = []string{claimsSection, clusterSection, suiteSection}

var clusterLabels = []string{"smoke", "airgap"}

// row is one line of the verdict: a spec, or a suite node that failed.
type row struct {
	section string
	claim   string
	outcome outcome
	runTime time.Duration
	note    string // a failure's cause or a skip's reason
	loc     types.CodeLocation
	// deselected rows were left out on purpose by the label filter; they
	// are counted, not listed.
	deselected bool
	// suiteNode names a suite node's type: every parallel process reports
	// its own copy, and the verdict shows one.
	suiteNode string
}

type verdict struct {
	cluster *ClusterInfo
	rows    []row

	passed, failed, skipped, notRun int
	// deselected and neverStarted are the parts of notRun that are not
	// listed row by row.
	deselected, neverStarted int

	labelFilter string
	reasons     []string // the suite's own failure reasons, e.g. an interrupt
	start       time.Time
	took        time.Duration
}

func (v verdict) green() bool { return v.failed == 0 && v.passed > 0 }

func summarise(reports []types.Report) verdict {
	v := verdict{cluster: findCluster(reports)}
	for _, r := range reports {
		v.addReport(r)
	}
	slices.SortStableFunc(v.rows, compareRows)
	return v
}

func (v *verdict) addReport(r types.Report) {
	failedBefore, specs := v.failed, 0
	for _, s := range r.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			v.addSuiteNode(s)
			continue
		}
		specs++
		v.add(specRow(s, r))
	}
	if missing := r.PreRunStats.TotalSpecs - specs; missing > 0 {
		// a failed set-up leaves the specs out of the report altogether
		v.notRun += missing
		v.neverStarted += missing
	}
	if !r.SuiteSucceeded && v.failed == failedBefore {
		v.failed++ // e.g. an empty or interrupted suite
	}
	v.reasons = append(v.reasons, r.SpecialSuiteFailureReasons...)
	v.labelFilter = cmp.Or(v.labelFilter, r.SuiteConfig.LabelFilter)
	if v.start.IsZero() || r.StartTime.Before(v.start) {
		v.start = r.StartTime
	}
	v.took += r.RunTime
}

// addSuiteNode lists a suite node only when it failed; its success is
// what lets the specs run at all.
func (v *verdict) addSuiteNode(s types.SpecReport) {
	if !s.State.Is(types.SpecStateFailureStates) {
		return
	}
	name := s.LeafNodeType.String()
	if s.LeafNodeText != "" {
		name += " " + s.LeafNodeText
	}
	if s.LeafNodeLocation.FileName != "" {
		name += fmt.Sprintf(" (%s:%d)", filepath.Base(s.LeafNodeLocation.FileName), s.LeafNodeLocation.LineNumber)
	}
	r := row{section: suiteSection, claim: name, outcome: fail, runTime: s.RunTime,
		note: cause(s.Failure, s.State), loc: s.LeafNodeLocation, suiteNode: s.LeafNodeType.String()}
	for i := range v.rows {
		if v.rows[i].suiteNode == r.suiteNode {
			// The other processes only echo process 1's failure, as
			// "interrupted" or "node 1 failed": keep the telling cause.
			if len(r.note) > len(v.rows[i].note) {
				v.rows[i].note = r.note
			}
			return
		}
	}
	v.add(r)
}

func (v *verdict) add(r row) {
	switch r.outcome {
	case pass:
		v.passed++
	case fail:
		v.failed++
	case skip:
		v.skipped++
	case notRun:
		v.notRun++
		if r.deselected {
			v.deselected++
		}
	}
	v.rows = append(v.rows, r)
}

func specRow(s types.SpecReport, r types.Report) row {
	out := row{section: section(s), claim: s.FullText(), runTime: s.RunTime, loc: s.LeafNodeLocation}
	switch {
	case s.State == types.SpecStatePassed:
		out.outcome = pass
	case s.State.Is(types.SpecStateFailureStates):
		out.outcome, out.note = fail, cause(s.Failure, s.State)
	case s.State == types.SpecStatePending:
		out.outcome, out.note = skip, "pending"
	case s.Failure.Message != "":
		// the spec called Skip("reason") itself
		out.outcome, out.note = skip, truncate(collapse(s.Failure.Message), maxCause)
	default:
		out.outcome, out.note = notRun, "not run"
		if deselected(s, r) {
			out.deselected, out.note = true, "not selected by the label filter"
		}
	}
	return out
}

// deselected tells a spec the label filter left out from one that was
// selected but never reached (an interrupt, an abort, a failed set-up).
func deselected(s types.SpecReport, r types.Report) bool {
	query := r.SuiteConfig.LabelFilter
	if query == "" {
		return false
	}
	filter, err := types.ParseLabelFilter(query)
	if err != nil {
		return true // Ginkgo ran with it, so this cannot happen
	}
	return !filter(append(s.Labels(), r.SuiteLabels...))
}

func section(s types.SpecReport) string {
	for _, l := range s.Labels() {
		if slices.Contains(clusterLabels, l) {
			return clusterSection
		}
	}
	return claimsSection
}

// compareRows orders by position in the source, so the verdict reads the
// same whatever order the randomised run took.
func compareRows(a, b row) int {
	return cmp.Or(
		cmp.Compare(slices.Index(sectionOrder, a.section), slices.Index(sectionOrder, b.section)),
		cmp.Compare(a.loc.FileName, b.loc.FileName),
		cmp.Compare(a.loc.LineNumber, b.loc.LineNumber),
		cmp.Compare(a.claim, b.claim),
	)
}

func (v verdict) section(name string) []row {
	var out []row
	for _, r := range v.rows {
		if r.section == name && !r.deselected {
			out = append(out, r)
		}
	}
	return out
}
