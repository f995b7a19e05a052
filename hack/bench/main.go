// Command bench times the suite against the chapter scripted with kubectl:
// on one kept cluster it runs, in turn, hack/bench/chapter.sh (every
// exercise, each step checked, no wait the chapter does not need), the
// same script waiting for its namespace to go, and `make e2e EXISTING=1`,
// and prints medians, spreads and the suite's ratio to each as a Markdown
// table. Optionally it also times the cluster-up path: `make e2e` from
// cached images to verdict.
//
//	go run ./hack/bench [-pairs 5] [-cluster-up 3]    (make bench)
//
// It is a benchmark, not a test: it fails only when a run it times fails.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

func main() {
	pairs := flag.Int("pairs", 5, "rounds to time, each of the script, the suite and the waiting script")
	clusterUp := flag.Int("cluster-up", 0, "also time this many `make e2e` runs that make their own cluster")
	out := flag.String("md", "_artifacts/bench.md", "where to write the table as well")
	of := flag.String("timeline", "", "only print the timeline of this Ginkgo JSON report (from Ginkgo's start to its end)")
	flag.Parse()
	if *of != "" {
		tl, err := reportTimeline(*of)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: "+err.Error())
			os.Exit(1)
		}
		fmt.Print(tl)
		return
	}
	if err := run(*pairs, *clusterUp, *out); err != nil {
		fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		os.Exit(1)
	}
}

// cluster is the kept cluster the pairs share.
const cluster = "kiamol-e2e-bench"

func run(pairs, clusterUp int, mdPath string) error {
	cache := os.Getenv("KIAMOL_E2E_CACHE")
	if cache == "" {
		home, _ := os.UserCacheDir()
		cache = filepath.Join(home, "kiamol-e2e")
	}
	kubeconfig := filepath.Join(cache, cluster+".kubeconfig")
	machine := describeMachine()
	fmt.Println("bench: " + machine)

	// One cluster for every pair, made (and warmed) by a full run of the
	// suite; deleted at the end.
	fmt.Println("bench: making the shared cluster with a full run (not timed)")
	if _, err := timed("make", "e2e", "KEEP=1", "CLUSTER_NAME="+cluster); err != nil {
		return fmt.Errorf("the warm-up run failed: %w", err)
	}
	defer func() {
		if _, err := timed("make", "down", "CLUSTER_NAME="+cluster); err != nil {
			fmt.Fprintln(os.Stderr, "bench: make down failed:", err)
		}
	}()
	script := []string{"env", "KUBECTL=" + os.Getenv("E2E_KUBECTL"), "KUBECONFIG=" + kubeconfig,
		"CONTEXT=kind-" + cluster, "FIXTURES=chapters/ch02", "CH03=chapters/ch03", "bash", "hack/bench/chapter.sh"}
	waiting := append([]string{script[0], "WAIT_NAMESPACE=1"}, script[1:]...)
	suite := []string{"make", "e2e", "EXISTING=1", "KUBECONFIG=" + kubeconfig, "CLUSTER_NAME=" + cluster}
	if _, err := timed(script...); err != nil {
		return fmt.Errorf("the script's warm-up failed: %w", err)
	}

	// Each round runs the three in turn, each round starting one later, so
	// none always follows the same other.
	times := map[string][]time.Duration{}
	cmds := [][]string{script, suite, waiting}
	// Each suite run's report, kept to draw the median run's timeline.
	type suiteRun struct {
		report     string
		start, end time.Time
	}
	var suiteRuns []suiteRun
	artifacts := cmp.Or(os.Getenv("E2E_ARTIFACTS"), "_artifacts")
	for i := 0; i < pairs; i++ {
		for j := range cmds {
			cmd := cmds[(i+j)%len(cmds)]
			start := time.Now()
			d, err := timed(cmd...)
			if err != nil {
				return fmt.Errorf("round %d: %w", i+1, err)
			}
			times[name(cmd)] = append(times[name(cmd)], d)
			fmt.Printf("bench: round %d: %s %.1fs\n", i+1, name(cmd), d.Seconds())
			if name(cmd) == name(suite) {
				kept := filepath.Join(artifacts, fmt.Sprintf("bench-report-%d.json", i+1))
				if raw, err := os.ReadFile(filepath.Join(artifacts, "report.json")); err == nil && os.WriteFile(kept, raw, 0o644) == nil {
					suiteRuns = append(suiteRuns, suiteRun{kept, start, start.Add(d)})
				}
			}
		}
	}
	scriptTimes, suiteTimes, waitingTimes := times[name(script)], times[name(suite)], times[name(waiting)]

	var up []time.Duration
	for i := 0; i < clusterUp; i++ {
		d, err := timed("make", "e2e", "CLUSTER_NAME="+cluster+"-up")
		if err != nil {
			return fmt.Errorf("cluster-up run %d: %w", i+1, err)
		}
		up = append(up, d)
		fmt.Printf("bench: cluster-up run %d: %.1fs\n", i+1, d.Seconds())
	}

	md := table(machine, scriptTimes, waitingTimes, suiteTimes, up)
	if len(suiteRuns) > 0 {
		// The run whose time is the median's (the lower of the two middle
		// ones when even), drawn from its own report.
		sort.Slice(suiteRuns, func(i, j int) bool {
			return suiteRuns[i].end.Sub(suiteRuns[i].start) < suiteRuns[j].end.Sub(suiteRuns[j].start)
		})
		m := suiteRuns[(len(suiteRuns)-1)/2]
		if tl, err := timeline(m.report, m.start, m.end); err == nil {
			md += fmt.Sprintf("\nWhere the median suite run's %.1f s went (`%s`):\n\n%s", m.end.Sub(m.start).Seconds(), m.report, tl)
		} else {
			md += "\nno timeline: " + err.Error() + "\n"
		}
	}
	fmt.Print(md)
	if mdPath != "" {
		_ = os.MkdirAll(filepath.Dir(mdPath), 0o755)
		return os.WriteFile(mdPath, []byte(md), 0o644)
	}
	return nil
}

func name(cmd []string) string {
	switch {
	case cmd[0] == "env" && cmd[1] == "WAIT_NAMESPACE=1":
		return "chapter.sh, waiting for its namespace"
	case cmd[0] == "env":
		return "chapter.sh"
	}
	return "make e2e EXISTING=1"
}

// timed runs a command with its output kept aside, and says how long it
// took; a failure carries the output's tail.
func timed(args ...string) (time.Duration, error) {
	cmd := exec.Command(args[0], args[1:]...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) > 15 {
			lines = lines[len(lines)-15:]
		}
		return d, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, strings.Join(lines, "\n"))
	}
	return d, nil
}

func table(machine string, script, waiting, suite, up []time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nMeasured %s on %s.\n\n", time.Now().UTC().Format("2006-01-02"), machine)
	b.WriteString("| what | runs | median | min-max |\n|---|---|---|---|\n")
	row := func(what string, ds []time.Duration) {
		if len(ds) == 0 {
			return
		}
		lo, med, hi := spread(ds)
		fmt.Fprintf(&b, "| %s | %d | %.1f s | %.1f-%.1f s |\n", what, len(ds), med.Seconds(), lo.Seconds(), hi.Seconds())
	}
	row("`hack/bench/chapter.sh`: the chapter scripted with kubectl, sequential, the namespace deleted without waiting", script)
	row("the same script, waiting for its namespace to go (`WAIT_NAMESPACE=1`)", waiting)
	row("`make e2e EXISTING=1`: the suite (31 specs) on the same cluster", suite)
	row("`make e2e` from cached images: cluster up, suite, cluster down", up)
	ratio := func(what string, yardstick []time.Duration) {
		if len(yardstick) > 0 && len(suite) > 0 {
			_, y, _ := spread(yardstick)
			_, e, _ := spread(suite)
			fmt.Fprintf(&b, "\nRatio of medians, suite / %s: **%.2f**\n", what, e.Seconds()/y.Seconds())
		}
	}
	ratio("script", script)
	ratio("script waiting for its namespace", waiting)
	return b.String()
}

func spread(ds []time.Duration) (lo, med, hi time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return s[0], med, s[n-1]
}

// describeMachine is what a reader needs to compare: cores, CPU, memory,
// and the load at the start.
func describeMachine() string {
	cpu := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		fmt.Sscanf(strings.SplitN(string(raw), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %d GiB", (kb+512*1024)/(1024*1024))
	}
	load := ""
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		load = ", load " + strings.Join(strings.Fields(string(raw))[:3], " ")
	}
	return fmt.Sprintf("%d cores (%s)%s%s", runtime.NumCPU(), cpu, mem, load)
}
