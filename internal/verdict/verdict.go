package verdict

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

type outcome int

const (
	pass outcome = iota
	fail
	skip
	notRun
)

// result is the verdict on a whole run, worst last: a run that failed
// anything is a FAIL even when it is also incomplete.
type result int

const (
	resultPass result = iota
	resultIncomplete
	resultFail
)

var resultWord = map[result]string{resultPass: "PASS", resultIncomplete: "INCOMPLETE", resultFail: "FAIL"}

// exitStatus tells the three results apart for scripts; 2 is kept for a
// report that cannot be read or is refused.
var exitStatus = map[result]int{resultPass: 0, resultFail: 1, resultIncomplete: 3}

// books are the chapters whose claims the verdict judges: a spec is a
// chapter claim when it carries a chapter's ID as a label.
var books = chapters.Books()

// Sections after the chapters', in the order they are shown. Specs labelled
// smoke or airgap check the cluster, not a claim the book makes; a spec
// with neither a chapter's label nor a cluster label is listed, but judged
// only by whether it failed.
const (
	clusterSection = "Cluster checks"
	otherSection   = "Other specs"
	suiteSection   = "Suite set-up / tear-down"
)

var clusterLabels = []string{"smoke", "airgap"}

// sectionOrder is each chapter's title in book order, then the rest.
func sectionOrder() []string {
	var out []string
	for _, c := range books {
		out = append(out, c.Title)
	}
	return append(out, clusterSection, otherSection, suiteSection)
}

func sectionRank(name string) int {
	return slices.Index(sectionOrder(), name)
}

// row is one line of the verdict: a spec, or a suite node that failed.
type row struct {
	section string
	// chapter is the ID of the chapter whose claim this is, "" when the
	// row is not a chapter claim.
	chapter string
	// claimID is the chapter claim the row is about ("2.1/pod-ready"),
	// and order its place in the chapter's descriptor (the book's order).
	claimID string
	order   int
	claim   string
	// commands are the claim's commands: as they ran (ran), from the
	// claim's report, else the book's, from the descriptor.
	commands []string
	ran      bool
	// path says how a claim that depends on the cluster's shape reached
	// what it needed ("node pod: kubectl debug node/...").
	path    string
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
	// group is the ordered container a spec shares a set-up (BeforeAll)
	// with; setUpFailed says that set-up failed on this spec.
	group       string
	setUpFailed bool
	// absent rows stand for a claim no spec of the report proved.
	absent bool
}

type verdict struct {
	cluster *ClusterInfo
	// broken says how the cluster was broken, from Info.Health or a
	// "cluster health" report entry; shown before anything else.
	broken []string
	rows   []row

	passed, failed, skipped, notRun int
	// deselected and neverStarted are the parts of notRun that are not
	// listed row by row.
	deselected, neverStarted int

	labelFilter string
	reasons     []string // the suite's own failure reasons, e.g. an interrupt
	// cleanup says what of the run's cleanup was left undone: namespaces
	// the cluster was still removing at the run's end, temporary folders
	// that could not be removed ("cleanup" entries).
	cleanup []string
	// later lists the claims the chapters leave for later: listed, not
	// run, not counted.
	later []string
	// privileged is what the run made on the cluster with privilege (the
	// specs' "privileged" entries), each once: the header lists it.
	privileged []clusterinfo.Privileged
	start      time.Time
	took       time.Duration
}

func summarise(reports []types.Report) verdict {
	v := verdict{cluster: findCluster(reports)}
	v.broken = brokenCluster(v.cluster, reports)
	for _, r := range reports {
		v.addReport(r)
	}
	slices.SortStableFunc(v.rows, compareRows)
	v.privileged = privilegedOf(reports)
	return v
}

// privilegedOf gathers every "privileged" entry of every spec and suite
// node, each once, the namespaces' labels first, then the Pods, in name
// order: the list reads the same whatever order the run took.
func privilegedOf(reports []types.Report) []clusterinfo.Privileged {
	var out []clusterinfo.Privileged
	for _, r := range reports {
		for _, s := range r.SpecReports {
			for _, e := range s.ReportEntries {
				if e.Name != clusterinfo.PrivilegedEntryName {
					continue
				}
				if p, ok := clusterinfo.ParsePrivileged(e.Value.String()); ok && !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b clusterinfo.Privileged) int {
		isPod := func(p clusterinfo.Privileged) int {
			if p.Pod != "" {
				return 1
			}
			return 0
		}
		return cmp.Or(cmp.Compare(isPod(a), isPod(b)), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod))
	})
	return out
}

func (v *verdict) addReport(r types.Report) {
	failedBefore, specs := v.failed, 0
	var rows []row
	for _, s := range r.SpecReports {
		v.addCleanup(s)
		if s.LeafNodeType != types.NodeTypeIt {
			v.addSuiteNode(s)
			continue
		}
		specs++
		rows = append(rows, specRow(s, r))
	}
	blameSetUp(rows)
	for _, row := range rows {
		v.add(row)
	}
	missing := r.PreRunStats.TotalSpecs - specs
	if missing > 0 {
		// a failed set-up leaves the specs out of the report altogether
		v.notRun += missing
		v.neverStarted += missing
	}
	v.owe(rows, r, missing > 0)
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

// addCleanup keeps what a node's clean-up could not finish (a "cleanup"
// entry): a suite node's, the namespaces still terminating at the end; a
// spec's, a temporary folder it could not remove. Either is said once,
// and fails nothing.
func (v *verdict) addCleanup(s types.SpecReport) {
	for _, e := range s.ReportEntries {
		if e.Name == cleanupEntry && !slices.Contains(v.cleanup, e.Value.String()) {
			v.cleanup = append(v.cleanup, e.Value.String())
		}
	}
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
		note: cause(s), loc: s.LeafNodeLocation, suiteNode: s.LeafNodeType.String()}
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
	out := row{claim: s.FullText(), runTime: s.RunTime, loc: s.LeafNodeLocation, path: pathOf(s), order: -1}
	out.section, out.chapter = classify(s.Labels())
	if out.chapter != "" && book.ClaimIDOf(s.LeafNodeText) == "" && slices.Contains(s.Labels(), "smoke") {
		// A chapter's image check carries its label (a filter that leaves
		// the chapter out leaves it out) and names no claim: a check of
		// the cluster.
		out.section, out.chapter = clusterSection, ""
	}
	if s.IsInOrderedContainer {
		out.group = fmt.Sprint(s.ContainerHierarchyLocations)
		out.setUpFailed = s.State.Is(types.SpecStateFailureStates) && s.Failure.FailureNodeType == types.NodeTypeBeforeAll
	}
	if out.chapter != "" {
		out.claimID = book.ClaimIDOf(s.LeafNodeText)
		ch := chapterByID(out.chapter)
		if c, i, ok := claimOf(ch, out.claimID); ok {
			out.claim, out.order = c.ID+": "+c.Says, i
			out.commands, out.ran = ranCommands(s)
			if !out.ran {
				out.commands = bookCommands(c)
			}
		} else {
			// A spec the verdict cannot count against any claim proves
			// nothing the descriptor owes: a defect, said as one.
			out.outcome, out.note = fail, fmt.Sprintf("spec carries label %s but names none of its claims (chapters/%s lists them): its result cannot be counted", out.chapter, out.chapter)
			return out
		}
	}
	switch {
	case s.State == types.SpecStatePassed:
		out.outcome = pass
	case s.State.Is(types.SpecStateFailureStates):
		out.outcome, out.note = fail, cause(s)
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

// The report entries the verdict reads (internal/report).
const (
	cleanupEntry = report.CleanupEntry
	pathEntry    = report.PathEntry
)

// ranCommands are the commands a claim's report says it ran, each as it
// ran with the book's form beside where they differ; ok is false when it
// ran none.
func ranCommands(s types.SpecReport) (lines []string, ok bool) {
	for _, e := range s.ReportEntries {
		if e.Name != report.RanEntry {
			continue
		}
		if r, ok := report.ParseRan(e.Value.String()); ok {
			lines = append(lines, r.Line())
		}
	}
	return lines, len(lines) > 0
}

// bookCommands are a claim's commands as the book prints them.
func bookCommands(c book.Claim) []string {
	var out []string
	for _, st := range c.Steps {
		out = append(out, st.Book)
	}
	return out
}

// pathOf is a spec's path entries, each shortened on its own, so that a
// long command does not hide what came after it.
func pathOf(s types.SpecReport) string {
	var paths []string
	for _, e := range s.ReportEntries {
		if e.Name == pathEntry {
			paths = append(paths, truncate(collapse(e.Value.String()), maxCause))
		}
	}
	return strings.Join(paths, "; ")
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

// classify puts a spec in its section by its own labels. A chapter's label
// wins over a cluster label: a spec that makes a claim of the book must
// pass for the book to hold, whatever else it is tagged with.
func classify(labels []string) (section, chapter string) {
	for _, c := range books {
		if slices.Contains(labels, c.ID) {
			return c.Title, c.ID
		}
	}
	for _, l := range labels {
		if slices.Contains(clusterLabels, l) {
			return clusterSection, ""
		}
	}
	return otherSection, ""
}

// compareRows orders a chapter's claims as its descriptor lists them (the
// book's order), other rows by position in the source, so the verdict reads
// the same whatever order the randomised run took.
func compareRows(a, b row) int {
	return cmp.Or(
		cmp.Compare(sectionRank(a.section), sectionRank(b.section)),
		cmp.Compare(a.order, b.order),
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

// claims tallies the chapter claims: how many the report has, how many
// the label filter left out, and the ones selected that did not pass.
type claims struct {
	total, deselected, neverStarted int
	skipped                         []row
	// leftOut are the IDs of the claims the label filter left out.
	leftOut []string
}

func (v verdict) claims() claims {
	var c claims
	for _, r := range v.rows {
		if r.chapter == "" {
			continue
		}
		c.total++
		switch {
		case r.outcome == skip:
			c.skipped = append(c.skipped, r)
		case r.outcome == notRun && r.deselected:
			c.deselected++
			c.leftOut = append(c.leftOut, r.claimID)
		case r.outcome == notRun:
			c.neverStarted++
		}
	}
	// Specs missing from the report may be claims: count them as such,
	// so they can only make the verdict stricter.
	c.neverStarted += v.neverStarted
	return c
}

// result: FAIL when anything failed, the report holds no chapter claim to
// judge, or a node of the cluster is not real (nothing the chapter runs
// can run there, whatever the API said of it); INCOMPLETE when some claim
// did not run and pass; else PASS. Cluster checks and other specs that
// skip do not hold back a PASS: they skip on clusters the suite did not
// make.
func (v verdict) result() result {
	c := v.claims()
	switch {
	case v.failed > 0 || c.total == 0 || len(notReal(v.cluster)) > 0:
		return resultFail
	case len(c.skipped) > 0 || c.deselected > 0 || c.neverStarted > 0:
		return resultIncomplete
	}
	return resultPass
}

// verdictReasons say why the result is not PASS where no row or note says
// it: each incomplete claim, or the missing claims of a FAIL. quote formats
// the label filter.
func (v verdict) verdictReasons(quote string) []string {
	switch v.result() {
	case resultIncomplete:
		return v.incompleteReasons(quote)
	case resultFail:
		var out []string
		for _, n := range notReal(v.cluster) {
			out = append(out, "fail: "+n+": no claim that something runs can hold on it")
		}
		if v.claims().total == 0 {
			out = append(out, "fail: "+noClaims())
		}
		return out
	}
	return nil
}

func (v verdict) incompleteReasons(quote string) []string {
	c := v.claims()
	var out []string
	for _, r := range c.skipped {
		out = append(out, "incomplete: skipped: "+r.claim+" — "+r.note)
	}
	if c.deselected > 0 {
		out = append(out, fmt.Sprintf("incomplete: partial run: %d of %d chapter claims selected (label filter "+quote+"); left out: %s",
			c.total-c.deselected, c.total, v.labelFilter, strings.Join(c.leftOut, ", ")))
	}
	if c.neverStarted > 0 {
		out = append(out, fmt.Sprintf("incomplete: not run: %d claims never started", c.neverStarted))
	}
	return out
}

// noClaims says why a report with no chapter claim fails: whatever else
// passed, it proves nothing the book says.
func noClaims() string {
	var ids []string
	for _, c := range books {
		ids = append(ids, c.ID)
	}
	return "no chapter claim in the report: no spec carries a chapter label (" + strings.Join(ids, ", ") + ")"
}

// firstFailure is the failure a one-line account of the run names: the
// first failed row in source order, or the suite's own reason.
func (v verdict) firstFailure() string {
	if nr := notReal(v.cluster); len(nr) > 0 {
		return nr[0]
	}
	for _, r := range v.rows {
		if r.outcome == fail {
			return r.claim + ": " + r.note
		}
	}
	if len(v.reasons) > 0 {
		return "suite: " + collapse(v.reasons[0])
	}
	if v.claims().total == 0 {
		return noClaims()
	}
	return "the suite failed"
}

// setUpSkip are Ginkgo's words for a spec it skipped because the set-up its
// ordered container shares failed before it.
var setUpSkip = []string{"Spec skipped because a BeforeAll node failed", "Spec skipped because an earlier spec in an ordered container failed"}

// blameSetUp gives a spec skipped because its group's shared set-up failed
// that set-up's cause: the claim was not shown to hold, for that reason,
// not for Ginkgo's sentence.
func blameSetUp(rows []row) {
	for i := range rows {
		r := &rows[i]
		if r.group == "" || r.outcome != skip || !slices.Contains(setUpSkip, r.note) {
			continue
		}
		for _, o := range rows {
			if o.group == r.group && o.outcome == fail && (o.setUpFailed || r.note == setUpSkip[1]) {
				what := "set-up failed"
				if !o.setUpFailed {
					what = "an earlier claim of its group failed"
				}
				r.outcome, r.note = fail, what+": "+o.note
				break
			}
		}
	}
}

// owe adds a row for each claim the chapters' descriptors list that no spec
// of the report proved: a claim left out by the label filter is not run
// (INCOMPLETE); one the suite had no spec for fails the run, since a PASS
// must cover every claim. When the suite stopped before listing its specs
// (a failed set-up), the claims are among those counted as never started.
func (v *verdict) owe(rows []row, r types.Report, stoppedEarly bool) {
	specs := map[string]int{}
	for _, row := range rows {
		if row.claimID != "" {
			specs[row.claimID]++
		}
	}
	for _, ch := range books {
		for i, c := range ch.Claims {
			if c.Later != "" {
				v.later = append(v.later, fmt.Sprintf("%s (needs %s): %s", c.ID, needList(c.Needs), c.Later))
				continue
			}
			base := row{section: ch.Title, chapter: ch.ID, claimID: c.ID, order: i, claim: c.ID + ": " + c.Says, commands: bookCommands(c), absent: true}
			switch n := specs[c.ID]; {
			case n == 1, n == 0 && stoppedEarly:
			case n == 0 && !selects(r, append([]string{ch.ID}, c.Labels...)):
				base.outcome, base.deselected, base.note = notRun, true, "not selected by the label filter"
				v.add(base)
			case n == 0:
				base.outcome, base.note = fail, "claim "+c.ID+" has no spec in this run: nothing proved it"
				v.add(base)
			default:
				base.outcome, base.note = fail, fmt.Sprintf("claim %s has %d specs in this run, where one proves it", c.ID, n)
				v.add(base)
			}
		}
	}
}

// selects says whether the run's label filter takes a spec with these
// labels.
func selects(r types.Report, labels []string) bool {
	if r.SuiteConfig.LabelFilter == "" {
		return true
	}
	filter, err := types.ParseLabelFilter(r.SuiteConfig.LabelFilter)
	return err != nil || filter(append(labels, r.SuiteLabels...))
}

func chapterByID(id string) *book.Chapter {
	for _, c := range books {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// claimOf is a chapter's claim by ID, with its place in the descriptor.
func claimOf(ch *book.Chapter, id string) (book.Claim, int, bool) {
	if ch == nil {
		return book.Claim{}, 0, false
	}
	for i, c := range ch.Claims {
		if c.ID == id {
			return c, i, true
		}
	}
	return book.Claim{}, 0, false
}

// needList names needs: "loadbalancer, nodeport".
func needList(ns []book.Need) string {
	var out []string
	for _, n := range ns {
		out = append(out, string(n))
	}
	return strings.Join(out, ", ")
}
