// Package lifecycle interrupts real runs of `make e2e` the way a user's
// Ctrl-C or a CI runner's cancel does (a signal to the whole process group)
// at each phase: image build, cluster creation, specs. It then checks that
// nothing is left behind: no process, no mount, no container, network or
// egress rule, and no namespace. These tests make and delete clusters, so
// they run only when asked: `make interrupts` (part of `make test`).
package lifecycle

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/harness/kubeconfig"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
	"github.com/kiamol-e2e/kiamol-e2e/harness/sweep"
)

const enable = "E2E_LIFECYCLE"

var repo, _ = filepath.Abs("../..")

// requireEnabled skips, saying why, unless the run asked for these tests.
func requireEnabled(t *testing.T) {
	t.Helper()
	if os.Getenv(enable) == "" {
		t.Skipf("creates and deletes clusters: run with make interrupts (%s=1)", enable)
	}
}

// hostState is what a run may create on this machine.
type hostState struct {
	Containers []string
	Networks   []string
	Guard      bool
}

func readHost(t *testing.T) hostState {
	t.Helper()
	var s hostState
	s.Containers = lines(t, "docker", "ps", "--all", "--format", "{{.Names}}")
	s.Networks = lines(t, "docker", "network", "ls", "--format", "{{.Name}}")
	out, _ := exec.Command("iptables", "-w", "-S", "DOCKER-USER").CombinedOutput()
	s.Guard = strings.Contains(string(out), "kiamol-e2e0")
	return s
}

func lines(t *testing.T, name string, args ...string) []string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	l := strings.Fields(string(out))
	slices.Sort(l)
	return l
}

// run is one `make` started in a process group of its own.
type run struct {
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan error
}

func start(t *testing.T, env []string, args ...string) *run {
	t.Helper()
	cmd := exec.Command("make", args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &run{cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("make %v output (last 40 lines):\n%s", args, tail(log.String(), 40))
		}
	})
	return r
}

// interruptWhen signals the run's process group once ready() holds, then
// waits until every process of the group has exited.
func (r *run) interruptWhen(t *testing.T, what string, within time.Duration, ready func() bool, sig syscall.Signal) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ready() {
		select {
		case err := <-r.done:
			t.Fatalf("the run ended (%v) before %s", err, what)
		case <-time.After(300 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, within)
		}
	}
	pgid := r.cmd.Process.Pid
	t.Logf("%s: sending %v to process group %d", what, sig, pgid)
	sent := time.Now()
	if err := syscall.Kill(-pgid, sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		if err == nil {
			t.Errorf("make exited 0 after %v", sig)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("make still running 3 minutes after %v", sig)
	}
	// make waits for its own children, but not for what they started:
	// watch the group itself until no process is left in it.
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for syscall.Kill(-pgid, 0) == nil {
		if time.Since(sent) > 3*time.Minute {
			out, _ := exec.Command("ps", "-o", "pid,args", "--no-headers", "-g", fmt.Sprint(pgid)).Output()
			t.Fatalf("processes of the interrupted run still alive:\n%s", out)
		}
		<-poll.C
	}
	t.Logf("process group gone %s after %v", time.Since(sent).Round(100*time.Millisecond), sig)
}

func (r *run) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	select {
	case err := <-r.done:
		return err
	case <-time.After(within):
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("run did not end within %s", within)
	}
	return nil
}

func expectHostAsBefore(t *testing.T, before hostState) {
	t.Helper()
	after := readHost(t)
	if !slices.Equal(before.Containers, after.Containers) {
		t.Errorf("containers before %v, after %v", before.Containers, after.Containers)
	}
	if !slices.Equal(before.Networks, after.Networks) {
		t.Errorf("networks before %v, after %v", before.Networks, after.Networks)
	}
	if before.Guard != after.Guard {
		t.Errorf("egress guard before %v, after %v", before.Guard, after.Guard)
	}
}

func requireNoSuiteCluster(t *testing.T) {
	t.Helper()
	if out := lines(t, "docker", "ps", "--all", "--quiet", "--filter", "label=io.x-k8s.kind.cluster=kiamol-e2e"); len(out) > 0 {
		t.Fatalf("a kiamol-e2e cluster is already running (KEEP=1?): run make down first")
	}
}

func cacheDir(t *testing.T) string {
	t.Helper()
	d, err := images.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func kindNodeExists() bool {
	out, _ := exec.Command("docker", "ps", "--all", "--quiet", "--filter", "label=io.x-k8s.kind.cluster=kiamol-e2e").Output()
	return len(bytes.TrimSpace(out)) > 0
}

// specNamespaces lists the suite's spec namespaces on the cluster the
// kubeconfig names ("" when it cannot be read yet).
func specNamespaces(path string) []string {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	_, cs, err := kubeconfig.Clients(path, "")
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: sweep.SpecLabel + "=true"})
	if err != nil {
		return nil
	}
	var names []string
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	return names
}

func allNamespaces(t *testing.T, path string) []string {
	t.Helper()
	_, cs, err := kubeconfig.Clients(path, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	slices.Sort(names)
	return names
}

func TestInterruptDuringImageBuild(t *testing.T) {
	requireEnabled(t)
	before := readHost(t)
	// A cache of its own makes the build start from scratch; it must be
	// readable by nothing but root, like the real one.
	cache, err := os.MkdirTemp("", "kiamol-e2e-interrupted-build-")
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, []string{"KIAMOL_E2E_CACHE=" + cache, "E2E_IMAGES=airgap"}, "e2e")
	// The riskiest moment is debootstrap's, with /proc and /sys mounted in
	// the tree it builds; failing that, any moment of the build.
	started, byMount := time.Now(), false
	r.interruptWhen(t, "image build under way (a mount inside the cache, or 4 minutes)", 6*time.Minute, func() bool {
		byMount = len(mountsUnder(t, cache)) > 0
		return byMount || time.Since(started) > 4*time.Minute
	}, syscall.SIGINT)
	if !byMount {
		t.Logf("interrupted on the 4-minute bound: debootstrap had mounted nothing by then")
	} else {
		t.Logf("interrupted while debootstrap had a mount inside the cache")
	}
	if m := mountsUnder(t, cache); len(m) > 0 {
		t.Fatalf("still mounted after the interrupt: %v (not deleting %s)", m, cache)
	}
	expectHostAsBefore(t, before)
	if !strings.Contains(r.log.String(), "step ") {
		t.Errorf("the run never reached the image build")
	}
	if err := os.RemoveAll(cache); err != nil {
		t.Error(err)
	}
}

func mountsUnder(t *testing.T, dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	return out
}

func TestInterruptDuringClusterCreation(t *testing.T) {
	requireEnabled(t)
	requireNoSuiteCluster(t)
	before := readHost(t)
	r := start(t, nil, "e2e")
	// Some seconds in, kind is inside the node running kubeadm.
	var seen time.Time
	r.interruptWhen(t, "kind node container created, 5 s in", 5*time.Minute, func() bool {
		if seen.IsZero() && kindNodeExists() {
			seen = time.Now()
		}
		return !seen.IsZero() && time.Since(seen) > 5*time.Second
	}, syscall.SIGTERM)
	expectHostAsBefore(t, before)
}

func TestInterruptDuringSpecs(t *testing.T) {
	requireEnabled(t)
	requireNoSuiteCluster(t)
	before := readHost(t)
	kubeconfig := filepath.Join(cacheDir(t), "kiamol-e2e.kubeconfig")
	r := start(t, nil, "e2e")
	r.interruptWhen(t, "specs running (a spec namespace exists)", 5*time.Minute, func() bool {
		return len(specNamespaces(kubeconfig)) > 0
	}, syscall.SIGINT)
	expectHostAsBefore(t, before)
	if !strings.Contains(r.log.String(), "e2e: ") {
		t.Errorf("no verdict line after the interrupt")
	}
}

// On a cluster the suite did not make, an interrupted run leaves the
// namespace list as it found it; a killed one (no cleanup at all) leaves
// namespaces that the next run sweeps.
func TestInterruptOnExistingCluster(t *testing.T) {
	requireEnabled(t)
	requireNoSuiteCluster(t)
	hostBefore := readHost(t)
	t.Cleanup(func() {
		if err := exec.Command("make", "-C", repo, "down").Run(); err != nil {
			t.Errorf("make down: %v", err)
		}
		expectHostAsBefore(t, hostBefore)
	})
	kubeconfig := filepath.Join(cacheDir(t), "kiamol-e2e.kubeconfig")
	if err := start(t, []string{"KEEP=1", "LABELS=smoke"}, "e2e").wait(t, 10*time.Minute); err != nil {
		t.Fatalf("make a cluster to use as an existing one: %v", err)
	}
	existing := []string{"EXISTING=1", "KUBECONFIG=" + kubeconfig}
	nsBefore := allNamespaces(t, kubeconfig)
	hostKept := readHost(t)

	r := start(t, existing, "e2e")
	r.interruptWhen(t, "specs running on the existing cluster", 5*time.Minute, func() bool {
		return len(specNamespaces(kubeconfig)) > 0
	}, syscall.SIGINT)
	if got := allNamespaces(t, kubeconfig); !slices.Equal(got, nsBefore) {
		t.Errorf("namespaces before %v, after the interrupted run %v", nsBefore, got)
	}
	expectHostAsBefore(t, hostKept)

	killed := start(t, existing, "e2e")
	killed.interruptWhen(t, "specs running, to kill the run outright", 5*time.Minute, func() bool {
		return len(specNamespaces(kubeconfig)) > 0
	}, syscall.SIGKILL)
	if len(specNamespaces(kubeconfig)) == 0 {
		t.Fatalf("a killed run left no namespace: this test cannot show the sweep")
	}
	next := start(t, append(existing, "LABELS=smoke"), "e2e")
	if err := next.wait(t, 5*time.Minute); err != nil {
		t.Fatalf("the run after the killed one failed: %v", err)
	}
	if got := allNamespaces(t, kubeconfig); !slices.Equal(got, nsBefore) {
		t.Errorf("namespaces before %v, after the next run's sweep %v", nsBefore, got)
	}
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
