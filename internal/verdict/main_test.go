package verdict

import (
	"bytes"
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

// writeReport writes r the way `ginkgo --json-report` does: a JSON array
// of reports, each value marshalled by Ginkgo's own MarshalJSON methods.
func writeReport(t *testing.T, r types.Report) string {
	t.Helper()
	r = asWritten(r)
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

// read goes through the JSON file so tests see what a real report decodes
// to, judged against a descriptor that owes exactly the report's claims
// (describe); tests of claims the descriptor owes and no spec proves set
// their own (readAs).
func read(t *testing.T, r types.Report) verdict {
	t.Helper()
	describe(t, r)
	return readAs(t, r)
}

func readAs(t *testing.T, r types.Report) verdict {
	t.Helper()
	reports, err := load(writeReport(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return summarise(reports)
}

// describe makes the verdict's descriptor, for this test, one chapter 2
// whose claims are the chapter 2 specs of the reports, in source order:
// what the chapter's descriptor would list if those were all its specs.
func describe(t *testing.T, reports ...types.Report) {
	t.Helper()
	saved := books
	t.Cleanup(func() { books = saved })
	var specs []types.SpecReport
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType == types.NodeTypeIt && slices.Contains(s.Labels(), ch02ID) && book.ClaimIDOf(s.LeafNodeText) != "" {
				specs = append(specs, s)
			}
		}
	}
	slices.SortStableFunc(specs, func(a, b types.SpecReport) int {
		return cmp.Or(cmp.Compare(a.LeafNodeLocation.FileName, b.LeafNodeLocation.FileName), cmp.Compare(a.LeafNodeLocation.LineNumber, b.LeafNodeLocation.LineNumber))
	})
	ch := &book.Chapter{ID: ch02ID, Title: ch02Title}
	for _, s := range specs {
		id := book.ClaimIDOf(s.LeafNodeText)
		if _, ok := ch.Claim(id); ok {
			continue
		}
		var labels []string
		for _, l := range s.Labels() {
			if l != ch02ID {
				labels = append(labels, l)
			}
		}
		ch.Claims = append(ch.Claims, book.Claim{ID: id, Says: strings.TrimPrefix(s.LeafNodeText, book.ClaimPrefix(id)),
			Steps: []book.Step{book.Kubectl("kubectl " + strings.TrimPrefix(id, "2.1/"))}, Labels: labels})
	}
	books = []*book.Chapter{ch}
}

// idFor is the claim ID the tests give a chapter 2 spec with this text.
func idFor(it string) string {
	return "2.1/" + strings.Trim(nonWord.ReplaceAllString(strings.ToLower(it), "-"), "-")
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// shown is how the verdict names the claim a spec with this text proves.
func shown(it string) string { return idFor(it) + ": " + it }

// claimed gives a chapter 2 spec's text the claim ID claim() gives it.
func claimed(it string) string { return book.ClaimPrefix(idFor(it)) + it }

func skipped(reason string) types.Failure { return types.Failure{Message: reason} }

func TestCountsSpecsNotSuiteNodes(t *testing.T) {
	v := read(t, types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStatePassed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateFailed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped, Failure: skipped("no route out")},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped},
	}})
	if v.passed != 2 || v.failed != 1 || v.skipped != 1 || v.notRun != 1 {
		t.Errorf("got %d passed, %d failed, %d skipped, %d not run", v.passed, v.failed, v.skipped, v.notRun)
	}
}

func TestAFailedSetUpCountsAsAFailure(t *testing.T) {
	v := read(t, types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, State: types.SpecStateFailed},
		{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped},
	}})
	if v.failed == 0 {
		t.Error("a suite whose set-up failed reported no failure")
	}
}

func TestAnEmptyFailedSuiteFails(t *testing.T) {
	v := read(t, types.Report{SuiteSucceeded: false})
	if v.passed != 0 || v.failed != 1 || v.result() != resultFail {
		t.Errorf("got passed=%d failed=%d %s", v.passed, v.failed, resultWord[v.result()])
	}
}

func TestMissingReportIsAnError(t *testing.T) {
	if _, err := load(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("no error for a missing report")
	}
}

// claim is a chapter 2 spec in the state given.
func claim(it string, state types.SpecState) types.SpecReport {
	return types.SpecReport{LeafNodeType: types.NodeTypeIt, LeafNodeText: claimed(it), State: state,
		ContainerHierarchyTexts: []string{"Chapter 2"}, ContainerHierarchyLabels: [][]string{{ch02ID}}}
}

func TestRun(t *testing.T) {
	passing := types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{claim("works", types.SpecStatePassed)}}
	incomplete := types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{
		claim("works", types.SpecStatePassed),
		withFailure(claim("needs the internet", types.SpecStateSkipped), skipped("no route out")),
	}}
	dryRun := passing
	dryRun.SuiteConfig.DryRun = true
	for _, tc := range []struct {
		name       string
		report     types.Report
		args       func(report, dir string) []string
		wantCode   int
		wantMD     func(report, dir string) string // "" for no file
		wantLast   string
		wantStderr string // the whole of stderr, when it matters
	}{
		{
			name:     "default writes verdict.md next to the report",
			report:   passing,
			args:     func(report, _ string) []string { return []string{report} },
			wantMD:   func(report, _ string) string { return filepath.Join(filepath.Dir(report), "verdict.md") },
			wantLast: "e2e: PASS (1 passed)",
		},
		{
			name:     "-md names the file",
			report:   passing,
			args:     func(report, dir string) []string { return []string{"-md", filepath.Join(dir, "out.md"), report} },
			wantMD:   func(_, dir string) string { return filepath.Join(dir, "out.md") },
			wantLast: "e2e: PASS (1 passed)",
		},
		{
			name:     "-md '' writes none",
			report:   passing,
			args:     func(report, _ string) []string { return []string{"-md", "", report} },
			wantMD:   func(string, string) string { return "" },
			wantLast: "e2e: PASS (1 passed)",
		},
		{
			name:     "a failure exits 1",
			report:   sampleReport(),
			args:     func(report, _ string) []string { return []string{"-md=", report} },
			wantCode: 1,
			wantMD:   func(string, string) string { return "" },
			wantLast: "e2e: FAIL (3 passed, 2 failed, 1 skipped, 1 not run)",
		},
		{
			name:     "an incomplete run exits 3",
			report:   incomplete,
			args:     func(report, _ string) []string { return []string{"-md=", report} },
			wantCode: 3,
			wantMD:   func(string, string) string { return "" },
			wantLast: "e2e: INCOMPLETE (1 passed, 1 skipped)",
		},
		{
			name:       "a dry-run report is refused",
			report:     dryRun,
			args:       func(report, _ string) []string { return []string{report} },
			wantCode:   2,
			wantMD:     func(string, string) string { return "" },
			wantStderr: "verdict: REPORT is a dry-run report (ginkgo --dry-run): nothing ran, there is nothing to judge\n",
		},
		{
			name:   "an unwritable Markdown path exits 2 but still summarises",
			report: passing,
			args: func(report, dir string) []string {
				return []string{"-md", filepath.Join(dir, "no", "such", "dir.md"), report}
			},
			wantCode: 2,
			wantMD:   func(string, string) string { return "" },
			wantLast: "e2e: PASS (1 passed)",
		},
		{
			name:     "no report path is a usage error",
			report:   passing,
			args:     func(string, string) []string { return nil },
			wantCode: 2,
			wantMD:   func(string, string) string { return "" },
		},
		{
			name:     "two reports without -repeat is a usage error",
			report:   passing,
			args:     func(report, _ string) []string { return []string{report, report} },
			wantCode: 2,
			wantMD:   func(string, string) string { return "" },
		},
		{
			name:     "flags go before the report",
			report:   passing,
			args:     func(report, _ string) []string { return []string{report, "-md", ""} },
			wantCode: 2,
			wantMD:   func(string, string) string { return "" },
		},
		{
			name:     "an unreadable report exits 2",
			report:   passing,
			args:     func(_, dir string) []string { return []string{filepath.Join(dir, "none.json")} },
			wantCode: 2,
			wantMD:   func(string, string) string { return "" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			describe(t, tc.report)
			report, dir := writeReport(t, tc.report), t.TempDir()
			var stdout, stderr bytes.Buffer
			if code := Run(tc.args(report, dir), &stdout, &stderr); code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if got := strings.ReplaceAll(stderr.String(), report, "REPORT"); tc.wantStderr != "" && got != tc.wantStderr {
				t.Errorf("stderr %q, want %q", got, tc.wantStderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; last != tc.wantLast {
				t.Errorf("last line %q, want %q", last, tc.wantLast)
			}
			md := tc.wantMD(report, dir)
			if md == "" {
				if strings.Contains(stdout.String(), "verdict: ") {
					t.Errorf("a verdict file was announced:\n%s", stdout.String())
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(report), "verdict.md")); err == nil {
					t.Error("verdict.md written anyway")
				}
				return
			}
			if _, err := os.Stat(md); err != nil {
				t.Errorf("no Markdown at %s: %v", md, err)
			}
			if want := "verdict: " + md; lines[len(lines)-2] != want {
				t.Errorf("second-last line %q, want %q", lines[len(lines)-2], want)
			}
		})
	}
}

func withFailure(s types.SpecReport, f types.Failure) types.SpecReport {
	s.Failure = f
	return s
}

// asWritten gives each failed spec of a made-up report the cause entry the
// suite's fail handler leaves for its failure's message, as a run would.
func asWritten(r types.Report) types.Report {
	r.SpecReports = slices.Clone(r.SpecReports)
	for i, s := range r.SpecReports {
		if s.State != types.SpecStateFailed || s.Failure.Message == "" || s.Failure.ForwardedPanic != "" {
			continue
		}
		if slices.ContainsFunc(s.ReportEntries, func(e types.ReportEntry) bool { return e.Name == report.CauseEntry }) {
			continue
		}
		s.ReportEntries = append(slices.Clone(s.ReportEntries), causeEntry(report.LayerClaim, s.Failure.Message))
		r.SpecReports[i] = s
	}
	return r
}
