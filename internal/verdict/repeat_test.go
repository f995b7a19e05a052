package verdict

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// runOf is one run of two claims and a smoke check; took is the run's
// time, podTime the first claim's.
func runOf(took, podTime time.Duration, heals types.SpecState, f types.Failure) types.Report {
	pod := ch02Spec(19, "gives a Pod", passed, none)
	pod.RunTime = podTime
	r := suiteOf(heals != types.SpecStateFailed,
		ch02Spec(46, "heals itself", heals, f),
		smokeSpec("has every node Ready", passed, none),
		pod)
	r.RunTime = took
	return r
}

// writeRuns writes each run's report to its own file, in run order.
func writeRuns(t *testing.T, runs []types.Report) []string {
	t.Helper()
	var paths []string
	for _, r := range runs {
		paths = append(paths, writeReport(t, r))
	}
	return paths
}

func TestRepeat(t *testing.T) {
	ok := func(took, pod float64) types.Report {
		return runOf(time.Duration(took*float64(time.Second)), time.Duration(pod*float64(time.Second)), passed, none)
	}
	skippedHeal := runOf(40*time.Second, 3*time.Second, skipSt, skipped("needs the container runtime"))
	failedHeal := runOf(90*time.Second, 4*time.Second, types.SpecStateFailed, types.Failure{Message: selfHealTimeout})
	for _, tc := range []struct {
		name     string
		runs     []types.Report
		wantCode int
		want     string // the whole summary
	}{
		{
			name:     "every run passed",
			runs:     []types.Report{ok(41.2, 3.1), ok(39.9, 3.5), ok(44, 2.9)},
			wantCode: 0,
			want: "run 1/3: PASS (3 passed) in 41.2s\n" +
				"run 2/3: PASS (3 passed) in 39.9s\n" +
				"run 3/3: PASS (3 passed) in 44.0s\n" +
				"claim times over the runs each passed in (min / median / max):\n" +
				"     2.9s /    3.1s /    3.5s  " + shown("gives a Pod") + "\n" +
				"     1.0s /    1.0s /    1.0s  " + shown("heals itself") + "\n" +
				"e2e-repeat: PASS: 3 of 3 runs passed\n",
		},
		{
			name:     "the worst run is incomplete",
			runs:     []types.Report{ok(41.2, 3), skippedHeal, ok(40, 5), ok(40, 4)},
			wantCode: 3,
			want: "run 1/4: PASS (3 passed) in 41.2s\n" +
				"run 2/4: INCOMPLETE (2 passed, 1 skipped) in 40.0s\n" +
				"run 3/4: PASS (3 passed) in 40.0s\n" +
				"run 4/4: PASS (3 passed) in 40.0s\n" +
				"claim times over the runs each passed in (min / median / max):\n" +
				"     3.0s /    3.5s /    5.0s  " + shown("gives a Pod") + "\n" +
				"     1.0s /    1.0s /    1.0s  " + shown("heals itself") + " (passed in 3 of 4 runs)\n" +
				"e2e-repeat: INCOMPLETE: 3 of 4 runs passed; run 2 of 4 incomplete: skipped: " + shown("heals itself") + " — needs the container runtime\n",
		},
		{
			name:     "one failed run fails the series, and the line says which and why",
			runs:     []types.Report{ok(41.2, 3), skippedHeal, failedHeal},
			wantCode: 1,
			want: "run 1/3: PASS (3 passed) in 41.2s\n" +
				"run 2/3: INCOMPLETE (2 passed, 1 skipped) in 40.0s\n" +
				"run 3/3: FAIL (2 passed, 1 failed) in 90.0s\n" +
				"claim times over the runs each passed in (min / median / max):\n" +
				"     3.0s /    3.0s /    4.0s  " + shown("gives a Pod") + "\n" +
				"     1.0s /    1.0s /    1.0s  " + shown("heals itself") + " (passed in 1 of 3 runs)\n" +
				"e2e-repeat: FAIL: run 3 of 3 failed: " + shown("heals itself") + ": pod kiamol-e2e-1/hello-kiamol not Ready after 1m0s: " +
				"pod kiamol-e2e-1/hello-kiamol phase=Pending ready=false; container hello-kiamol: waiting ErrImagePull pull access denied (restarts 0)\n",
		},
		{
			name:     "a run without the claims the descriptor lists fails, naming the first",
			runs:     []types.Report{ok(41.2, 3), suiteOf(true, smokeSpec("has every node Ready", passed, none))},
			wantCode: 1,
			want: "run 1/2: PASS (3 passed) in 41.2s\n" +
				"run 2/2: FAIL (1 passed, 2 failed) in 0.0s\n" +
				"claim times over the runs each passed in (min / median / max):\n" +
				"     3.0s /    3.0s /    3.0s  " + shown("gives a Pod") + " (passed in 1 of 2 runs)\n" +
				"     1.0s /    1.0s /    1.0s  " + shown("heals itself") + " (passed in 1 of 2 runs)\n" +
				"e2e-repeat: FAIL: run 2 of 2 failed: " + shown("gives a Pod") + ": claim " + idFor("gives a Pod") + " has no spec in this run: nothing proved it\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			describe(t, tc.runs...)
			paths := writeRuns(t, tc.runs)
			var stdout, stderr bytes.Buffer
			if code := Run(append([]string{"-repeat"}, paths...), &stdout, &stderr); code != tc.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			if got := stdout.String(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			for _, p := range paths {
				if _, err := os.Stat(filepath.Join(filepath.Dir(p), "verdict.md")); err == nil {
					t.Error("verdict.md written without -md")
				}
			}
		})
	}
}

func TestRepeatRefusesWhatItCannotJudge(t *testing.T) {
	good := runOf(40*time.Second, 3*time.Second, passed, none)
	dry := good
	dry.SuiteConfig.DryRun = true
	for _, tc := range []struct {
		name       string
		args       func(paths []string) []string
		wantStderr string
	}{
		{"a dry-run report among the runs", func(p []string) []string { return []string{"-repeat", p[0], p[1]} },
			"verdict: RUN2 is a dry-run report (ginkgo --dry-run): nothing ran, there is nothing to judge\n"},
		{"a missing report", func(p []string) []string {
			return []string{"-repeat", p[0], filepath.Join(filepath.Dir(p[0]), "none.json")}
		}, ""},
		{"no report", func([]string) []string { return []string{"-repeat"} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paths := writeRuns(t, []types.Report{good, dry})
			var stdout, stderr bytes.Buffer
			if code := Run(tc.args(paths), &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout.Len() > 0 {
				t.Errorf("a verdict on stdout:\n%s", stdout.String())
			}
			if got := strings.ReplaceAll(stderr.String(), paths[1], "RUN2"); tc.wantStderr != "" && got != tc.wantStderr {
				t.Errorf("stderr %q, want %q", got, tc.wantStderr)
			}
		})
	}
}

func TestRepeatWritesMarkdownOnlyWhenAsked(t *testing.T) {
	runs := []types.Report{
		runOf(41200*time.Millisecond, 3*time.Second, passed, none),
		runOf(40*time.Second, 5*time.Second, passed, none),
	}
	describe(t, runs...)
	paths := writeRuns(t, runs)
	md := filepath.Join(t.TempDir(), "repeat.md")
	var stdout, stderr bytes.Buffer
	if code := Run(append([]string{"-repeat", "-md", md}, paths...), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	if !strings.HasSuffix(stdout.String(), "verdict: "+md+"\ne2e-repeat: PASS: 2 of 2 runs passed\n") {
		t.Errorf("summary:\n%s", stdout.String())
	}
	raw, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# kiamol-e2e verdict: chapter 2: 2 runs\n",
		"Result: PASS: 2 of 2 runs passed\n",
		"| 1 | **PASS** | 3 passed | 41.2s |\n",
		"| " + shown("gives a Pod") + " | 2 of 2 | 3.0s | 4.0s | 5.0s |\n",
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("no %q in\n%s", want, raw)
		}
	}
}

func TestMinMedianMax(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		in          []time.Duration
		lo, mid, hi time.Duration
	}{
		{[]time.Duration{4 * s}, 4 * s, 4 * s, 4 * s},
		{[]time.Duration{5 * s, 1 * s, 3 * s}, 1 * s, 3 * s, 5 * s},
		{[]time.Duration{4 * s, 1 * s, 3 * s, 2 * s}, 1 * s, 2500 * time.Millisecond, 4 * s},
	} {
		lo, mid, hi := minMedianMax(tc.in)
		if lo != tc.lo || mid != tc.mid || hi != tc.hi {
			t.Errorf("%v: got %v / %v / %v, want %v / %v / %v", tc.in, lo, mid, hi, tc.lo, tc.mid, tc.hi)
		}
	}
}
