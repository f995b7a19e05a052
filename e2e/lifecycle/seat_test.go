package lifecycle

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
)

// readerBinaryEnv names a kiamol-e2e binary for this machine built as
// make dist builds it (make interrupts passes one); without it the test
// builds one.
const readerBinaryEnv = "E2E_READER_BINARY"

// readersCluster is a kind cluster as a reader makes one with kind itself:
// kind's label on its nodes and nothing of the suite's, no default CNI (the
// node image's own, as air-gapped), its images from a registry the test
// serves on its network.
type readersCluster struct {
	name, network string
	admin         string // kubeconfig for this machine (127.0.0.1)
	internal      string // kubeconfig for a container on the network (the node's name)
	client        kubernetes.Interface
}

func upReadersCluster(t *testing.T, name string) *readersCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	provider := kindcluster.NewProvider(kindcluster.ProviderWithDocker())
	rc := &readersCluster{name: name, admin: filepath.Join(t.TempDir(), "admin.kubeconfig")}
	removeReadersCluster(t, provider, name) // an earlier, killed test's
	built, err := images.ReadBuiltOf(cacheDir(t), images.Default)
	if err != nil {
		t.Skipf("needs the default cluster's images: %v", err)
	}
	names, err := cluster.ServeAirgap(ctx, name, built)
	t.Cleanup(func() { removeReadersCluster(t, provider, name) })
	if err != nil {
		t.Fatalf("the reader's cluster's network and registry: %v", err)
	}
	rc.network = names.Network
	cfg, err := cluster.KindConfig(cluster.ConfigInput{Airgap: true, Flavor: images.Default, Nodes: 1, HostCgroupV1: nodehost.HostCgroupV1()})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", names.Network)
	if err := provider.Create(name, kindcluster.CreateWithV1Alpha4Config(cfg), kindcluster.CreateWithNodeImage(built.NodeImage),
		kindcluster.CreateWithKubeconfigPath(rc.admin), kindcluster.CreateWithWaitForReady(3*time.Minute),
		kindcluster.CreateWithDisplayUsage(false), kindcluster.CreateWithDisplaySalutation(false)); err != nil {
		t.Fatalf("kind create cluster %s: %v", name, err)
	}
	internal, err := provider.KubeConfig(name, true)
	if err != nil {
		t.Fatal(err)
	}
	rc.internal = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(rc.internal, []byte(internal), 0o644); err != nil {
		t.Fatal(err)
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", rc.admin)
	if err != nil {
		t.Fatal(err)
	}
	if rc.client, err = kubernetes.NewForConfig(restCfg); err != nil {
		t.Fatal(err)
	}
	return rc
}

// removeReadersCluster deletes the test's own kind cluster (its nodes by
// kind's library, as its reader would), then what ServeAirgap made for it.
func removeReadersCluster(t *testing.T, provider *kindcluster.Provider, name string) {
	t.Helper()
	if nodeExists(name) {
		if err := provider.Delete(name, filepath.Join(t.TempDir(), "none.kubeconfig")); err != nil {
			t.Errorf("kind delete cluster %s: %v", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log syncBuffer
	if err := cluster.Remove(ctx, name, &log); err != nil {
		t.Errorf("the network, registry and guard of %s: %v\n%s", name, err, log.String())
	}
}

// state is what a run must leave of the cluster as it found it: each
// namespace with its labels, each Pod.
func (rc *readersCluster) state(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []string
	nss, err := rc.client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		var labels []string
		for k, v := range ns.Labels {
			labels = append(labels, k+"="+v)
		}
		sort.Strings(labels)
		out = append(out, "namespace "+ns.Name+" "+strings.Join(labels, ","))
	}
	pods, err := rc.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		out = append(out, "pod "+p.Namespace+"/"+p.Name)
	}
	sort.Strings(out)
	return out
}

// readerBinary is the linux kiamol-e2e to run from the reader's seat.
func readerBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv(readerBinaryEnv); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "kiamol-e2e")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/kiamol-e2e")
	cmd.Dir, cmd.Env = repo, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kiamol-e2e: %v\n%s", err, out)
	}
	return bin
}

// fromTheSeat runs the binary as a reader would, from a place that has a
// kubeconfig and nothing else: a container of its own on the cluster's
// network, with no Docker socket or client, reaching the API server by the
// control plane's name. It returns what the binary printed and its exit.
func (rc *readersCluster) fromTheSeat(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	built, err := images.ReadBuiltOf(cacheDir(t), images.Default)
	if err != nil {
		t.Fatal(err)
	}
	run := append([]string{"run", "--rm", "--network", rc.network, "--env", "HOME=/tmp",
		"--volume", bin + ":/usr/local/bin/kiamol-e2e:ro", "--volume", rc.internal + ":/reader/kubeconfig:ro",
		"--workdir", "/tmp", "--entrypoint", "/usr/local/bin/kiamol-e2e", built.NodeImage,
		"--kubeconfig", "/reader/kubeconfig", "--report-dir", "/tmp/report"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", run...).CombinedOutput()
	return string(out), exitCode(err)
}

// seatVerdict is the printed verdict's claim lines: outcome, then reason
// or cause, by claim ID.
type seatVerdict map[string]struct{ outcome, note string }

func readSeatVerdict(out string) seatVerdict {
	v := seatVerdict{}
	lines := strings.Split(out[strings.LastIndex(out, "\ncluster: ")+1:], "\n")
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) < 3 || !slices.Contains([]string{"PASS", "FAIL", "SKIP", "----"}, f[0]) {
			continue
		}
		id := strings.TrimSuffix(f[2], ":")
		note := ""
		if i+1 < len(lines) {
			note = strings.TrimSpace(lines[i+1])
		}
		v[id] = struct{ outcome, note string }{f[0], note}
	}
	return v
}

var selfHealing = []string{"2.1/self-healing", "2.1/self-healing-forward"}

// The closest this machine comes to a reader's laptop: the binary, from a
// container that holds a kubeconfig and nothing else, against a kind
// cluster the suite did not make. auto asks nothing privileged and says
// what to pass (INCOMPLETE: every other claim passes, the two self-healing
// claims are skipped naming the flag); host, the same; node (the opt-in)
// passes, says so first and lists the privileged Pods it made. Each run
// leaves the cluster as it found it, and make down refuses the cluster as
// not the suite's.
func TestAReadersSeat(t *testing.T) {
	requireEnabled(t)
	before := readHost(t)
	rc := upReadersCluster(t, namePrefix+"seat")
	bin := readerBinary(t)
	found := rc.state(t)

	for _, tc := range []struct {
		mode   string
		status int
		want   string
	}{
		{"auto", 3, "e2e: INCOMPLETE"},
		{"host", 3, "e2e: INCOMPLETE"},
		{"node", 0, "e2e: PASS"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			out, status := rc.fromTheSeat(t, bin, "--self-heal="+tc.mode)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if status != tc.status || !strings.HasPrefix(lines[len(lines)-1], tc.want) {
				t.Errorf("exit %d, closing line %q; want %d, %s\n%s", status, lines[len(lines)-1], tc.status, tc.want, tail(out, 60))
			}
			t.Logf("--self-heal=%s from the reader's seat: exit %d, %s", tc.mode, status, lines[len(lines)-1])
			v := readSeatVerdict(out)
			for _, id := range selfHealing {
				t.Logf("  %s: %s %s", id, v[id].outcome, v[id].note)
			}
			if len(v) < 20 {
				t.Fatalf("only %d claim lines in the verdict:\n%s", len(v), tail(out, 60))
			}
			for id, row := range v {
				switch {
				case row.outcome == "FAIL":
					t.Errorf("%s failed: %s", id, row.note)
				case slices.Contains(selfHealing, id) && tc.mode == "auto":
					if row.outcome != "SKIP" || !strings.Contains(row.note, "--self-heal=node") {
						t.Errorf("%s: %s %q; want skipped, naming --self-heal=node", id, row.outcome, row.note)
					}
				case slices.Contains(selfHealing, id) && tc.mode == "host":
					if row.outcome != "SKIP" || !strings.Contains(row.note, "--self-heal=host starts no Pod") {
						t.Errorf("%s: %s %q; want skipped: host reaches nothing and starts no Pod", id, row.outcome, row.note)
					}
				case strings.HasPrefix(id, "2.") && row.outcome != "PASS":
					t.Errorf("%s: %s %q; want PASS", id, row.outcome, row.note)
				}
			}
			privileged := strings.Contains(out, "made on the cluster with privilege") && strings.Contains(out, "privileged Pod ")
			if privileged != (tc.mode == "node") {
				t.Errorf("header lists privileged Pods: %v, want %v", privileged, tc.mode == "node")
			}
			if tc.mode == "node" && !(strings.HasPrefix(lines[0], "kiamol-e2e ") && strings.Contains(lines[0], ": self-healing through the node, as asked")) {
				t.Errorf("the first line does not say what the opt-in will do: %q", lines[0])
			}
			if tc.mode != "node" && strings.Contains(out, "node-debugger") {
				t.Errorf("a privileged Pod unasked:\n%s", tail(out, 60))
			}
			// The cluster as the run found it: its namespaces (with their
			// labels) and Pods, once the namespace controller is done.
			var now []string
			err := wait.PollUntilContextTimeout(context.Background(), time.Second, 3*time.Minute, true, func(context.Context) (bool, error) {
				now = rc.state(t)
				return slices.Equal(now, found), nil
			})
			if err != nil {
				t.Errorf("the cluster after the run differs from before:\n before %v\n after  %v", found, now)
			}
		})
	}

	down := start(t, nil, "down", "CLUSTER_NAME="+rc.name)
	err := down.wait(t, 3*time.Minute)
	if err == nil || !strings.Contains(down.output(t), "not one kiamol-e2e made") || !nodeRunning(rc.name) {
		t.Errorf("make down of the reader's cluster: %v, node running %v:\n%s", err, nodeRunning(rc.name), down.output(t))
	}
	removeReadersCluster(t, kindcluster.NewProvider(kindcluster.ProviderWithDocker()), rc.name)
	expectHostAsBefore(t, before)
}
