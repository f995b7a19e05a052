package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2/ginkgo/command"
	"github.com/onsi/ginkgo/v2/ginkgo/run"

	"github.com/kiamol-e2e/kiamol-e2e/internal/ginkgoflags"
	"github.com/kiamol-e2e/kiamol-e2e/internal/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
	"github.com/kiamol-e2e/kiamol-e2e/internal/tempdir"
	"github.com/kiamol-e2e/kiamol-e2e/internal/verdict"
)

// ginkgoRole marks the process that plays Ginkgo's runner; it is not passed
// on to the suite's processes.
const ginkgoRole = "KIAMOL_E2E_GINKGO"

const usage = `kiamol-e2e checks the cluster of your current kubeconfig context against chapter 2 of
Kubernetes in a Month of Lunches, and says PASS, INCOMPLETE or FAIL.

  kiamol-e2e [flags]
  kiamol-e2e rbac     print the ClusterRoles it needs on your cluster, and how to bind them

Exit status: 0 PASS, 1 FAIL, 3 INCOMPLETE, 2 bad input.

Flags:
`

// runner is the binary as a reader runs it.
func runner(args []string) int {
	if os.Getenv(ginkgoRole) != "" {
		return ginkgoMain(args)
	}
	fs := flag.NewFlagSet("kiamol-e2e", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // a bad flag is said in one line below
	fs.Usage = func() {}
	kubeconfig := fs.String("kubeconfig", "", "the kubeconfig file (or list) to use (default: $KUBECONFIG, else ~/.kube/config)")
	kubeContext := fs.String("context", "", "the kubeconfig context to check (default: its current-context)")
	labels := fs.String("label-filter", "", "check only the claims this Ginkgo label filter selects, e.g. 'pods && !self-healing' (the verdict is then INCOMPLETE)")
	reportDir := fs.String("report-dir", "kiamol-e2e-report", "where verdict.md, report.json, junit.xml and failure evidence go")
	manifests := fs.String("manifests", "", "the book's repository (or its ch02 folder): apply its manifests instead of the suite's copy")
	selfHeal := fs.String("self-heal", settings.SelfHealAuto, "how the self-healing claims reach the node's runtime: auto (this machine's access, else the claims are skipped), host (this machine's access only) or node (allows privileged Pods on the nodes)")
	scale := fs.String("timeout-scale", "", "multiply every wait by this factor (1 to 100) on a slow cluster")
	procs := fs.Int("procs", 4, "parallel processes")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fmt.Print(usage)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(os.Stderr, "kiamol-e2e: %v; see kiamol-e2e --help\n", err)
		return 2
	}
	if *showVersion {
		fmt.Printf("kiamol-e2e %s (%s/%s)\n", version, runtime.GOOS, runtime.GOARCH)
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "kiamol-e2e: unexpected argument %q; see kiamol-e2e --help\n", fs.Arg(0))
		return 2
	}
	if *procs < 1 {
		fmt.Fprintf(os.Stderr, "kiamol-e2e: --procs=%d is not a number of processes; use 1 or more\n", *procs)
		return 2
	}

	work, err := os.MkdirTemp("", "kiamol-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
		return 2
	}
	defer func() {
		if err := tempdir.Remove(work); err != nil {
			fmt.Fprintln(os.Stderr, "kiamol-e2e: cleanup: "+err.Error())
		}
	}()
	suite, kubectl, err := links(work)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
		return 2
	}
	reports, err := filepath.Abs(*reportDir)
	if err == nil {
		err = os.MkdirAll(reports, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: --report-dir: "+err.Error())
		return 2
	}
	if *manifests != "" {
		*manifests, _ = filepath.Abs(*manifests)
	}
	progress := filepath.Join(work, "progress.jsonl")
	// The suite's processes read the same environment as make e2e gives
	// them: an existing cluster, these knobs.
	env := map[string]string{
		settings.EnvExisting: "1", settings.EnvContext: *kubeContext, settings.EnvManifests: *manifests,
		settings.EnvSelfHeal: *selfHeal, settings.EnvTimeoutScale: *scale, settings.EnvArtifacts: reports,
		settings.EnvKubectl: kubectl, settings.EnvProgress: progress,
	}
	// The suite's processes run in the folder of the suite's copy: a
	// relative kubeconfig path must say where it was given.
	if kc := cmp.Or(*kubeconfig, os.Getenv(settings.EnvKubeconfig)); kc != "" {
		env[settings.EnvKubeconfig] = absoluteList(kc)
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
			return 2
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	said, err := preflight.Check(ctx, settings.FromEnv(), preflight.Options{Chapters: chapters.Books(), Labels: *labels, Suite: suite})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
		return 2
	}
	if said.Privileged != "" {
		fmt.Printf("kiamol-e2e %s: %s\n", version, said.Privileged)
	}
	fmt.Printf("kiamol-e2e %s: checking the %s\n", version, strings.TrimPrefix(said.Cluster, "existing "))
	_ = os.Remove(filepath.Join(reports, "report.json"))

	// Its own lines say what was skipped and why: Ginkgo's need not.
	ginkgoArgs := append(ginkgoflags.Common(), "--procs="+strconv.Itoa(*procs), "--silence-skips",
		"--output-dir="+reports, "--json-report=report.json", "--junit-report=junit.xml")
	if *labels != "" {
		ginkgoArgs = append(ginkgoArgs, "--label-filter="+*labels)
	}
	log := filepath.Join(reports, "ginkgo.log")
	if err := runGinkgo(append(ginkgoArgs, suite), work, log, progress); err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
	}
	fmt.Println("ginkgo's own output: " + log)
	return verdict.Run([]string{filepath.Join(reports, "report.json")}, os.Stdout, os.Stderr)
}

// links gives this binary the two other names it answers to, in dir: a
// compiled suite for Ginkgo's runner (which knows one by its .test or .exe
// name) and kubectl. A hard link where the file system has one, else a copy;
// on Windows always a copy: a file whose other name is a running program
// cannot be deleted, and the runner is running when it removes dir.
func links(dir string) (suite, kubectl string, err error) {
	self, err := os.Executable()
	if err != nil {
		return "", "", err
	}
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	suite, kubectl = filepath.Join(dir, "kiamol-e2e.test"+exe), filepath.Join(dir, "kubectl"+exe)
	for _, l := range []string{suite, kubectl} {
		if runtime.GOOS == "windows" || os.Link(self, l) != nil {
			if err := copyFile(self, l); err != nil {
				return "", "", fmt.Errorf("cannot place a copy of this binary in %s: %w", dir, err)
			}
		}
	}
	return suite, kubectl, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// absoluteList is a kubeconfig path, or a list of them, each made absolute.
func absoluteList(list string) string {
	paths := filepath.SplitList(list)
	for i, p := range paths {
		if p != "" {
			if abs, err := filepath.Abs(p); err == nil {
				paths[i] = abs
			}
		}
	}
	return strings.Join(paths, string(os.PathListSeparator))
}

// runGinkgo runs Ginkgo's own runner in a process of its own (this binary
// again), its output kept in log, and shows a line for each spec as the
// suite's processes report it in progress. The runner works in dir, the
// folder of the suite's copy: it names the suite by its path relative to
// its working directory, which does not exist from one Windows drive to
// another (a reader's folder on D:, %TEMP% on C:).
func runGinkgo(args []string, dir, log, progress string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := os.Create(log)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(self, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), ginkgoRole+"=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	// Ctrl-C reaches the whole process group: Ginkgo's runner stops the
	// suite's processes, which delete their namespaces; this process waits
	// for it and still gives the verdict.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	defer signal.Reset(os.Interrupt, syscall.SIGTERM)
	stop := make(chan struct{})
	var shown sync.WaitGroup
	shown.Add(1)
	go func() {
		defer shown.Done()
		showProgress(progress, stop)
	}()
	err = cmd.Wait()
	close(stop)
	shown.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return nil // the specs failed, or were interrupted: the verdict says so
	}
	return err
}

// showProgress prints each line the suite's processes append to progress,
// as they come, until stop; then the rest.
func showProgress(progress string, stop <-chan struct{}) {
	var offset int64
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		offset = printNew(progress, offset)
		select {
		case <-stop:
			printNew(progress, offset)
			return
		case <-tick.C:
		}
	}
}

// printNew prints the whole lines after offset and returns where they end.
func printNew(path string, offset int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return offset
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset
	}
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return offset // a part line waits for its end
		}
		offset += int64(len(line))
		var p spec.Progress
		if json.Unmarshal([]byte(line), &p) == nil {
			fmt.Printf("  %-4s %5.1fs  %s\n", progressWord(p.State), p.Took.Seconds(), p.Claim)
		}
	}
}

// ginkgoMain is Ginkgo's own runner (its `ginkgo run`), compiled in.
func ginkgoMain(args []string) (code int) {
	// The suite's processes are the suite, not the runner.
	os.Unsetenv(ginkgoRole)
	defer func() {
		if r := recover(); r != nil {
			d, ok := r.(command.AbortDetails)
			if !ok {
				panic(r)
			}
			if d.Error != nil {
				fmt.Fprintln(os.Stderr, d.Error)
			}
			code = d.ExitCode
		}
	}()
	run.BuildRunCommand().Run(args, nil)
	return 0
}

// progressWord is Ginkgo's state as the verdict words it.
func progressWord(state string) string {
	switch state {
	case "passed":
		return "PASS"
	case "skipped", "pending":
		return "SKIP"
	}
	return "FAIL"
}
