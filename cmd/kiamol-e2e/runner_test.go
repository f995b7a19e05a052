package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCaptured runs the runner as a reader would, and returns its exit
// status and what it wrote.
func runCaptured(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outW, errW
	code := runner(args)
	os.Stdout, os.Stderr = stdout, stderr
	outW.Close()
	errW.Close()
	out, _ := io.ReadAll(outR)
	errText, _ := io.ReadAll(errR)
	return code, string(out), string(errText)
}

// Bad input: one line on stderr that says what is wrong and where to look,
// exit status 2, and nothing run.
func TestBadInputIsOneLineAndStatusTwo(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--no-such-flag"}, "kiamol-e2e: flag provided but not defined: -no-such-flag; see kiamol-e2e --help"},
		{[]string{"extra"}, `kiamol-e2e: unexpected argument "extra"; see kiamol-e2e --help`},
		{[]string{"--procs=0"}, "kiamol-e2e: --procs=0 is not a number of processes; use 1 or more"},
		{[]string{"--report-dir", t.TempDir()}, "kiamol-e2e: no kubeconfig"},
		{[]string{"--report-dir", t.TempDir(), "--kubeconfig", filepath.Join(t.TempDir(), "missing.yaml")}, "kiamol-e2e: no kubeconfig"},
	} {
		code, out, errText := runCaptured(t, c.args...)
		if code != 2 {
			t.Errorf("%v: exit status %d, want 2 (stderr %q)", c.args, code, errText)
		}
		if lines := strings.Split(strings.TrimRight(errText, "\n"), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], c.says) {
			t.Errorf("%v: stderr %q, want one line starting %q", c.args, errText, c.says)
		}
		if out != "" {
			t.Errorf("%v: wrote to stdout %q", c.args, out)
		}
	}
}

func TestVersionAndHelp(t *testing.T) {
	code, out, _ := runCaptured(t, "--version")
	if code != 0 || !strings.HasPrefix(out, "kiamol-e2e dev (") {
		t.Errorf("--version: %d %q", code, out)
	}
	code, out, _ = runCaptured(t, "--help")
	if code != 0 || !strings.Contains(out, "Exit status: 0 PASS, 1 FAIL, 3 INCOMPLETE, 2 bad input.") || !strings.Contains(out, "-label-filter") {
		t.Errorf("--help: %d %q", code, out)
	}
}

// The binary is the suite's worker only when Ginkgo's runner starts it with
// Ginkgo's flags, and kubectl only through a link of that name.
func TestRoles(t *testing.T) {
	if !isWorker([]string{"--ginkgo.parallel.process=2", "--test.timeout=0"}) || isWorker([]string{"--context", "x"}) {
		t.Error("isWorker")
	}
	for name, want := range map[string]bool{"kubectl": true, "/tmp/x/kubectl.exe": true, "KUBECTL.EXE": true, "kiamol-e2e": false, "kubectl-foo": false} {
		if isKubectl(name) != want {
			t.Errorf("isKubectl(%q) != %v", name, want)
		}
	}
}

// The suite's processes run in another folder than the reader's: each path
// of a kubeconfig list reaches them absolute.
func TestKubeconfigPathsReachTheSuiteAbsolute(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, _ := os.Getwd()
	sep := string(os.PathListSeparator)
	abs := filepath.Join(wd, "b.yaml")
	got := absoluteList("a.yaml" + sep + abs + sep + filepath.Join("..", "c.yaml"))
	want := filepath.Join(wd, "a.yaml") + sep + abs + sep + filepath.Join(filepath.Dir(wd), "c.yaml")
	if got != want {
		t.Errorf("absoluteList: %q, want %q", got, want)
	}
}

func TestRBACPrintsTheRoles(t *testing.T) {
	var out, errOut strings.Builder
	if code := printRBAC(nil, &out, &errOut); code != 0 || !strings.Contains(out.String(), "name: kiamol-e2e-chapter") || !strings.Contains(out.String(), "name: kiamol-e2e-node") {
		t.Errorf("kiamol-e2e rbac: %d %q %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := printRBAC([]string{"x"}, &out, &errOut); code != 2 || out.Len() > 0 || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("kiamol-e2e rbac x: %d %q %q", code, out.String(), errOut.String())
	}
}
