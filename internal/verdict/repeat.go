package verdict

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// repeated is the verdict on several runs of the suite, in run order: how
// often it held, and how steady each claim's time was.
type repeated struct {
	runs   []verdict
	claims []claimTimes // in source order
}

// claimTimes is one chapter claim's run time in each run it passed.
type claimTimes struct {
	first row // the claim as first seen, for its text and place in the source
	times []time.Duration
}

func runRepeat(opts options, stdout, stderr io.Writer) int {
	var runs []verdict
	for _, p := range opts.reports {
		reports, err := load(p)
		if err != nil {
			// a run missing from the series would make it look steadier
			// than it was
			fmt.Fprintf(stderr, "verdict: %v\n", err)
			return statusBroken
		}
		runs = append(runs, summarise(reports))
	}
	rep := summariseRuns(runs)
	mdPath, status := writeMarkdown(opts.mdPath, repeatMarkdown(rep), stderr)
	writeRepeat(stdout, rep, mdPath)
	if status == 0 {
		status = exitStatus[rep.result()]
	}
	return status
}

func summariseRuns(runs []verdict) repeated {
	rep := repeated{runs: runs}
	index := map[string]int{}
	for _, v := range runs {
		for _, r := range v.rows {
			if r.chapter == "" || r.outcome != pass {
				continue
			}
			i, ok := index[r.claim]
			if !ok {
				i = len(rep.claims)
				index[r.claim] = i
				rep.claims = append(rep.claims, claimTimes{first: r})
			}
			rep.claims[i].times = append(rep.claims[i].times, r.runTime)
		}
	}
	slices.SortStableFunc(rep.claims, func(a, b claimTimes) int { return compareRows(a.first, b.first) })
	return rep
}

// result is the worst of the runs': one failed run fails the series.
func (rep repeated) result() result {
	worst := resultPass
	for _, v := range rep.runs {
		worst = max(worst, v.result())
	}
	return worst
}

// repeatClosingLine names the first run that was not a PASS and why, so
// the line alone says where to look.
func repeatClosingLine(rep repeated) string {
	n, passed := len(rep.runs), 0
	for _, v := range rep.runs {
		if v.result() == resultPass {
			passed++
		}
	}
	switch rep.result() {
	case resultFail:
		i := rep.first(resultFail)
		return fmt.Sprintf("e2e-repeat: FAIL: run %d of %d failed: %s", i+1, n, rep.runs[i].firstFailure())
	case resultIncomplete:
		i := rep.first(resultIncomplete)
		why := strings.TrimPrefix(rep.runs[i].incompleteReasons("%q")[0], "incomplete: ")
		return fmt.Sprintf("e2e-repeat: INCOMPLETE: %d of %d runs passed; run %d of %d incomplete: %s", passed, n, i+1, n, why)
	}
	return fmt.Sprintf("e2e-repeat: PASS: %d of %d runs passed", passed, n)
}

func (rep repeated) first(res result) int {
	return slices.IndexFunc(rep.runs, func(v verdict) bool { return v.result() == res })
}

// runLine is one run's result: "run 3/20: PASS (21 passed) in 41.2s".
func runLine(i, n int, v verdict) string {
	return fmt.Sprintf("run %d/%d: %s (%s) in %.1fs", i+1, n, resultWord[v.result()], counts(v), v.took.Seconds())
}

func writeRepeat(w io.Writer, rep repeated, mdPath string) {
	for i, v := range rep.runs {
		fmt.Fprintln(w, runLine(i, len(rep.runs), v))
	}
	if len(rep.claims) > 0 {
		fmt.Fprintln(w, "claim times over the runs each passed in (min / median / max):")
		for _, c := range rep.claims {
			fmt.Fprintln(w, "  "+c.spread()+"  "+c.first.claim+c.passedIn(len(rep.runs)))
		}
	}
	if mdPath != "" {
		fmt.Fprintln(w, "verdict: "+mdPath)
	}
	fmt.Fprintln(w, repeatClosingLine(rep))
}

// spread is "3.1s / 3.2s / 4.0s", each right-aligned so the columns line up.
func (c claimTimes) spread() string {
	lo, mid, hi := minMedianMax(c.times)
	return fmt.Sprintf("%6.1fs / %6.1fs / %6.1fs", lo.Seconds(), mid.Seconds(), hi.Seconds())
}

// passedIn says how few runs a claim's times come from, when not all.
func (c claimTimes) passedIn(runs int) string {
	if len(c.times) == runs {
		return ""
	}
	return fmt.Sprintf(" (passed in %d of %d runs)", len(c.times), runs)
}

// minMedianMax of a non-empty list; the median of an even count is the
// mean of the middle two.
func minMedianMax(ds []time.Duration) (lo, mid, hi time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	mid = s[n/2]
	if n%2 == 0 {
		mid = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], mid, s[n-1]
}

func repeatMarkdown(rep repeated) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kiamol-e2e verdict: %s: %d runs\n\n", chapterList(), len(rep.runs))
	if len(rep.runs) > 0 {
		writeBroken(&b, rep.runs[0].broken)
		b.WriteString("Cluster: " + escape(describeCluster(rep.runs[0].cluster)) + "\n\n")
	}
	b.WriteString("Result: " + escape(strings.TrimPrefix(repeatClosingLine(rep), "e2e-repeat: ")) + "\n\n")
	b.WriteString("| run | result | specs | time |\n|---|---|---|---|\n")
	for i, v := range rep.runs {
		b.WriteString(tableRow(fmt.Sprint(i+1), "**"+resultWord[v.result()]+"**", counts(v), fmt.Sprintf("%.1fs", v.took.Seconds())))
	}
	b.WriteString("\n")
	if len(rep.claims) == 0 {
		return b.String()
	}
	b.WriteString("## Claim times over the runs each passed in\n\n| claim | passed in | min | median | max |\n|---|---|---|---|---|\n")
	for _, c := range rep.claims {
		lo, mid, hi := minMedianMax(c.times)
		b.WriteString(tableRow(c.first.claim, fmt.Sprintf("%d of %d", len(c.times), len(rep.runs)),
			fmt.Sprintf("%.1fs", lo.Seconds()), fmt.Sprintf("%.1fs", mid.Seconds()), fmt.Sprintf("%.1fs", hi.Seconds())))
	}
	b.WriteString("\n")
	return b.String()
}
