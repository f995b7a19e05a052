// Package wine runs the Windows binary (cmd/kiamol-e2e built for
// windows/amd64) under Debian's Wine against a real cluster, as a reader on
// Windows would run it: from a folder on C:, the drive of %TEMP%, and from
// one on Z: (the Unix root under Wine; on a reader's machine, a checkout on
// D:). `make wine` installs Wine, builds the binary, makes the cluster and
// runs this test; without E2E_WINE=1 it skips.
//
// What it needs of Wine that Wine 8.0 lacks it supplies in its own Wine
// prefix only (testdata/bcryptprimitives.c); nothing of it is shipped.
package wine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// Each bound is an upper bound on this project's 2-core machine, busy.
const (
	// A first wineboot of a new prefix took 26 s here.
	bootTimeout = 5 * time.Minute
	// One whole run of the binary under Wine (the suite's own bound on a
	// cluster is 40 min; measured here: about a minute).
	runTimeout = 10 * time.Minute
	// A run that stops in preflight, with one line.
	badInputTimeout = 2 * time.Minute
)

type setup struct {
	loader, server string // Wine's loader and server
	prefix         string // the test's own Wine prefix
	exe            string // the Windows binary
	kubeconfig     string // the cluster's, a Unix path
	context        string
	artifacts      string // where each run's report is kept; "" for none
}

func fromEnv(t *testing.T) setup {
	if os.Getenv("E2E_WINE") != "1" {
		t.Skip("set E2E_WINE=1 (make wine) to run the Windows binary under Wine")
	}
	s := setup{
		loader:     envOr("WINE", "/usr/lib/wine/wine64"),
		server:     envOr("WINESERVER", "/usr/lib/wine/wineserver"),
		exe:        os.Getenv("WINE_EXE"),
		kubeconfig: os.Getenv("WINE_KUBECONFIG"),
		context:    os.Getenv("WINE_CONTEXT"),
		artifacts:  os.Getenv("WINE_ARTIFACTS"),
	}
	cache := os.Getenv("KIAMOL_E2E_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache", "kiamol-e2e")
	}
	s.prefix = filepath.Join(cache, "wine", "prefix")
	if s.artifacts != "" {
		if err := os.MkdirAll(s.artifacts, 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(filepath.Join(s.artifacts, "summary.txt"))
	}
	for what, path := range map[string]string{"WINE_EXE (the windows/amd64 binary)": s.exe, "WINE_KUBECONFIG": s.kubeconfig, "Wine's loader (hack/wine/setup.sh installs it)": s.loader} {
		if _, err := os.Stat(path); path == "" || err != nil {
			t.Fatalf("%s: %q not found", what, path)
		}
	}
	return s
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// The binary, started from a folder on C: and from one on Z:, runs every
// claim and none fails. The two self-healing claims may be skipped (no
// Docker under Wine, and the cluster is not this run's), and then the
// verdict is INCOMPLETE; the air-gap checks are skipped (they need this
// machine's Docker to know the cluster as the suite's own).
func TestWindowsBinaryUnderWine(t *testing.T) {
	s := fromEnv(t)
	s.prepare(t)

	t.Run("bad input", func(t *testing.T) {
		// The label filter is checked by a dry run of the suite's copy
		// (kiamol-e2e.test.exe), before anything reaches the cluster.
		dir := t.TempDir()
		exe := s.place(t, dir)
		r := s.run(t, dir, badInputTimeout, exe, "--kubeconfig", s.copyKubeconfig(t, dir), "--label-filter", "no-such-label")
		lines := ownLines(r.stderr)
		if r.code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], `kiamol-e2e: label filter "no-such-label" selects none of the suite's`) {
			t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and one line saying the filter selects nothing", r.code, r.stderr)
		}
	})

	for _, drive := range []struct {
		name string
		dir  func(t *testing.T) string
		// kubeconfig is the --kubeconfig the run passes: an absolute
		// Windows path, or one relative to the folder it starts in.
		kubeconfig func(t *testing.T, dir string) string
	}{
		{"C", func(t *testing.T) string { return s.folderOnC(t) }, func(t *testing.T, dir string) string {
			s.copyKubeconfig(t, dir)
			return windowsPath(s.prefix, filepath.Join(dir, "config"))
		}},
		{"Z", func(t *testing.T) string { return t.TempDir() }, func(t *testing.T, dir string) string {
			s.copyKubeconfig(t, dir)
			return "config"
		}},
	} {
		t.Run("from "+drive.name+":", func(t *testing.T) {
			dir := drive.dir(t)
			if got := windowsPath(s.prefix, dir); !strings.HasPrefix(got, drive.name+`:\`) {
				t.Fatalf("%s is %s under Wine, not on %s:", dir, got, drive.name)
			}
			exe := s.place(t, dir)
			args := []string{exe, "--kubeconfig", drive.kubeconfig(t, dir)}
			if s.context != "" {
				args = append(args, "--context", s.context)
			}
			before := s.tempEntries(t)
			r := s.run(t, dir, runTimeout, args...)
			reportDir := filepath.Join(dir, "kiamol-e2e-report")
			s.keep(t, reportDir, "from-"+drive.name)
			s.judge(t, r, reportDir)
			if left := newEntries(before, s.tempEntries(t)); len(left) > 0 {
				t.Errorf("left in %%TEMP%%: %v", left)
			}
		})
	}
}

// prepare makes the test's Wine prefix if it has none, and gives it the
// stand-in bcryptprimitives.dll, compiled now from testdata.
func (s setup) prepare(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(s.prefix, "system.reg")); err != nil {
		if err := os.MkdirAll(filepath.Dir(s.prefix), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("making the Wine prefix %s (wineboot)", s.prefix)
		ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, s.loader, "wineboot", "--init")
		cmd.Env = s.env()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wineboot --init: %v\n%s", err, out)
		}
	}
	// Wine's server stays a few seconds after its last program; this test
	// started it, in its own prefix, and stops it.
	t.Cleanup(func() {
		cmd := exec.Command(s.server, "-k")
		cmd.Env = s.env()
		_ = cmd.Run()
	})
	system32 := filepath.Join(s.prefix, "drive_c", "windows", "system32")
	cc := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-Wl,--no-insert-timestamp",
		"-o", filepath.Join(system32, "bcryptprimitives.dll"), filepath.Join("testdata", "bcryptprimitives.c"), "-ladvapi32")
	if out, err := cc.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in bcryptprimitives.dll: %v\n%s", err, out)
	}
}

// env is the environment of a Windows program: this one's, less what would
// point the binary elsewhere than the test says (a Unix KUBECONFIG, the
// suite's knobs make exports), headless, in the test's prefix.
func (s setup) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "KUBECONFIG" || name == "DISPLAY" || name == "WAYLAND_DISPLAY" || strings.HasPrefix(name, "E2E_") || strings.HasPrefix(name, "WINE") {
			continue
		}
		env = append(env, kv)
	}
	// mscoree and mshtml off: wineboot would offer to install Mono and
	// Gecko, which this machine cannot download. Wine says nothing of its
	// own unless WINEDEBUG asks (fixme-all,err+all: its errors, on each
	// program's stderr).
	return append(env, "WINEPREFIX="+s.prefix, "WINEDEBUG="+envOr("WINEDEBUG", "-all"), "WINEDLLOVERRIDES=mscoree,mshtml=")
}

// wineSays is a line of Wine's own (WINEDEBUG), not the program's.
var wineSays = regexp.MustCompile(`^[0-9a-f]{4}:(err|fixme|warn|trace):`)

// ownLines are the program's lines of what it wrote, Wine's left out.
func ownLines(text string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		if !wineSays.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// folderOnC is a new folder on the prefix's C: drive, removed at the end.
func (s setup) folderOnC(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp(filepath.Join(s.prefix, "drive_c"), "kiamol-e2e-wine-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// place copies the binary into dir, as a reader's download, and returns its
// name there.
func (s setup) place(t *testing.T, dir string) string {
	t.Helper()
	const name = "kiamol-e2e-windows-amd64.exe"
	copyFile(t, s.exe, filepath.Join(dir, name))
	return name
}

func (s setup) copyKubeconfig(t *testing.T, dir string) string {
	t.Helper()
	copyFile(t, s.kubeconfig, filepath.Join(dir, "config"))
	return "config"
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o755); err != nil {
		t.Fatal(err)
	}
}

// windowsPath is where Wine shows a Unix path: under the prefix's drive_c
// on C:, anything else on Z:.
func windowsPath(prefix, unix string) string {
	driveC := filepath.Join(prefix, "drive_c")
	if rel, err := filepath.Rel(driveC, unix); err == nil && !strings.HasPrefix(rel, "..") {
		return `C:\` + strings.ReplaceAll(rel, "/", `\`)
	}
	return "Z:" + strings.ReplaceAll(unix, "/", `\`)
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs a Windows program under Wine in dir, the folder it starts in.
func (s setup) run(t *testing.T, dir string, limit time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.loader, args...)
	cmd.Dir, cmd.Env = dir, s.env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&stdout, testWriter{t}), &stderr
	t.Logf("in %s: wine64 %s", windowsPath(s.prefix, dir), strings.Join(args, " "))
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("still running after %s: %v\nstderr:\n%s", limit, err, stderr.String())
	}
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("start wine: %v", err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// testWriter shows a run's lines as they come.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		w.t.Log(sc.Text())
	}
	return len(p), nil
}

// judge checks a whole run: its first line, every spec of its report
// passed or (self-healing only) skipped, and a closing line and exit status
// that say so.
func (s setup) judge(t *testing.T, r result, reportDir string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "kiamol-e2e ") || !strings.Contains(lines[0], ": checking the cluster: context ") {
		t.Errorf("first line %q, want the cluster it checks", lines[0])
	}
	closing := lines[len(lines)-1]
	raw, err := os.ReadFile(filepath.Join(reportDir, "report.json"))
	if err != nil {
		t.Fatalf("no report (exit %d, closing line %q, stderr:\n%s): %v", r.code, closing, r.stderr, err)
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil || len(reports) != 1 {
		t.Fatalf("report.json: %v (%d reports)", err, len(reports))
	}
	passed, skipped, claimsSkipped := 0, 0, 0
	for _, spec := range reports[0].SpecReports {
		if spec.LeafNodeType != types.NodeTypeIt {
			if spec.State.Is(types.SpecStateFailureStates) {
				t.Errorf("%s failed: %s", spec.LeafNodeType, spec.Failure.Message)
			}
			continue
		}
		switch {
		case spec.State == types.SpecStatePassed:
			passed++
		case spec.State == types.SpecStateSkipped && slices.Contains(spec.Labels(), "self-healing"):
			skipped++
			claimsSkipped++
			t.Logf("skipped: %s: %s", spec.FullText(), spec.Failure.Message)
		case spec.State == types.SpecStateSkipped && slices.Contains(spec.Labels(), "airgap"):
			// Only the suite's own air-gapped cluster, seen through this
			// machine's Docker, has an air gap to check; a cluster check
			// skipped leaves the chapter's verdict whole.
			skipped++
			t.Logf("skipped: %s: %s", spec.FullText(), spec.Failure.Message)
		default:
			t.Errorf("%s: %s: %s", spec.FullText(), spec.State, spec.Failure.Message)
		}
	}
	if total := reports[0].PreRunStats.TotalSpecs; passed+skipped != total {
		t.Errorf("%d passed and %d skipped of %d specs", passed, skipped, total)
	}
	word, code := "PASS", 0
	if claimsSkipped > 0 {
		word, code = "INCOMPLETE", 3
	}
	want := fmt.Sprintf("e2e: %s (%d passed)", word, passed)
	if skipped > 0 {
		want = fmt.Sprintf("e2e: %s (%d passed, %d skipped)", word, passed, skipped)
	}
	if closing != want || r.code != code {
		t.Errorf("closing line %q, exit %d; want %q, exit %d", closing, r.code, want, code)
	}
	if undone := regexp.MustCompile(`(?m)^cleanup: temporary folder .*$`).FindAllString(r.stdout, -1); len(undone) > 0 {
		t.Errorf("temporary folders left: %q", undone)
	}
	t.Logf("closing line %q, exit %d", closing, r.code)
	s.record(t, closing, r.code)
}

// tempEntries lists what the prefix's users have in %TEMP%.
func (s setup) tempEntries(t *testing.T) []string {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(s.prefix, "drive_c", "users", "*", "Temp", "*"))
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func newEntries(before, after []string) []string {
	var out []string
	for _, a := range after {
		if !slices.Contains(before, a) {
			out = append(out, a)
		}
	}
	return out
}

// keep copies a run's report folder into the artifacts.
func (s setup) keep(t *testing.T, reportDir, name string) {
	t.Helper()
	if s.artifacts == "" {
		return
	}
	to := filepath.Join(s.artifacts, name)
	_ = os.RemoveAll(to)
	if err := os.CopyFS(to, os.DirFS(reportDir)); err != nil {
		t.Logf("keep %s: %v", reportDir, err)
	}
}

// record appends the run's closing line and status to the artifacts'
// summary, which make wine prints at the end.
func (s setup) record(t *testing.T, closing string, code int) {
	if s.artifacts == "" {
		return
	}
	f, err := os.OpenFile(filepath.Join(s.artifacts, "summary.txt"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Log(err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s: %s, exit %d\n", t.Name(), closing, code)
}
