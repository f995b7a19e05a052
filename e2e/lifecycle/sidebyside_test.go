package lifecycle

// Runs of `make e2e` beside one another on one machine: under one cluster
// name only one may live; under different names each keeps to its own
// cluster, registry, network, guard rule and kubeconfig entries.

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
)

func TestSecondRunWithALiveRunsNameStops(t *testing.T) {
	requireEnabled(t)
	a := ownCluster(t, "dup")
	inUse := `kiamol-e2e: cluster "` + a.name + `" is in use by another run`

	first := start(t, nil, a.args(t, "e2e", "LABELS=smoke")...)
	waitFor(t, first, "run 1's kind node container running", 5*time.Minute, func() bool { return nodeRunning(a.name) })
	// Run 1 itself still writes its record and kubeconfig meanwhile: what
	// the others must leave alone is its Docker objects and guard rule.
	held := dockerOnly(readHost(t).of(a.name))
	expectWholeCluster(t, a.name, held, false)

	second := startApart(t, nil, a.args(t, "e2e")...)
	err := second.wait(t, 3*time.Minute)
	if err == nil {
		t.Errorf("a second make e2e under the live run's name %s exited 0", a.name)
	}
	if second.took > time.Minute {
		t.Errorf("the second run took %s to stop, want its preflight's few seconds", second.took.Round(time.Second))
	}
	expectOneLine(t, second, inUse)
	expectSame(t, "run 1's cluster, after the second run", held, dockerOnly(readHost(t).of(a.name)))

	down := startApart(t, nil, "down", "CLUSTER_NAME="+a.name)
	if err := down.wait(t, 3*time.Minute); err == nil {
		t.Errorf("make down CLUSTER_NAME=%s exited 0 while a live run holds the name", a.name)
	}
	expectOneLine(t, down, inUse)
	expectSame(t, "run 1's cluster, after make down", held, dockerOnly(readHost(t).of(a.name)))
	if first.ended() {
		t.Errorf("run 1 ended before the second run and make down were done: it cannot show they left it alone")
	}

	expectIncomplete(t, first, first.wait(t, 10*time.Minute))
	expectHostAsBefore(t, a.before, a.name)
}

func TestTwoRunsWithDifferentNamesBothPass(t *testing.T) {
	requireEnabled(t)
	b, c := ownCluster(t, "b"), ownCluster(t, "c")
	before := readHost(t)

	// Two whole runs at once, each watched for the other's touch.
	w := watchApart(b.name, c.name)
	rb := start(t, nil, b.args(t, "e2e")...)
	rc := start(t, nil, c.args(t, "e2e")...)
	errB, errC := rb.wait(t, 25*time.Minute), rc.wait(t, 25*time.Minute)
	for _, p := range w.stop() {
		t.Error(p)
	}
	t.Logf("watched both clusters in %d samples", w.samples)
	expectPass(t, rb, errB)
	expectPass(t, rc, errC)
	expectHostAsBefore(t, before, b.name, c.name)
	if t.Failed() {
		return
	}

	// Kept side by side, then taken down one by one.
	kb := start(t, nil, b.args(t, "e2e", "KEEP=1", "LABELS=smoke")...)
	expectIncomplete(t, kb, kb.wait(t, 10*time.Minute))
	bKept := readHost(t).of(b.name)
	expectWholeCluster(t, b.name, bKept, true)
	kc := start(t, nil, c.args(t, "e2e", "KEEP=1", "LABELS=smoke")...)
	expectIncomplete(t, kc, kc.wait(t, 10*time.Minute))
	host := readHost(t)
	expectSame(t, "B's kept cluster, after C's run", bKept, host.of(b.name))
	cKept := host.of(c.name)
	expectWholeCluster(t, c.name, cKept, true)

	if err := start(t, nil, "down", "CLUSTER_NAME="+b.name).wait(t, 3*time.Minute); err != nil {
		t.Fatalf("make down CLUSTER_NAME=%s: %v", b.name, err)
	}
	host = readHost(t)
	if left := host.of(b.name); len(left) > 0 {
		t.Errorf("make down CLUSTER_NAME=%s left %v", b.name, keys(left))
	}
	expectSame(t, "C's kept cluster, after make down CLUSTER_NAME="+b.name, cKept, host.of(c.name))
	if !nodeRunning(c.name) {
		t.Errorf("C's node is not running after B's make down")
	}

	if err := start(t, nil, "down", "CLUSTER_NAME="+c.name).wait(t, 3*time.Minute); err != nil {
		t.Fatalf("make down CLUSTER_NAME=%s: %v", c.name, err)
	}
	expectHostAsBefore(t, before, b.name, c.name)
}

func TestKubeconfigOutKeepsOtherContexts(t *testing.T) {
	requireEnabled(t)
	k := ownCluster(t, "kcfg")
	path := filepath.Join(t.TempDir(), "config")
	own := clientcmdapi.NewConfig()
	// Never contacted: the suite must only leave it be.
	own.Clusters["users-own"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", CertificateAuthorityData: []byte("not a real CA")}
	own.AuthInfos["users-own"] = &clientcmdapi.AuthInfo{Token: "not-a-real-token"}
	own.Contexts["users-own"] = &clientcmdapi.Context{Cluster: "users-own", AuthInfo: "users-own", Namespace: "mine"}
	own.CurrentContext = "users-own"
	if err := clientcmd.WriteToFile(*own, path); err != nil {
		t.Fatal(err)
	}
	orig, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"E2E_KUBECONFIG_OUT=" + path}
	kind := "kind-" + k.name

	r := start(t, out, k.args(t, "e2e", "LABELS=smoke")...)
	expectIncomplete(t, r, r.wait(t, 10*time.Minute))
	expectOnly(t, path, orig, "after the run")
	expectHostAsBefore(t, k.before, k.name)
	if t.Failed() {
		return
	}

	kept := start(t, out, k.args(t, "e2e", "KEEP=1", "LABELS=smoke")...)
	expectIncomplete(t, kept, kept.wait(t, 10*time.Minute))
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Contexts[kind] == nil || cfg.Clusters[kind] == nil || cfg.AuthInfos[kind] == nil {
		t.Errorf("with the cluster kept, %s has no complete %s entries: contexts %v", path, kind, keys(cfg.Contexts))
	}
	for name, what := range map[string][2]any{
		"context": {orig.Contexts["users-own"], cfg.Contexts["users-own"]},
		"cluster": {orig.Clusters["users-own"], cfg.Clusters["users-own"]},
		"user":    {orig.AuthInfos["users-own"], cfg.AuthInfos["users-own"]},
	} {
		if !reflect.DeepEqual(what[0], what[1]) {
			t.Errorf("with the cluster kept, the users-own %s changed: %+v -> %+v", name, what[0], what[1])
		}
	}
	t.Logf("with the cluster kept: contexts %v, current-context %q", keys(cfg.Contexts), cfg.CurrentContext)
	if err := start(t, nil, "down", "CLUSTER_NAME="+k.name).wait(t, 3*time.Minute); err != nil {
		t.Fatalf("make down CLUSTER_NAME=%s: %v", k.name, err)
	}
	expectOnly(t, path, orig, "after make down")
	expectHostAsBefore(t, k.before, k.name)
}

// expectOnly checks the kubeconfig at path holds exactly what orig held:
// the user's own entries, unchanged, and its current-context.
func expectOnly(t *testing.T, path string, orig *clientcmdapi.Config, when string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if cfg.CurrentContext != orig.CurrentContext {
		t.Errorf("%s: current-context %q, want %q", when, cfg.CurrentContext, orig.CurrentContext)
	}
	if !reflect.DeepEqual(cfg.Contexts, orig.Contexts) {
		t.Errorf("%s: contexts %v, want %v", when, keys(cfg.Contexts), keys(orig.Contexts))
	}
	if !reflect.DeepEqual(cfg.Clusters, orig.Clusters) {
		t.Errorf("%s: clusters %v, want %v", when, keys(cfg.Clusters), keys(orig.Clusters))
	}
	if !reflect.DeepEqual(cfg.AuthInfos, orig.AuthInfos) {
		t.Errorf("%s: users %v, want %v", when, keys(cfg.AuthInfos), keys(orig.AuthInfos))
	}
}

// waitFor waits until ready() holds, failing if the run ends first.
func waitFor(t *testing.T, r *run, what string, within time.Duration, ready func() bool) {
	t.Helper()
	switch err := r.until(within, ready); {
	case errors.Is(err, errRunEnded):
		t.Fatalf("%s ended (%v) before %s", r.what, orOK(r.err), what)
	case err != nil:
		t.Fatalf("no %s within %s", what, within)
	}
}

// expectOneLine checks the run's stderr holds one line, starting with
// prefix, besides make's own "make: *** [...] Error N".
func expectOneLine(t *testing.T, r *run, prefix string) {
	t.Helper()
	var own []string
	for _, l := range strings.Split(strings.TrimRight(r.stderr(t), "\n"), "\n") {
		if !strings.HasPrefix(l, "make: *** ") {
			own = append(own, l)
		}
	}
	if len(own) != 1 || !strings.HasPrefix(own[0], prefix) {
		t.Errorf("%s: stderr %q, want one line starting %q", r.what, own, prefix)
		return
	}
	t.Logf("%s: %s", r.what, own[0])
}

// expectWholeCluster checks objs (hostState.of) hold all a running
// air-gapped cluster has on the machine: node, registry, network and guard
// rule, and with files its record and kubeconfig in the cache.
func expectWholeCluster(t *testing.T, name string, objs map[string]string, files bool) {
	t.Helper()
	n := cluster.NamesFor(name)
	cache := cacheDir(t)
	want := []string{"container " + name + "-control-plane", "container " + n.Registry, "network " + n.Network}
	if files {
		want = append(want, "file "+filepath.Join(cache, "state", "clusters", name+".json"), "file "+filepath.Join(cache, name+".kubeconfig"))
	}
	for _, want := range want {
		if _, ok := objs[want]; !ok {
			t.Errorf("cluster %s: no %s (has %v)", name, want, keys(objs))
		}
	}
	if !slices.ContainsFunc(keys(objs), func(k string) bool { return strings.HasPrefix(k, "rule ") }) {
		t.Errorf("cluster %s: no egress guard rule for bridge %s (has %v)", name, n.Bridge, keys(objs))
	}
}

// watcher samples, about once a second, what runs beside one another have
// on the machine, and notes anything one cluster's run could only have
// done to another's: an object replaced by another of the same name, or a
// cluster whose node runs without its registry, network or guard rule
// (each made before the node and removed after it by its own run).
type watcher struct {
	names    []string
	quit     chan struct{}
	finished chan struct{}
	mu       sync.Mutex
	problems []string
	samples  int
	noted    chan struct{} // a value after each sample or note
}

func watchApart(names ...string) *watcher {
	w := &watcher{names: names, quit: make(chan struct{}), finished: make(chan struct{}), noted: make(chan struct{}, 1)}
	go w.loop()
	return w
}

func (w *watcher) stop() []string {
	close(w.quit)
	<-w.finished
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.samples < 10 {
		w.problems = append(w.problems, fmt.Sprintf("the watcher took only %d samples", w.samples))
	}
	return w.problems
}

func (w *watcher) note(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.problems) < 20 {
		w.problems = append(w.problems, fmt.Sprintf(time.Now().Format("15:04:05.000 ")+format, args...))
	}
	w.signal()
}

func (w *watcher) signal() {
	select {
	case w.noted <- struct{}{}:
	default:
	}
}

// waitUntil waits, up to within, until the watcher has taken at least
// samples samples and noted a problem containing want.
func (w *watcher) waitUntil(want string, samples int, within time.Duration) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		seen := w.samples >= samples && slices.ContainsFunc(w.problems, func(p string) bool { return strings.Contains(p, want) })
		w.mu.Unlock()
		if seen {
			return true
		}
		select {
		case <-w.noted:
		case <-deadline.C:
			return false
		}
	}
}

func (w *watcher) loop() {
	defer close(w.finished)
	ids := map[string]string{}  // object -> the ID it had
	strikes := map[string]int{} // cluster -> samples in a row with its node alone
	every := time.NewTicker(time.Second)
	defer every.Stop()
	for {
		select {
		case <-w.quit:
			return
		case <-every.C:
		}
		// Network and guard first, containers last: what a node needs is
		// made before it and removed after it, so in this order a sample
		// can never catch a node without them by accident.
		nets, err1 := exec.Command("docker", "network", "ls", "--no-trunc", "--format", "{{.Name}} {{.ID}}").Output()
		rules, err2 := exec.Command("iptables", "-w", "-S", cluster.GuardChain).Output()
		ctrs, err3 := exec.Command("docker", "ps", "--all", "--no-trunc", "--format", `{{.Names}} {{.ID}} {{.Label "io.x-k8s.kind.cluster"}}`).Output()
		if err1 != nil || err2 != nil || err3 != nil {
			w.note("cannot sample: %v %v %v", err1, err2, err3)
			continue
		}
		w.mu.Lock()
		w.samples++
		w.mu.Unlock()
		w.signal()
		network, node, other := map[string]string{}, map[string]string{}, map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(nets)), "\n") {
			if f := strings.Fields(l); len(f) == 2 {
				network[f[0]] = f[1]
			}
		}
		for _, l := range strings.Split(strings.TrimSpace(string(ctrs)), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) == 3:
				node[f[2]] = f[1]
				other[f[0]] = f[1]
			case len(f) == 2:
				other[f[0]] = f[1]
			}
		}
		for _, name := range w.names {
			n := cluster.NamesFor(name)
			seen := map[string]string{"node": node[name], "registry": other[n.Registry], "network": network[n.Network]}
			for what, id := range seen {
				key := name + " " + what
				if id == "" {
					continue
				}
				if was, ok := ids[key]; ok && was != id {
					w.note("%s %s replaced: %.12s -> %.12s", name, what, was, id)
				}
				ids[key] = id
			}
			guard := strings.Contains(string(rules), " -i "+n.Bridge+" ")
			if seen["node"] != "" && (seen["registry"] == "" || seen["network"] == "" || !guard) {
				strikes[name]++
				if strikes[name] == 2 {
					w.note("%s's node runs without its registry (%t), network (%t) or guard rule (%t)", name, seen["registry"] != "", seen["network"] != "", guard)
				}
			} else {
				strikes[name] = 0
			}
		}
	}
}

// dockerOnly keeps the containers, networks and guard rules of objs.
func dockerOnly(objs map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range objs {
		if !strings.HasPrefix(k, "file ") {
			out[k] = v
		}
	}
	return out
}

// The watcher must see what it is there to see: a node container of a
// cluster that has no registry, network or guard rule (made here with the
// registry image, never started).
func TestWatcherSeesANodeAlone(t *testing.T) {
	requireEnabled(t)
	w := ownCluster(t, "watch")
	watch := watchApart(w.name)
	node := createStandIn(t, w.name, standInImage(t))
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "--force", node).Run() })
	// Until the watcher has seen it (it takes a sample a second and calls a
	// lone node after a few in a row), and at least the 10 samples stop()
	// asks of any watch.
	if !watch.waitUntil("node runs without", 10, time.Minute) {
		t.Errorf("the watcher did not report the lone node within a minute")
	}
	if out, err := exec.Command("docker", "rm", "--force", node).CombinedOutput(); err != nil {
		t.Fatalf("docker rm: %v: %s", err, out)
	}
	problems := watch.stop()
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "node runs without") }) {
		t.Errorf("the watcher missed a node without registry, network or guard: %q", problems)
	}
	expectHostAsBefore(t, w.before, w.name)
}

// standInImage is an image on this machine to make stand-in nodes from:
// the suite's registry image, which any run here has built.
func standInImage(t *testing.T) string {
	t.Helper()
	raw, err := exec.Command("docker", "images", "--format", "{{.Repository}}:{{.Tag}}", "kiamol-e2e/registry").Output()
	img := strings.Fields(string(raw))
	if err != nil || len(img) == 0 {
		t.Fatalf("no kiamol-e2e/registry image to make a stand-in node from (%v): make images", err)
	}
	return img[0]
}

// A test killed before its cleanup (the machine restarted) leaves its
// stand-in node, which make down refuses as not the suite's: the next run
// removes it by its label and goes on. A node under another name that
// bears only kind's label (as a user's cluster would) is left alone.
func TestAStandInLeftByAKilledTestIsRemovedAndNothingElse(t *testing.T) {
	requireEnabled(t)
	img := standInImage(t)
	left, foreign := namePrefix+"left", namePrefix+"foreign"
	removeStandIns(t, left)
	createStandIn(t, left, img) // no cleanup: as a killed test leaves it
	node := foreign + "-control-plane"
	if out, err := exec.Command("docker", "create", "--name", node, "--label", "io.x-k8s.kind.cluster="+foreign, img).CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "--force", node).Run() })

	c := ownCluster(t, "left") // fails the test if anything of it is left
	if nodeExists(c.name) {
		t.Errorf("the stand-in node of %s is still there", c.name)
	}
	removeStandIns(t, foreign)
	if !nodeExists(foreign) {
		t.Errorf("removeStandIns removed %s, a node without the stand-in label", node)
	}
}
