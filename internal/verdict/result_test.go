package verdict

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// Synthetic specs for the result rules: chapter claims, cluster checks and
// a spec that is neither, each at its own line of the source.
func ch02Spec(line int, it string, state types.SpecState, f types.Failure, labels ...string) types.SpecReport {
	return spec("pods_test.go", line, podsDescribe, append([]string{ch02ID}, labels...), it, state, time.Second, f)
}

func smokeSpec(it string, state types.SpecState, f types.Failure) types.SpecReport {
	return spec("smoke_test.go", 17, "The cluster under test", []string{"smoke"}, it, state, time.Second, f)
}

func airgapSpec(it string, state types.SpecState, f types.Failure) types.SpecReport {
	return spec("airgap_test.go", 49, "The air-gapped cluster", []string{"airgap"}, it, state, time.Second, f)
}

func otherSpec(it string, state types.SpecState, f types.Failure) types.SpecReport {
	return spec("helpers_test.go", 8, "Helpers", nil, it, state, time.Second, f)
}

var (
	passed  = types.SpecStatePassed
	skipSt  = types.SpecStateSkipped
	none    = types.Failure{}
	boom    = types.Failure{Message: "boom"}
	offline = skipped("the cluster has no route to the internet")
)

// suiteOf is a report of specs (and suite nodes), all of them in the report.
func suiteOf(succeeded bool, specs ...types.SpecReport) types.Report {
	its := 0
	for _, s := range specs {
		if s.LeafNodeType == types.NodeTypeIt {
			its++
		}
	}
	return types.Report{SuiteSucceeded: succeeded, PreRunStats: types.PreRunStats{TotalSpecs: its}, SpecReports: specs}
}

func TestResult(t *testing.T) {
	withFilter := func(r types.Report, filter string) types.Report {
		r.SuiteConfig.LabelFilter = filter
		return r
	}
	failedTearDown := types.SpecReport{LeafNodeType: types.NodeTypeAfterSuite, State: types.SpecStateFailed,
		LeafNodeLocation: types.CodeLocation{FileName: "/work/main/e2e/suite_test.go", LineNumber: 120}, Failure: boom}
	interrupted := suiteOf(false, ch02Spec(19, "gives a Pod", passed, none))
	interrupted.SpecialSuiteFailureReasons = []string{"Interrupted by User"}
	missing := suiteOf(true, ch02Spec(19, "gives a Pod", passed, none))
	missing.PreRunStats.TotalSpecs = 3

	for _, tc := range []struct {
		name        string
		report      types.Report
		want        result
		wantClosing string
		wantReasons []string // the lines before the closing line
	}{
		{
			name:        "every claim passed",
			report:      suiteOf(true, ch02Spec(19, "gives a Pod", passed, none), ch02Spec(33, "names its container", passed, none)),
			want:        resultPass,
			wantClosing: "e2e: PASS (2 passed)",
		},
		{
			name: "a cluster check that skips with its reason does not hold back a PASS",
			report: suiteOf(true, ch02Spec(19, "gives a Pod", passed, none),
				airgapSpec("points containerd at the local registry", skipSt, skipped("not the suite's air-gapped cluster")),
				smokeSpec("has every node Ready", passed, none)),
			want:        resultPass,
			wantClosing: "e2e: PASS (2 passed, 1 skipped)",
		},
		{
			name:        "a cluster check left out by the label filter does not hold back a PASS",
			report:      withFilter(suiteOf(true, ch02Spec(19, "gives a Pod", passed, none), airgapSpec("points containerd", skipSt, none)), "!airgap"),
			want:        resultPass,
			wantClosing: "e2e: PASS (1 passed, 1 not run)",
		},
		{
			name:        "a spec that is neither claim nor check and skips does not hold back a PASS",
			report:      suiteOf(true, ch02Spec(19, "gives a Pod", passed, none), otherSpec("parses", skipSt, offline)),
			want:        resultPass,
			wantClosing: "e2e: PASS (1 passed, 1 skipped)",
		},
		{
			name:        "a failed cluster check fails",
			report:      suiteOf(false, ch02Spec(19, "gives a Pod", passed, none), smokeSpec("has every node Ready", types.SpecStateFailed, boom)),
			want:        resultFail,
			wantClosing: "e2e: FAIL (1 passed, 1 failed)",
		},
		{
			name:        "a failed spec that is neither claim nor check fails",
			report:      suiteOf(false, ch02Spec(19, "gives a Pod", passed, none), otherSpec("parses", types.SpecStateFailed, boom)),
			want:        resultFail,
			wantClosing: "e2e: FAIL (1 passed, 1 failed)",
		},
		{
			name: "a skipped claim: incomplete, naming it and its reason",
			report: suiteOf(true, ch02Spec(19, "gives a Pod", passed, none),
				spec("manifests_test.go", 51, manifestsDesc, []string{ch02ID, "manifests"}, "can be applied from a URL", skipSt, time.Second, offline)),
			want:        resultIncomplete,
			wantClosing: "e2e: INCOMPLETE (1 passed, 1 skipped)",
			wantReasons: []string{"incomplete: skipped: " + shown("can be applied from a URL") + " — the cluster has no route to the internet"},
		},
		{
			name:        "a pending claim is a skipped one",
			report:      suiteOf(true, ch02Spec(19, "gives a Pod", passed, none), ch02Spec(33, "names its container", types.SpecStatePending, none)),
			want:        resultIncomplete,
			wantClosing: "e2e: INCOMPLETE (1 passed, 1 skipped)",
			wantReasons: []string{"incomplete: skipped: " + shown("names its container") + " — pending"},
		},
		{
			name: "claims left out by the label filter: a partial run",
			report: withFilter(suiteOf(true,
				smokeSpec("has every node Ready", passed, none),
				ch02Spec(19, "gives a Pod", skipSt, none), ch02Spec(33, "names its container", skipSt, none),
				ch02Spec(40, "serves through port-forward", passed, none, "smoke")), "smoke"),
			want:        resultIncomplete,
			wantClosing: "e2e: INCOMPLETE (2 passed, 2 not run)",
			wantReasons: []string{`incomplete: partial run: 1 of 3 chapter claims selected (label filter "smoke"); left out: ` + idFor("gives a Pod") + ", " + idFor("names its container")},
		},
		{
			name:        "a claim selected but never reached",
			report:      suiteOf(true, ch02Spec(19, "gives a Pod", passed, none), ch02Spec(33, "names its container", skipSt, none)),
			want:        resultIncomplete,
			wantClosing: "e2e: INCOMPLETE (1 passed, 1 not run)",
			wantReasons: []string{"incomplete: not run: 1 claims never started"},
		},
		{
			name:        "specs missing from the report count as claims never started",
			report:      missing,
			want:        resultIncomplete,
			wantClosing: "e2e: INCOMPLETE (1 passed, 2 not run)",
			wantReasons: []string{"incomplete: not run: 2 claims never started"},
		},
		{
			name: "every reason, one line each",
			report: withFilter(suiteOf(true, ch02Spec(19, "gives a Pod", passed, none), ch02Spec(25, "is listed", skipSt, offline),
				ch02Spec(33, "names its container", skipSt, none, "port-forward"), ch02Spec(40, "is deleted", skipSt, none)), "!port-forward"),
			want:        resultIncomplete,
			wantClosing: "e2e: INCOMPLETE (1 passed, 1 skipped, 2 not run)",
			wantReasons: []string{
				"incomplete: skipped: " + shown("is listed") + " — the cluster has no route to the internet",
				`incomplete: partial run: 3 of 4 chapter claims selected (label filter "!port-forward"); left out: ` + idFor("names its container"),
				"incomplete: not run: 1 claims never started",
			},
		},
		{
			name:        "a failure outranks a skipped claim",
			report:      suiteOf(false, ch02Spec(19, "gives a Pod", types.SpecStateFailed, boom), ch02Spec(33, "names its container", skipSt, offline)),
			want:        resultFail,
			wantClosing: "e2e: FAIL (1 failed, 1 skipped)",
		},
		{
			name:        "a timed-out claim fails",
			report:      suiteOf(false, ch02Spec(19, "gives a Pod", types.SpecStateTimedout, none)),
			want:        resultFail,
			wantClosing: "e2e: FAIL (1 failed)",
		},
		{
			name:        "a panicked claim fails",
			report:      suiteOf(false, ch02Spec(19, "gives a Pod", types.SpecStatePanicked, types.Failure{Message: "Test Panicked", ForwardedPanic: "nil map"})),
			want:        resultFail,
			wantClosing: "e2e: FAIL (1 failed)",
		},
		{
			name:        "a failed tear-down fails, though every claim passed",
			report:      suiteOf(false, ch02Spec(19, "gives a Pod", passed, none), failedTearDown),
			want:        resultFail,
			wantClosing: "e2e: FAIL (1 passed, 1 failed)",
		},
		{
			name:        "an interrupted suite fails, though every claim it ran passed",
			report:      interrupted,
			want:        resultFail,
			wantClosing: "e2e: FAIL (1 passed, 1 failed)",
		},
		{
			name:        "no chapter claim in the report fails",
			report:      suiteOf(true, smokeSpec("has every node Ready", passed, none), otherSpec("parses", passed, none)),
			want:        resultFail,
			wantClosing: "e2e: FAIL (2 passed)",
			wantReasons: []string{"fail: no chapter claim in the report: no spec carries a chapter label (ch02)"},
		},
		{
			name:        "an empty report fails",
			report:      suiteOf(true),
			want:        resultFail,
			wantClosing: "e2e: FAIL (nothing ran)",
			wantReasons: []string{"fail: no chapter claim in the report: no spec carries a chapter label (ch02)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := read(t, tc.report)
			if got := v.result(); got != tc.want {
				t.Errorf("result %s, want %s", resultWord[got], resultWord[tc.want])
			}
			if got := closingLine(v); got != tc.wantClosing {
				t.Errorf("closing line %q, want %q", got, tc.wantClosing)
			}
			if got := v.verdictReasons("%q"); !slices.Equal(got, tc.wantReasons) {
				t.Errorf("reasons\n%q\nwant\n%q", got, tc.wantReasons)
			}
			// the reasons are the lines just before the closing line
			var out bytes.Buffer
			writeSummary(&out, v, "")
			want := strings.Join(append(slices.Clone(tc.wantReasons), tc.wantClosing), "\n") + "\n"
			if !strings.HasSuffix(out.String(), "\n"+want) {
				t.Errorf("summary does not end with\n%s\ngot\n%s", want, out.String())
			}
			if md := markdown(v); !strings.Contains(md, "Result: **"+resultWord[tc.want]+"** (") {
				t.Errorf("Markdown result is not %s:\n%s", resultWord[tc.want], md)
			}
		})
	}
}

func TestExitStatus(t *testing.T) {
	for res, want := range map[result]int{resultPass: 0, resultFail: 1, resultIncomplete: 3} {
		if got := exitStatus[res]; got != want {
			t.Errorf("%s exits %d, want %d", resultWord[res], got, want)
		}
	}
}

// TestSkippedClusterCheckIsListedWithItsReason: it does not hold back the
// PASS, but the reader sees what was not checked, and why.
func TestSkippedClusterCheckIsListedWithItsReason(t *testing.T) {
	v := read(t, suiteOf(true, ch02Spec(19, "gives a Pod", passed, none),
		airgapSpec("points containerd at the local registry", skipSt, skipped("not the suite's air-gapped cluster"))))
	var out bytes.Buffer
	writeSummary(&out, v, "")
	want := "Cluster checks:\nSKIP  1.0s  The air-gapped cluster points containerd at the local registry\n      reason: not the suite's air-gapped cluster\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("no %q in\n%s", want, out.String())
	}
	if md := markdown(v); !strings.Contains(md, "| ⏭ skip | 1.0s | not the suite's air-gapped cluster |") {
		t.Errorf("Markdown:\n%s", md)
	}
}

func TestMarkdownGivesTheIncompleteReasons(t *testing.T) {
	r := suiteOf(true, ch02Spec(19, "gives a Pod", passed, none), ch02Spec(59, "serves through port-forward", skipSt, none, "port-forward"))
	r.SuiteConfig.LabelFilter = "!port-forward"
	md := markdown(read(t, r))
	for _, want := range []string{
		"Result: **INCOMPLETE** (1 passed, 1 not run)\n",
		"incomplete: partial run: 1 of 2 chapter claims selected (label filter `!port-forward`)",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
}
