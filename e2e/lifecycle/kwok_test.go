package lifecycle

// A cluster that lies: kwok's, whose fake nodes have a controller mark
// every Pod Running and Ready while no container runs anywhere. The suite
// pointed at one must never pass, no line of its verdict that says
// something was pulled or runs may pass, the header must say the nodes are
// not real, and each failure's cause must say so too.
//
// kwokctl and kwok are built here from the Go module proxy; the control
// plane is the one the image build made (make images) in the image cache.
// kwokctl is pointed at a local file for every binary it could want, and
// at a closed port on loopback for anything else, so it fetches nothing:
// the test also checks it did not.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	kwokModule  = "sigs.k8s.io/kwok"
	kwokVersion = "v0.8.0"
	// kwokCluster is the test's kwok cluster; its work folder is the
	// test's own (kwokWorkDir), so no other kwok cluster shares the name.
	kwokCluster = namePrefix + "kwok"
	// noProxy is where every proxy variable points kwokctl: a closed port
	// on loopback (discard), so a request for anything off the machine
	// fails here, at once, without leaving it.
	noProxy = "http://127.0.0.1:9"
)

// Claims that say nothing ran or was pulled: what the API server alone can
// show (objects made, labelled, replaced, deleted). Only these may pass on
// a cluster whose nodes run nothing; every other line, a new claim's
// included, fails this test if it passes there.
var claimsNothingRuns = []string{"2.2/deployment-pod", "2.2/relabel", "2.3/apply-url", "2.3/apply-again", "2.5/delete-pods", "2.5/delete-deployments"}

func TestAKwokClusterNeverPasses(t *testing.T) {
	requireEnabled(t)
	control := localControlPlane(t)
	kwok := buildKwok(t)
	kc := upKwok(t, kwok, control)

	r := start(t, nil, "e2e", "EXISTING=1", "KUBECONFIG="+kc.kubeconfig, "CONTEXT=kwok-"+kwokCluster, "ARTIFACTS="+t.TempDir())
	err := r.wait(t, 15*time.Minute)
	expectVerdict(t, r, "FAIL")
	if code := exitCode(err); code != 2 {
		t.Errorf("make exited %d (%v), want 2 (the verdict's FAIL)", code, err)
	}
	v := parseVerdict(r.output(t))
	if len(v.rows) == 0 {
		t.Fatalf("no verdict in the run's output")
	}

	// The header says each node is not real, before what it reports.
	fake := regexp.MustCompile(`(?m)^  node node-000000: not a real node: kwok fake node \(nothing runs on it\); it reports .*kubelet kwok-`)
	if !fake.MatchString(v.header) {
		t.Errorf("the header does not say node-000000 is not a real node:\n%s", v.header)
	}
	if !strings.Contains(v.header, "cluster: kwok kwok-"+kwokCluster) {
		t.Errorf("the header does not name the cluster kwok:\n%s", v.header)
	}
	if !strings.Contains(v.tail, "fail: node node-000000 is not a real node: kwok fake node (nothing runs on it)") {
		t.Errorf("the verdict does not give the fake node as a reason:\n%s", v.tail)
	}

	for _, row := range v.rows {
		switch row.outcome {
		case "PASS":
			if !slices.Contains(claimsNothingRuns, claimID(row.text)) {
				t.Errorf("passed on a cluster whose nodes run nothing: %s", row.text)
			}
		case "FAIL":
			// The fact leads the cause, not kwok's own words alone.
			if !strings.Contains(row.cause, "node node-000000 is not a real node: kwok fake node (nothing runs on it)") {
				t.Errorf("%s: its cause does not say the node runs nothing: %s", row.text, row.cause)
			}
		}
	}
	// The lines that say a pull happened and a node is Ready fail, they do
	// not skip.
	for _, want := range []string{
		"pulls kiamol/ch02-hello-kiamol untagged (imagePullPolicy Always) and runs it Ready",
		"pulls kiamol/ch02-whoami untagged (imagePullPolicy Always) and runs it Ready",
		"The cluster under test has every node Ready",
	} {
		if row, ok := v.find(want); !ok || row.outcome != "FAIL" {
			t.Errorf("%q: %+v (found %v), want FAIL", want, row, ok)
		}
	}
}

// controlPlane are the binaries of the image build's Kubernetes and etcd.
type controlPlane struct {
	version                                                string // e.g. v1.34.4
	apiserver, controllerManager, scheduler, kubectl, etcd string
}

// localControlPlane finds, in the image cache, a Kubernetes build with the
// four binaries kwokctl runs and an etcd; it skips, naming the target that
// builds them, when there is none.
func localControlPlane(t *testing.T) controlPlane {
	t.Helper()
	out := filepath.Join(cacheDir(t), "out")
	var cp controlPlane
	k8s, _ := filepath.Glob(filepath.Join(out, "kubernetes-*"))
	sort.Sort(sort.Reverse(sort.StringSlice(k8s)))
	for _, dir := range k8s {
		if strings.HasSuffix(dir, ".partial") {
			continue // a build under way
		}
		c := controlPlane{apiserver: filepath.Join(dir, "kube-apiserver"), controllerManager: filepath.Join(dir, "kube-controller-manager"),
			scheduler: filepath.Join(dir, "kube-scheduler"), kubectl: filepath.Join(dir, "kubectl")}
		if allExecutable(c.apiserver, c.controllerManager, c.scheduler, c.kubectl) {
			cp = c
			break
		}
	}
	etcd, _ := filepath.Glob(filepath.Join(out, "etcd-*", "etcd"))
	for _, e := range etcd {
		if !strings.Contains(e, ".partial") && allExecutable(e) {
			cp.etcd = e
		}
	}
	if cp.apiserver == "" || cp.etcd == "" {
		t.Skipf("the image cache %s has no kubernetes-*/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl} and etcd-*/etcd: make images builds them", out)
	}
	said, err := exec.Command(cp.apiserver, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", cp.apiserver, err)
	}
	cp.version = strings.TrimPrefix(strings.TrimSpace(string(said)), "Kubernetes ")
	t.Logf("control plane: Kubernetes %s from %s, etcd %s", cp.version, filepath.Dir(cp.apiserver), cp.etcd)
	return cp
}

func allExecutable(paths ...string) bool {
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// kwokBinaries are kwokctl and the kwok controller it starts.
type kwokBinaries struct{ kwokctl, controller string }

// buildKwok builds kwokctl and kwok at kwokVersion from the module proxy
// into the image cache (kwok/<version>/); Go's build cache makes a second
// build a link at most. The first build compiles kwok's Kubernetes
// libraries: minutes on a 2-core machine.
func buildKwok(t *testing.T) kwokBinaries {
	t.Helper()
	bin := filepath.Join(cacheDir(t), "kwok", kwokVersion)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", kwokModule+"/cmd/kwokctl@"+kwokVersion, kwokModule+"/cmd/kwok@"+kwokVersion)
	// Outside this module: `go install pkg@version` builds kwok by its own
	// go.mod.
	cmd.Dir = t.TempDir()
	cmd.Env = append(childEnv(nil), "GOBIN="+bin)
	began := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s@%s: %v\n%s", kwokModule, kwokVersion, err, out)
	}
	t.Logf("kwokctl and kwok %s in %s (%s)", kwokVersion, bin, time.Since(began).Round(100*time.Millisecond))
	return kwokBinaries{kwokctl: filepath.Join(bin, "kwokctl"), controller: filepath.Join(bin, "kwok")}
}

// kwokRun is the test's kwok cluster.
type kwokRun struct {
	kwok       kwokBinaries
	workDir    string // KWOK_WORKDIR: the clusters, their logs, kwokctl's cache
	config     string
	kubeconfig string
	env        []string
}

// kwokWorkDir is the test's own kwok work folder, the same for every run
// of the test, so that a run killed before its cleanup leaves its cluster
// where the next run finds and deletes it.
func kwokWorkDir() string { return filepath.Join(os.TempDir(), kwokCluster) }

// upKwok makes the kwok cluster, with one fake node, from local binaries
// only; the test's cleanup deletes it and checks its processes are gone.
func upKwok(t *testing.T, kwok kwokBinaries, cp controlPlane) *kwokRun {
	t.Helper()
	k := &kwokRun{kwok: kwok, workDir: kwokWorkDir()}
	k.config = filepath.Join(k.workDir, "kwokctl.yaml")
	k.kubeconfig = filepath.Join(k.workDir, "kubeconfig")
	// Only this test's variables reach kwokctl: a KWOK_* variable would
	// override the config file, a proxy variable send it elsewhere, and
	// HOME is the test's, for what kwokctl keeps there (~/.kwok, client-go's
	// ~/.kube/cache).
	for _, kv := range childEnv(nil) {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "KWOK_") || strings.HasSuffix(strings.ToLower(name), "_proxy") || name == "HOME" {
			continue
		}
		k.env = append(k.env, kv)
	}
	home := filepath.Join(k.workDir, "home")
	k.env = append(k.env, "KWOK_WORKDIR="+k.workDir, "HOME="+home,
		"HTTP_PROXY="+noProxy, "HTTPS_PROXY="+noProxy, "http_proxy="+noProxy, "https_proxy="+noProxy,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")

	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	// Every binary kwokctl might fetch is a local file; the ones this
	// cluster does not run are a path that is not there, so asking for
	// one fails here rather than reaching for its download address.
	absent := filepath.Join(k.workDir, "not-provided")
	config := "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokctlConfiguration\noptions:\n"
	for _, o := range [][2]string{
		{"runtime", "binary"}, {"kubeVersion", cp.version}, {"cacheDir", k.cacheDir()},
		{"kubeBinaryPrefix", filepath.Dir(cp.apiserver)}, {"kubeApiserverBinary", cp.apiserver},
		{"kubeControllerManagerBinary", cp.controllerManager}, {"kubeSchedulerBinary", cp.scheduler}, {"kubectlBinary", cp.kubectl},
		{"etcdBinaryPrefix", filepath.Dir(cp.etcd)}, {"etcdBinary", cp.etcd},
		{"kwokBinaryPrefix", filepath.Dir(kwok.controller)}, {"kwokControllerBinary", kwok.controller},
		{"etcdctlBinary", filepath.Join(absent, "etcdctl")}, {"etcdutlBinary", filepath.Join(absent, "etcdutl")},
		{"prometheusBinary", filepath.Join(absent, "prometheus")}, {"jaegerBinary", filepath.Join(absent, "jaeger")},
		{"metricsServerBinary", filepath.Join(absent, "metrics-server")}, {"kindBinary", filepath.Join(absent, "kind")},
		{"kectlBinary", filepath.Join(absent, "kectl")},
	} {
		config += fmt.Sprintf("  %s: %q\n", o[0], o[1])
	}
	if err := os.WriteFile(k.config, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(k.clusterDir()); err == nil {
		t.Logf("left by an earlier, killed test: kwok cluster %s in %s, deleting", kwokCluster, k.workDir)
		if !k.delete(t) {
			t.FailNow()
		}
	}

	t.Cleanup(func() {
		if k.delete(t) {
			// The work folder is the test's alone: nothing of it is worth
			// keeping once its cluster is gone.
			if err := os.RemoveAll(k.workDir); err != nil {
				t.Errorf("remove %s: %v", k.workDir, err)
			}
		}
	})
	created := k.kwokctl(t, 5*time.Minute, "create", "cluster", "--kubeconfig", k.kubeconfig, "--wait", "2m")
	k.kwokctl(t, time.Minute, "scale", "node", "--replicas", "1")

	// Nothing was fetched: kwokctl logs each download, keeps what it
	// downloaded under its cache by scheme and host, and links each
	// component's binary in the cluster's bin folder to where it got it.
	if strings.Contains(created, `"msg":"Download"`) {
		t.Errorf("kwokctl downloaded something:\n%s", created)
	}
	for _, scheme := range []string{"http", "https"} {
		if _, err := os.Stat(filepath.Join(k.cacheDir(), scheme)); err == nil {
			t.Errorf("kwokctl's cache holds downloads: %s", filepath.Join(k.cacheDir(), scheme))
		}
	}
	local := []string{cp.apiserver, cp.controllerManager, cp.scheduler, cp.kubectl, cp.etcd, kwok.controller}
	links, _ := filepath.Glob(filepath.Join(k.clusterDir(), "bin", "*"))
	if len(links) == 0 {
		t.Errorf("no binaries in %s", filepath.Join(k.clusterDir(), "bin"))
	}
	for _, l := range links {
		if to, err := os.Readlink(l); err != nil || !slices.Contains(local, to) {
			t.Errorf("%s is %q (%v), not one of the local binaries %v", l, to, err, local)
		}
	}
	return k
}

func (k *kwokRun) cacheDir() string   { return filepath.Join(k.workDir, "cache") }
func (k *kwokRun) clusterDir() string { return filepath.Join(k.workDir, "clusters", kwokCluster) }

// kwokctl runs kwokctl on the test's cluster and returns what it printed.
func (k *kwokRun) kwokctl(t *testing.T, within time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.kwok.kwokctl, append([]string{"--config", k.config, "--name", kwokCluster}, args...)...)
	cmd.Env = k.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kwokctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// delete deletes the test's kwok cluster and waits until every process
// its pid files named is gone; it says whether all of that went well.
func (k *kwokRun) delete(t *testing.T) bool {
	t.Helper()
	pids := k.pids()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.kwok.kwokctl, "--config", k.config, "--name", kwokCluster, "delete", "cluster", "--kubeconfig", k.kubeconfig)
	cmd.Env = k.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("kwokctl delete cluster --name %s: %v\n%s", kwokCluster, err, out)
		return false
	}
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		for _, pid := range pids {
			if syscall.Kill(pid, 0) == nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Errorf("kwok cluster %s deleted, but of its processes %v some are still alive a minute later", kwokCluster, pids)
		return false
	}
	if _, err := os.Stat(k.clusterDir()); err == nil {
		t.Errorf("kwokctl delete left %s", k.clusterDir())
		return false
	}
	t.Logf("kwok cluster %s deleted, its %d processes gone", kwokCluster, len(pids))
	return true
}

// pids are the processes of the cluster's components, from kwokctl's pid
// files.
func (k *kwokRun) pids() []int {
	files, _ := filepath.Glob(filepath.Join(k.clusterDir(), "pids", "*.pid"))
	var out []int
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil && perr == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// verdictRow is one line of the verdict make e2e prints, with its cause.
type verdictRow struct{ outcome, text, cause string }

// printedVerdict is the verdict's text: its header (the cluster and its
// nodes), its rows, and what follows them (reasons, the closing line).
type printedVerdict struct {
	header, tail string
	rows         []verdictRow
}

var rowLine = regexp.MustCompile(`^(PASS|FAIL|SKIP|----)\s+(?:\d+\.\ds)?\s+(.*)$`)

// parseVerdict reads the verdict from the last "cluster: " line of the
// run's output on (Ginkgo's own report comes before it).
func parseVerdict(out string) printedVerdict {
	lines := strings.Split(out, "\n")
	from := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "cluster: ") {
			from = i
		}
	}
	var v printedVerdict
	if from < 0 {
		return v
	}
	inRows := false
	for _, l := range lines[from:] {
		if m := rowLine.FindStringSubmatch(l); m != nil {
			inRows = true
			v.rows = append(v.rows, verdictRow{outcome: m[1], text: m[2]})
			continue
		}
		switch {
		case !inRows:
			v.header += l + "\n"
		case strings.HasPrefix(l, "      cause: ") && len(v.rows) > 0:
			v.rows[len(v.rows)-1].cause = strings.TrimPrefix(l, "      cause: ")
		case !strings.HasPrefix(l, " "):
			v.tail += l + "\n"
		}
	}
	return v
}

// find is the row whose text holds s.
func (v printedVerdict) find(s string) (verdictRow, bool) {
	for _, r := range v.rows {
		if strings.Contains(r.text, s) {
			return r, true
		}
	}
	return verdictRow{}, false
}

// claimID is the claim a row names ("2.1/pod-ready: ..."), "" for a
// cluster check.
func claimID(text string) string {
	id, _, ok := strings.Cut(text, ": ")
	if !ok || !regexp.MustCompile(`^\d+\.\d+/\S+$`).MatchString(id) {
		return ""
	}
	return id
}
