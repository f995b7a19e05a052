package lifecycle

// What every lifecycle test stands on: `make` runs in process groups of
// their own that are always killed and reaped, their output read only once
// nothing writes to it any more, and snapshots of what a run may create on
// this machine.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
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

// namePrefix starts every cluster name these tests use: never the suite's
// default (kiamol-e2e), which a user may have kept and which every test
// must leave untouched.
const namePrefix = "kiamol-e2e-lc-"

// syncBuffer is a run's output: the child's copying goroutines write it
// while the test may look at it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run is one `make` started in a process group of its own.
type run struct {
	what   string
	cmd    *exec.Cmd
	pgid   int
	out    *syncBuffer // stdout, and stderr too unless it has its own
	errOut *syncBuffer // stderr, when asked for apart
	done   chan struct{}
	err    error // make's exit; valid once done is closed
	took   time.Duration
}

// knobs the environment may carry (a user's shell, or `make interrupts`'s
// own command line through MAKEFLAGS) that would change what a test's run
// does; each test says what it wants on the command line instead.
var dropEnv = []string{
	"MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES", "MAKELEVEL",
	"ARTIFACTS", "E2E_ARTIFACTS", "PROCS", "LABELS", "KEEP", "E2E_KEEP_CLUSTER",
	"IMAGES", "E2E_IMAGES", "K8S_VERSION", "E2E_K8S_VERSION", "NODE_IMAGE", "E2E_NODE_IMAGE",
	"EXISTING", "E2E_USE_EXISTING_CLUSTER", "USE_EXISTING_CLUSTER", "KUBECONFIG", "CONTEXT", "E2E_KUBE_CONTEXT",
	"MANIFESTS", "E2E_MANIFESTS", "CLUSTER_NAME", "E2E_CLUSTER_NAME", "E2E_KUBECONFIG_OUT", "E2E_REPLACE_IMAGES",
	"SUITE_TIMEOUT",
}

func childEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(dropEnv, name) {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// start runs make with args (and env added); its output is one stream.
func start(t *testing.T, env []string, args ...string) *run {
	t.Helper()
	return launch(t, env, false, args)
}

// startApart is start with stderr kept apart from stdout.
func startApart(t *testing.T, env []string, args ...string) *run {
	t.Helper()
	return launch(t, env, true, args)
}

func launch(t *testing.T, env []string, apart bool, args []string) *run {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	return startCmd(t, "make "+strings.Join(args, " "), cmd, env, apart)
}

// startCmd runs cmd (said as what) from the repository, in a process group
// of its own, with the environment childEnv gives and env added, as start
// does make.
func startCmd(t *testing.T, what string, cmd *exec.Cmd, env []string, apart bool) *run {
	t.Helper()
	cmd.Dir = repo
	cmd.Env = childEnv(env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r := &run{what: what, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if apart {
		r.errOut = &syncBuffer{}
		cmd.Stderr = r.errOut
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.pgid = cmd.Process.Pid
	// Wait returns once make is reaped and every process that inherited
	// its output has closed it: only then is the output complete, and only
	// then is it read.
	go func() {
		r.err = cmd.Wait()
		r.took = time.Since(began)
		close(r.done)
	}()
	t.Logf("started %s (process group %d)", r.what, r.pgid)
	// Whatever happens in the test (a t.Fatalf before any signal was sent
	// included), the group is killed and make reaped before the test ends.
	t.Cleanup(func() {
		if syscall.Kill(-r.pgid, 0) == nil {
			_ = syscall.Kill(-r.pgid, syscall.SIGKILL)
		}
		if !r.endsWithin(2 * time.Minute) {
			t.Errorf("%s: not reaped 2 minutes after SIGKILL to its process group", r.what)
			return
		}
		if t.Failed() {
			t.Logf("%s output (last 40 lines):\n%s", r.what, tail(r.out.String(), 40))
			if r.errOut != nil {
				t.Logf("%s stderr:\n%s", r.what, tail(r.errOut.String(), 40))
			}
		}
	})
	return r
}

// endsWithin waits until the run has ended, up to d, and says whether it has.
func (r *run) endsWithin(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-r.done:
		return true
	case <-timer.C:
		return false
	}
}

// until polls ready() every 300 ms, up to within, while the run goes on:
// an error says which of the two ended the wait first.
func (r *run) until(within time.Duration, ready func() bool) error {
	return wait.PollUntilContextTimeout(context.Background(), 300*time.Millisecond, within, true, func(context.Context) (bool, error) {
		if ready() {
			return true, nil
		}
		if r.ended() {
			return false, errRunEnded
		}
		return false, nil
	})
}

var errRunEnded = errors.New("the run ended")

func (r *run) ended() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// output is what the run printed; only once it has been reaped.
func (r *run) output(t *testing.T) string {
	t.Helper()
	if !r.ended() {
		t.Fatalf("%s: output read while the run is still going", r.what)
	}
	return r.out.String()
}

func (r *run) stderr(t *testing.T) string {
	t.Helper()
	if !r.ended() || r.errOut == nil {
		t.Fatalf("%s: stderr read while the run is still going, or not kept apart", r.what)
	}
	return r.errOut.String()
}

// wait waits for the run to end and returns make's exit error.
func (r *run) wait(t *testing.T, within time.Duration) error {
	t.Helper()
	if !r.endsWithin(within) {
		_ = syscall.Kill(-r.pgid, syscall.SIGKILL)
		t.Fatalf("%s did not end within %s", r.what, within)
	}
	t.Logf("%s ended after %s: %v", r.what, r.took.Round(100*time.Millisecond), orOK(r.err))
	return r.err
}

func orOK(err error) any {
	if err == nil {
		return "exit 0"
	}
	return err
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err == nil {
		return 0
	}
	return -1
}

// interruptWhen signals the run's process group once ready() holds, then
// waits until make is reaped and no process of the group is left.
func (r *run) interruptWhen(t *testing.T, what string, within time.Duration, ready func() bool, sig syscall.Signal) {
	t.Helper()
	switch err := r.until(within, ready); {
	case errors.Is(err, errRunEnded):
		t.Fatalf("the run ended (%v) before %s", orOK(r.err), what)
	case err != nil:
		t.Fatalf("no %s within %s", what, within)
	}
	t.Logf("%s: sending %v to process group %d", what, sig, r.pgid)
	sent := time.Now()
	if err := syscall.Kill(-r.pgid, sig); err != nil {
		t.Fatal(err)
	}
	if !r.endsWithin(3 * time.Minute) {
		t.Fatalf("make still running 3 minutes after %v", sig)
	}
	if r.err == nil {
		t.Errorf("make exited 0 after %v", sig)
	}
	// make waits for its own children, but not for what they started:
	// watch the group itself until no process is left in it.
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for syscall.Kill(-r.pgid, 0) == nil {
		if time.Since(sent) > 3*time.Minute {
			out, _ := exec.Command("ps", "-o", "pid,args", "--no-headers", "-g", fmt.Sprint(r.pgid)).Output()
			t.Fatalf("processes of the interrupted run still alive:\n%s", out)
		}
		<-poll.C
	}
	t.Logf("process group gone %s after %v", time.Since(sent).Round(100*time.Millisecond), sig)
}

var verdictLine = regexp.MustCompile(`(?m)^e2e: .*$`)

// expectVerdict checks the run's closing line starts with "e2e: " and,
// unless want is "", with "e2e: "+want.
func expectVerdict(t *testing.T, r *run, want string) {
	t.Helper()
	all := verdictLine.FindAllString(r.output(t), -1)
	if len(all) == 0 {
		t.Errorf("%s: no closing line starting %q", r.what, "e2e: ")
		return
	}
	last := all[len(all)-1]
	t.Logf("%s: %s", r.what, last)
	if want != "" && !strings.HasPrefix(last, "e2e: "+want) {
		t.Errorf("%s: closing line %q, want e2e: %s", r.what, last, want)
	}
}

// expectIncomplete: a LABELS=smoke run is partial by design: the verdict
// says INCOMPLETE (its exit 3) and make exits 2.
func expectIncomplete(t *testing.T, r *run, err error) {
	t.Helper()
	expectVerdict(t, r, "INCOMPLETE")
	if code := exitCode(err); code != 2 {
		t.Errorf("%s: make exited %d (%v), want 2 (the verdict's INCOMPLETE)", r.what, code, err)
	}
}

func expectPass(t *testing.T, r *run, err error) {
	t.Helper()
	expectVerdict(t, r, "PASS")
	if err != nil {
		t.Errorf("%s: %v, want exit 0", r.what, err)
	}
}

// testCluster is the cluster name a test runs its `make e2e` under, with
// the state of the machine before the test made anything.
type testCluster struct {
	name   string
	names  cluster.Names
	before hostState
}

// ownCluster names the test's cluster kiamol-e2e-lc-<short>, removes what
// an earlier, aborted test left under that name (make down for that name
// only), and reads the machine's state. Whatever of the cluster a failed
// test leaves is removed at its end, after its runs are killed.
func ownCluster(t *testing.T, short string) *testCluster {
	t.Helper()
	c := &testCluster{name: namePrefix + short, names: cluster.NamesFor(namePrefix + short)}
	removeStandIns(t, c.name)
	if left := readHost(t).of(c.name); len(left) > 0 {
		t.Logf("left by an earlier test under %s, removing: %v", c.name, keys(left))
		if err := start(t, nil, "down", "CLUSTER_NAME="+c.name).wait(t, 3*time.Minute); err != nil {
			t.Fatalf("make down CLUSTER_NAME=%s: %v", c.name, err)
		}
	}
	c.before = readHost(t)
	if left := c.before.of(c.name); len(left) > 0 {
		t.Fatalf("still there for %s: %v", c.name, keys(left))
	}
	t.Cleanup(func() {
		if left := readHost(t).of(c.name); len(left) > 0 {
			t.Logf("cleanup: removing what is left of %s: %v", c.name, keys(left))
			if err := start(t, nil, "down", "CLUSTER_NAME="+c.name).wait(t, 3*time.Minute); err != nil {
				t.Errorf("cleanup: make down CLUSTER_NAME=%s: %v", c.name, err)
			}
		}
	})
	return c
}

// standInLabel marks a container a test made to look like a kind node of
// cluster name (the suite never made it, so make down rightly refuses it).
// A test killed before its cleanup leaves it; the next run of the tests
// removes it by this label, and only what bears it under that name.
const standInLabel = "kiamol-e2e.lifecycle-stand-in"

// createStandIn makes a container that kind, and the suite's watchers,
// take for node of cluster name: named and labelled as kind names its
// nodes, made from img and never started.
func createStandIn(t *testing.T, name, img string) string {
	t.Helper()
	node := name + "-control-plane"
	out, err := exec.Command("docker", "create", "--name", node,
		"--label", "io.x-k8s.kind.cluster="+name, "--label", standInLabel+"="+name, img).CombinedOutput()
	if err != nil {
		t.Fatalf("docker create: %v: %s", err, out)
	}
	return node
}

// removeStandIns removes the stand-in nodes an earlier, killed test left
// for cluster name.
func removeStandIns(t *testing.T, name string) {
	t.Helper()
	out, err := exec.Command("docker", "ps", "--all", "--quiet", "--filter", "label="+standInLabel+"="+name).Output()
	if err != nil {
		t.Fatalf("list stand-in nodes of %s: %v", name, err)
	}
	for _, id := range strings.Fields(string(out)) {
		t.Logf("left by an earlier, killed test: stand-in node %.12s of %s, removing", id, name)
		if out, err := exec.Command("docker", "rm", "--force", id).CombinedOutput(); err != nil {
			t.Fatalf("docker rm %s: %v: %s", id, err, out)
		}
	}
}

// args is a make command line for this cluster: its name, air-gapped (the
// suite's premise here: nothing leaves the machine), and an artifacts
// folder of this run's own.
func (c *testCluster) args(t *testing.T, target string, knobs ...string) []string {
	return append([]string{target, "CLUSTER_NAME=" + c.name, "IMAGES=airgap", "ARTIFACTS=" + t.TempDir()}, knobs...)
}

// kubeconfig is where the suite writes the cluster's kubeconfig by default.
func (c *testCluster) kubeconfig(t *testing.T) string {
	return filepath.Join(cacheDir(t), c.name+".kubeconfig")
}

// nodeRunning says whether a kind node container of the cluster is running.
func nodeRunning(name string) bool {
	out, _ := exec.Command("docker", "ps", "--quiet", "--filter", "label=io.x-k8s.kind.cluster="+name, "--filter", "status=running").Output()
	return len(bytes.TrimSpace(out)) > 0
}

// nodeExists says whether a kind node container of the cluster exists.
func nodeExists(name string) bool {
	out, _ := exec.Command("docker", "ps", "--all", "--quiet", "--filter", "label=io.x-k8s.kind.cluster="+name).Output()
	return len(bytes.TrimSpace(out)) > 0
}

func cacheDir(t *testing.T) string {
	t.Helper()
	d, err := images.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// hostState is what a run may create or change on this machine.
type hostState struct {
	Containers map[string]container // by name
	Networks   map[string]network   // by name
	Guard      []string             // DOCKER-USER's rules, in order
	Files      map[string]string    // the cache's cluster records and kubeconfigs, ~/.kube/config: path -> content hash
	At         time.Time            // when it was read
}

type container struct {
	ID, Status, Started string
	Kind, Owner         string // the kind cluster's label, the suite's owner label
}

type network struct{ ID, Owner string }

// readHost reads every container, every network, the whole DOCKER-USER
// chain and the cache's cluster records and kubeconfigs. A part it cannot
// read fails the test: a comparison of nothing proves nothing.
func readHost(t *testing.T) hostState {
	t.Helper()
	h := hostState{Containers: map[string]container{}, Networks: map[string]network{}, Files: map[string]string{}, At: time.Now()}
	var err error
	for attempt := 1; ; attempt++ {
		// A container or network can go between the listing and the
		// inspection (another run on this machine): list again at once,
		// the new listing no longer has it.
		if err = h.readDocker(); err == nil {
			break
		}
		if attempt == 5 {
			t.Fatalf("read Docker's containers and networks: %v", err)
		}
	}
	out, err := exec.Command("iptables", "-w", "-S", cluster.GuardChain).CombinedOutput()
	if err != nil {
		t.Fatalf("cannot read the egress guard's chain (iptables -w -S %s: %v): %s", cluster.GuardChain, err, strings.TrimSpace(string(out)))
	}
	h.Guard = strings.Split(strings.TrimSpace(string(out)), "\n")
	cache := cacheDir(t)
	records, _ := filepath.Glob(filepath.Join(cache, "state", "clusters", "*.json"))
	kubeconfigs, _ := filepath.Glob(filepath.Join(cache, "*.kubeconfig"))
	// The user's own kubeconfig, which no run may write into.
	if home, err := os.UserHomeDir(); err == nil {
		kubeconfigs = append(kubeconfigs, filepath.Join(home, ".kube", "config"))
	}
	for _, f := range append(records, kubeconfigs...) {
		raw, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		h.Files[f] = hex.EncodeToString(sum[:8])
	}
	return h
}

func (h *hostState) readDocker() error {
	clear(h.Containers)
	clear(h.Networks)
	ids, err := exec.Command("docker", "ps", "--all", "--quiet", "--no-trunc").Output()
	if err != nil {
		return fmt.Errorf("docker ps: %w", err)
	}
	if f := strings.Fields(string(ids)); len(f) > 0 {
		format := `{{.Name}}|{{.Id}}|{{.State.Status}}|{{.State.StartedAt}}|{{index .Config.Labels "io.x-k8s.kind.cluster"}}|{{index .Config.Labels "` + cluster.OwnerLabel + `"}}`
		out, err := exec.Command("docker", append([]string{"inspect", "--format", format}, f...)...).Output()
		if err != nil {
			return fmt.Errorf("docker inspect: %w", err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			p := strings.Split(l, "|")
			if len(p) != 6 {
				return fmt.Errorf("docker inspect: %q", l)
			}
			h.Containers[strings.TrimPrefix(p[0], "/")] = container{ID: p[1], Status: p[2], Started: p[3], Kind: p[4], Owner: p[5]}
		}
	}
	ids, err = exec.Command("docker", "network", "ls", "--quiet", "--no-trunc").Output()
	if err != nil {
		return fmt.Errorf("docker network ls: %w", err)
	}
	if f := strings.Fields(string(ids)); len(f) > 0 {
		format := `{{.Name}}|{{.Id}}|{{index .Labels "` + cluster.OwnerLabel + `"}}`
		out, err := exec.Command("docker", append([]string{"network", "inspect", "--format", format}, f...)...).Output()
		if err != nil {
			return fmt.Errorf("docker network inspect: %w", err)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			p := strings.Split(l, "|")
			if len(p) != 3 {
				return fmt.Errorf("docker network inspect: %q", l)
			}
			h.Networks[p[0]] = network{ID: p[1], Owner: p[2]}
		}
	}
	return nil
}

// of is what the machine holds of cluster name: its node containers, its
// registry, its network, its egress guard rule (on cluster.NamesFor's
// bridge), its record and its default kubeconfig in the cache.
func (h hostState) of(name string) map[string]string {
	n := cluster.NamesFor(name)
	m := map[string]string{}
	for cn, c := range h.Containers {
		if c.Kind == name || c.Owner == name || cn == n.Registry {
			m["container "+cn] = c.ID + " " + c.Status + " " + c.Started
		}
	}
	for nn, nw := range h.Networks {
		if nn == n.Network || nw.Owner == name {
			m["network "+nn] = nw.ID
		}
	}
	for _, r := range h.Guard {
		if strings.Contains(r+" ", " "+n.Bridge+" ") {
			m["rule "+r] = ""
		}
	}
	for f, sum := range h.Files {
		if b := filepath.Base(f); b == name+".json" || b == name+".kubeconfig" {
			m["file "+f] = sum
		}
	}
	return m
}

// expectHostAsBefore checks that everything that was on the machine before
// is still there and unchanged (a cluster the user kept, above all: same
// container, still in the same state since the same start; same network;
// same record and kubeconfig), that DOCKER-USER holds the same rules in the
// same order, and that nothing of the named clusters is left.
func expectHostAsBefore(t *testing.T, before hostState, ours ...string) {
	t.Helper()
	after := readHost(t)
	for name, c := range before.Containers {
		if a, ok := after.Containers[name]; !ok {
			t.Errorf("container %s (%.12s) was there before and is gone%s", name, c.ID, eventsSince(before.At, "container", c.ID))
		} else if a != c {
			t.Errorf("container %s changed: before %+v, after %+v%s", name, c, a, eventsSince(before.At, "container", c.ID))
		}
	}
	for name, n := range before.Networks {
		if a, ok := after.Networks[name]; !ok {
			t.Errorf("network %s (%.12s) was there before and is gone%s", name, n.ID, eventsSince(before.At, "network", n.ID))
		} else if a != n {
			t.Errorf("network %s changed: before %+v, after %+v%s", name, n, a, eventsSince(before.At, "network", n.ID))
		}
	}
	for f, sum := range before.Files {
		if a, ok := after.Files[f]; !ok {
			t.Errorf("%s was there before and is gone", f)
		} else if a != sum {
			t.Errorf("%s changed", f)
		}
	}
	if !slices.Equal(before.Guard, after.Guard) {
		t.Errorf("%s before:\n  %s\nafter:\n  %s", cluster.GuardChain, strings.Join(before.Guard, "\n  "), strings.Join(after.Guard, "\n  "))
	}
	for _, name := range ours {
		if left := after.of(name); len(left) > 0 {
			t.Errorf("left behind of cluster %s: %v", name, keys(left))
		}
	}
}

// eventsSince is what Docker says happened to an object since then (its
// event buffer is bounded: it may have forgotten), for a failure to show
// when, and by which kind of call (a "stop" is someone's docker stop; the
// suite only ever runs and force-removes its own containers).
func eventsSince(since time.Time, kind, id string) string {
	out, err := exec.Command("docker", "events", "--since", since.Add(-time.Second).Format(time.RFC3339Nano), "--until", time.Now().Format(time.RFC3339Nano),
		"--filter", kind+"="+id, "--format", "{{.TimeNano}} {{.Type}} {{.Action}}").Output()
	if err != nil {
		return fmt.Sprintf("\n  (docker events: %v)", err)
	}
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		ns, rest, ok := strings.Cut(l, " ")
		var n int64
		if _, err := fmt.Sscan(ns, &n); ok && err == nil {
			l = time.Unix(0, n).Format("15:04:05.000") + " " + rest
		}
		b.WriteString("\n  docker event: " + l)
	}
	if b.Len() == 0 {
		return "\n  (Docker recalls no event for it since the test began)"
	}
	return b.String()
}

// expectSame checks that what the machine holds of a cluster is as it was.
func expectSame(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for k, v := range before {
		if a, ok := after[k]; !ok {
			t.Errorf("%s: %s is gone", what, k)
		} else if a != v {
			t.Errorf("%s: %s changed (%s -> %s)", what, k, v, a)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("%s: %s appeared", what, k)
		}
	}
}

func keys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
