// Package lifecycle interrupts real runs of `make e2e` the way a user's
// Ctrl-C or a CI runner's cancel does (a signal to the whole process group)
// at each phase: image build, cluster creation, specs. It then checks that
// nothing is left behind: no process, no mount, no container, network or
// egress rule, and no namespace. It also runs `make e2e` side by side with
// itself: a second run under a live run's cluster name stops, runs under
// different names both pass, and `make down` takes down only the cluster it
// names. Each test uses a cluster name of its own (kiamol-e2e-lc-...), so a
// cluster the user keeps under the default name survives every test
// untouched, which each test checks. These tests make and delete clusters,
// so they run only when asked: `make interrupts` (part of `make test`).
package lifecycle

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"
	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
	"github.com/kiamol-e2e/kiamol-e2e/internal/sweep"
)

// specNamespaces lists the suite's live spec namespaces on the cluster the
// kubeconfig names (none when it cannot be read yet): the ones a run is
// using. One being deleted is an earlier run's, which did not wait for it
// to go (on a loaded machine it lingers into the next run's start).
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
		if ns.DeletionTimestamp == nil {
			names = append(names, ns.Name)
		}
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
	c := ownCluster(t, "build")
	// A cache of its own makes the build start from scratch; it must be
	// readable by nothing but root, like the real one.
	cache, err := os.MkdirTemp("", "kiamol-e2e-interrupted-build-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if m := mountsUnder(t, cache); len(m) > 0 {
			t.Errorf("not deleting %s: still mounted: %v", cache, m)
			return
		}
		if err := os.RemoveAll(cache); err != nil {
			t.Error(err)
		}
	})
	// The Debian packages the shared cache already holds spare the archive
	// all but its index (debootstrap reads .debs from its cache folder).
	seedDebs(t, filepath.Join(cacheDir(t), "debs"), filepath.Join(cache, "debs"))
	r := start(t, []string{"KIAMOL_E2E_CACHE=" + cache}, c.args(t, "e2e")...)
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
		t.Fatalf("still mounted after the interrupt: %v", m)
	}
	expectHostAsBefore(t, c.before, c.name)
	if !strings.Contains(r.output(t), "step ") {
		t.Errorf("the run never reached the image build")
	}
}

// seedDebs hard-links the .deb files of one cache folder into another.
func seedDebs(t *testing.T, from, to string) {
	t.Helper()
	debs, _ := filepath.Glob(filepath.Join(from, "*.deb"))
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range debs {
		if err := os.Link(d, filepath.Join(to, filepath.Base(d))); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seeded %d .deb files from %s", len(debs), from)
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
	c := ownCluster(t, "create")
	r := start(t, nil, c.args(t, "e2e")...)
	// Some seconds in, kind is inside the node running kubeadm.
	var seen time.Time
	r.interruptWhen(t, "kind node container created, 5 s in", 5*time.Minute, func() bool {
		if seen.IsZero() && nodeExists(c.name) {
			seen = time.Now()
		}
		return !seen.IsZero() && time.Since(seen) > 5*time.Second
	}, syscall.SIGTERM)
	expectVerdict(t, r, "")
	expectHostAsBefore(t, c.before, c.name)
}

func TestInterruptDuringSpecs(t *testing.T) {
	requireEnabled(t)
	c := ownCluster(t, "specs")
	kubeconfig := c.kubeconfig(t)
	r := start(t, nil, c.args(t, "e2e")...)
	r.interruptWhen(t, "specs running (a spec namespace exists)", 5*time.Minute, func() bool {
		return len(specNamespaces(kubeconfig)) > 0
	}, syscall.SIGINT)
	expectVerdict(t, r, "")
	expectHostAsBefore(t, c.before, c.name)
}

// On a cluster the suite did not make, an interrupted run leaves the
// namespace list as it found it; a killed one (no cleanup at all) leaves
// namespaces that the next run sweeps.
func TestInterruptOnExistingCluster(t *testing.T) {
	requireEnabled(t)
	c := ownCluster(t, "exist")
	kubeconfig := c.kubeconfig(t)
	t.Cleanup(func() {
		if err := start(t, nil, "down", "CLUSTER_NAME="+c.name).wait(t, 3*time.Minute); err != nil {
			t.Errorf("make down CLUSTER_NAME=%s: %v", c.name, err)
		}
		expectHostAsBefore(t, c.before, c.name)
	})
	// LABELS=smoke is a partial run: INCOMPLETE by design.
	kept := start(t, nil, c.args(t, "e2e", "KEEP=1", "LABELS=smoke")...)
	expectIncomplete(t, kept, kept.wait(t, 10*time.Minute))
	if !nodeRunning(c.name) {
		t.Fatalf("make e2e KEEP=1 left no running cluster %s to use as an existing one", c.name)
	}
	existing := []string{"EXISTING=1", "KUBECONFIG=" + kubeconfig}
	// The kept run deleted its namespaces without waiting for them to go
	// (on a loaded machine they are still terminating here): the list the
	// later runs are held to is the one without them.
	nsBefore := liveNamespacesBeyond(t, kubeconfig, nil)
	hostKept := readHost(t)

	r := start(t, nil, c.args(t, "e2e", existing...)...)
	r.interruptWhen(t, "specs running on the existing cluster", 5*time.Minute, func() bool {
		return len(specNamespaces(kubeconfig)) > 0
	}, syscall.SIGINT)
	expectVerdict(t, r, "")
	// The interrupted run deletes its namespaces and does not wait for the
	// cluster to finish: each is gone or terminating at once, and the list
	// is the one from before once the namespace controller is done.
	if notDeleted := liveNamespacesBeyond(t, kubeconfig, nsBefore); len(notDeleted) > 0 {
		t.Errorf("the interrupted run left namespaces it did not delete: %v", notDeleted)
	}
	gomega.NewWithT(t).Eventually(func() []string { return allNamespaces(t, kubeconfig) }).
		WithTimeout(2*time.Minute).WithPolling(time.Second).
		Should(gomega.Equal(nsBefore), "the namespace list, 2 minutes after the interrupted run, is the one from before")
	expectHostAsBefore(t, hostKept)

	killed := start(t, nil, c.args(t, "e2e", existing...)...)
	killed.interruptWhen(t, "specs running, to kill the run outright", 5*time.Minute, func() bool {
		return len(specNamespaces(kubeconfig)) > 0
	}, syscall.SIGKILL)
	if len(specNamespaces(kubeconfig)) == 0 {
		t.Fatalf("a killed run left no namespace: this test cannot show the sweep")
	}
	// The next run sweeps them; LABELS=smoke makes it INCOMPLETE.
	next := start(t, nil, c.args(t, "e2e", append(existing, "LABELS=smoke")...)...)
	expectIncomplete(t, next, next.wait(t, 5*time.Minute))
	// The sweep deletes them; a namespace then lingers in Terminating
	// while its pods stop (the run does not wait for another's namespaces).
	if notSwept := liveNamespacesBeyond(t, kubeconfig, nsBefore); len(notSwept) > 0 {
		t.Errorf("namespaces the next run did not sweep: %v", notSwept)
	}
	swept := time.Now()
	gomega.NewWithT(t).Eventually(func() []string { return allNamespaces(t, kubeconfig) }).
		WithTimeout(2*time.Minute).WithPolling(time.Second).
		Should(gomega.Equal(nsBefore), "the namespace list, 2 minutes after the next run's sweep, is the one from before")
	t.Logf("swept namespaces gone %s after the next run ended", time.Since(swept).Round(time.Second))
	expectHostAsBefore(t, hostKept)
}

// liveNamespacesBeyond lists the namespaces not in known that are not being
// deleted.
func liveNamespacesBeyond(t *testing.T, path string, known []string) []string {
	t.Helper()
	_, cs, err := kubeconfig.Clients(path, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, ns := range list.Items {
		if !slices.Contains(known, ns.Name) && ns.DeletionTimestamp == nil {
			live = append(live, ns.Name)
		}
	}
	slices.Sort(live)
	return live
}

// A node that exits as it starts says why: the cause leads with its exit
// status and the last lines it printed, its output is kept with the
// evidence, and what the run made is removed. The node is the built one
// with an entrypoint that fails on purpose.
func TestANodeThatDiesSaysWhy(t *testing.T) {
	requireEnabled(t)
	c := ownCluster(t, "dies")
	built, err := images.ReadBuiltOf(cacheDir(t), images.Default)
	if err != nil {
		t.Fatal(err)
	}
	broken := "kiamol-e2e/node:dies-on-purpose-" + strconv.Itoa(os.Getpid())
	ctr, err := exec.Command("docker", "create", built.NodeImage).Output()
	if err != nil {
		t.Fatalf("docker create %s: %v", built.NodeImage, err)
	}
	id := strings.TrimSpace(string(ctr))
	out, err := exec.Command("docker", "commit", "--change",
		`ENTRYPOINT ["/bin/sh", "-c", "echo kiamol-node: starting; echo kiamol-node: dying on purpose, to show what a dead node says >&2; exit 32"]`, id, broken).CombinedOutput()
	_ = exec.Command("docker", "rm", id).Run()
	if err != nil {
		t.Fatalf("docker commit: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", broken).Run() })

	evidence := t.TempDir()
	var log syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err = cluster.Up(ctx, cluster.Settings{Name: c.name, RunID: "lifecycle", Images: images.Choice{Mode: images.Airgap},
		Flavor: images.Default, NodeImage: broken, KubeconfigPath: filepath.Join(t.TempDir(), "kubeconfig"),
		Nodes: 1, WaitForReady: time.Minute, Log: &log, Evidence: evidence})
	if err == nil {
		t.Fatal("a cluster came up on a node that exits at start")
	}
	node := c.name + "-control-plane"
	// kind starts a node again once when it fails (restart on-failure:1):
	// its last words are its second start's.
	want := "node container " + node + " exited with status 32, its last words: "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "kiamol-node: dying on purpose, to show what a dead node says; each node's output, state and journal are in "+evidence) {
		t.Errorf("cause\n got %s\nwant %s... dying on purpose ...", err, want)
	}
	for file, has := range map[string]string{node + ".output.txt": "dying on purpose", node + ".state.txt": "exit status: 32", node + ".journal.txt": "no journal: not read"} {
		raw, rerr := os.ReadFile(filepath.Join(evidence, file))
		if rerr != nil || !strings.Contains(string(raw), has) {
			t.Errorf("%s: want %q in it, got %q (%v)", file, has, raw, rerr)
		}
	}
	expectHostAsBefore(t, c.before, c.name)
}

// A node in which a container's cgroup was left FROZEN (runc killed between
// its freeze and thaw, as a teardown while Pods start does) cannot die on a
// cgroup v1 host until the cgroup is thawed: Docker gives up after 12 s,
// the node stays running, and make down failed. Now the removal thaws it.
// Here every Pod container's cgroup in the node is frozen from the host.
func TestANodeWithAFrozenCgroupIsRemoved(t *testing.T) {
	requireEnabled(t)
	root, ok := nodehost.HostFreezerRoot()
	if !ok {
		t.Skip("no cgroup v1 freezer on this host: a fatal signal reaches frozen processes, nothing to show")
	}
	c := ownCluster(t, "frozen")
	kept := start(t, nil, c.args(t, "e2e", "KEEP=1", "LABELS=smoke")...)
	expectIncomplete(t, kept, kept.wait(t, 10*time.Minute))
	out, err := exec.Command("docker", "inspect", "--format", "{{.ID}}", c.name+"-control-plane").Output()
	if err != nil {
		t.Fatalf("docker inspect %s-control-plane: %v", c.name, err)
	}
	dirs, err := nodehost.ContainerCgroups(root, strings.TrimSpace(string(out)))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("the node's freezer cgroup under %s: %v, %v", root, dirs, err)
	}
	t.Cleanup(func() { _, _ = nodehost.Thaw(dirs[0]) }) // should the test fail with the node there
	var frozen []string
	err = filepath.WalkDir(dirs[0], func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !strings.HasPrefix(d.Name(), "cri-containerd-") {
			return err
		}
		frozen = append(frozen, d.Name())
		return os.WriteFile(filepath.Join(path, "freezer.state"), []byte("FROZEN"), 0)
	})
	if err != nil || len(frozen) == 0 {
		t.Fatalf("freeze the node's Pod containers: %d frozen, %v", len(frozen), err)
	}
	t.Logf("froze %d container cgroups in the node", len(frozen))

	down := start(t, nil, "down", "CLUSTER_NAME="+c.name)
	if err := down.wait(t, 3*time.Minute); err != nil {
		t.Errorf("make down with frozen cgroups in the node: %v", err)
	}
	if !strings.Contains(down.output(t), "thawed") {
		t.Errorf("make down did not say it thawed the node's frozen cgroups")
	}
	if nodeExists(c.name) {
		t.Errorf("the node of %s is still there", c.name)
	}
	expectHostAsBefore(t, c.before, c.name)
}
