package lifecycle

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// admissionConfig makes the API server enforce Pod Security's restricted
// level on every namespace that does not say otherwise (kube-system, whose
// kube-proxy and CoreDNS are not restricted Pods, is exempt): a hardened
// cluster, as a team's may be.
const admissionConfig = `apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
- name: PodSecurity
  configuration:
    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults:
      enforce: restricted
      enforce-version: latest
    exemptions:
      namespaces: [kube-system]
`

// admissionDir is where the node (and the API server's Pod) sees it.
const admissionDir = "/etc/kiamol-e2e/admission"

// hardened adds the admission configuration to a cluster's kind
// configuration: the file mounted from the host into the control-plane
// node, and from there into the API server's static Pod.
func hardened(hostDir string) func(*v1alpha4.Cluster) {
	return func(c *v1alpha4.Cluster) {
		c.Nodes[0].ExtraMounts = append(c.Nodes[0].ExtraMounts, v1alpha4.Mount{HostPath: hostDir, ContainerPath: admissionDir, Readonly: true})
		patch, _ := yaml.Marshal(map[string]any{
			"kind": "ClusterConfiguration",
			"apiServer": map[string]any{
				"extraArgs": map[string]string{"admission-control-config-file": admissionDir + "/admission.yaml"},
				"extraVolumes": []map[string]any{{"name": "kiamol-e2e-admission", "hostPath": admissionDir, "mountPath": admissionDir,
					"readOnly": true, "pathType": "Directory"}},
			},
		})
		c.KubeadmConfigPatches = append(c.KubeadmConfigPatches, string(patch))
	}
}

// asSomeoneElses copies the admin kubeconfig under another context name, so
// that the run sees a cluster the suite did not make (its ownership is
// told by the kind context's name): nothing that only the suite's own
// cluster allows (relabelling a namespace for a privileged Pod) may happen.
func asSomeoneElses(t *testing.T, path, contextName string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		t.Fatalf("%s has no current context", path)
	}
	cfg.Contexts = map[string]*clientcmdapi.Context{contextName: c}
	cfg.CurrentContext = contextName
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(err)
	}
	return out
}

var ranSpecs = regexp.MustCompile(`Ran \d+ of \d+ Specs in ([0-9.]+) seconds`)

// A cluster whose Pod Security admission refuses the book's Pods gets the
// truth: every claim the policy refuses fails with the policy's own words
// (each line once), fast, and the suite does not get around the policy
// (no namespace relabelled, no privileged Pod).
func TestAHardenedClusterRefusesTheBooksPodsInItsOwnWords(t *testing.T) {
	requireEnabled(t)
	c := ownCluster(t, "psa")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "admission.yaml"), []byte(admissionConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "admin.kubeconfig")
	var log syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	made, err := cluster.Up(ctx, cluster.Settings{Name: c.name, RunID: "lifecycle", Images: images.Choice{Mode: images.Airgap},
		Flavor: images.Default, KubeconfigPath: kubeconfig, Nodes: 1, WaitForReady: 2 * time.Minute, Log: &log,
		Evidence: t.TempDir(), Configure: hardened(dir)})
	if err != nil {
		t.Fatalf("a hardened cluster: %v\n%s", err, log.String())
	}
	deleted := false
	down := func() {
		if !deleted {
			deleted = true
			if err := made.Down(context.Background(), true); err != nil {
				t.Errorf("delete the hardened cluster: %v", err)
			}
		}
	}
	t.Cleanup(down)

	theirs := asSomeoneElses(t, kubeconfig, "hardened")
	r := start(t, nil, c.args(t, "e2e", "EXISTING=1", "KUBECONFIG="+theirs, "CONTEXT=hardened")...)
	err = r.wait(t, 10*time.Minute)
	out := r.output(t)
	expectVerdict(t, r, "FAIL")
	if code := exitCode(err); code != 2 {
		t.Errorf("make exited %d, want 2 (the verdict's FAIL)", code)
	}
	m := ranSpecs.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line:\n%s", ranSpecs, tail(out, 40))
	}
	if took, _ := strconv.ParseFloat(m[1], 64); took > 60 {
		t.Errorf("the specs took %.1f s to their verdict, want within 60 s", took)
	}
	failed, refused := 0, 0
	// The verdict is what follows its header line.
	verdict := out[strings.LastIndex(out, "\ncluster: ")+1:]
	lines := strings.Split(verdict, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "FAIL ") || i+1 >= len(lines) {
			continue
		}
		failed++
		cause := lines[i+1]
		switch {
		case !strings.HasPrefix(strings.TrimSpace(cause), "cause: "):
			t.Errorf("%s: no cause line under it", l)
		case strings.Contains(cause, `violates PodSecurity "restricted:latest"`):
			refused++
			if strings.Count(cause, "violates PodSecurity") > 1 {
				t.Errorf("%s: the policy's words more than once:\n%s", l, cause)
			}
		default:
			t.Errorf("%s: the cause does not give the policy's words:\n%s", l, cause)
		}
	}
	if failed < 20 || refused != failed {
		t.Errorf("%d lines failed, %d of them with the policy's words; want every chapter claim (20) at least, each with them", failed, refused)
	}
	if strings.Contains(out, "made on the cluster with privilege") || strings.Contains(out, "node-debugger") {
		t.Errorf("the run got around the policy:\n%s", tail(out, 60))
	}
	down()
	expectHostAsBefore(t, c.before, c.name)
}
