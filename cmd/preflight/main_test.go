package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// Each bad input must end the run with exactly one line on stderr, saying
// what is wrong and what to do, and exit 2 before anything is created.

var preflightBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "preflight-test-")
	if err != nil {
		panic(err)
	}
	preflightBin = filepath.Join(dir, "preflight")
	if out, err := exec.Command("go", "build", "-o", preflightBin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// runPreflight runs the command from the repository root with only the
// environment given (plus PATH and HOME unless overridden).
func runPreflight(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	cmd := exec.Command(preflightBin, args...)
	cmd.Dir = "../.."
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": t.TempDir(), "E2E_IMAGES": "airgap",
		"GOCACHE": goEnv(t, "GOCACHE"), "GOMODCACHE": goEnv(t, "GOMODCACHE"), "GOFLAGS": os.Getenv("GOFLAGS")}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func expectOneLine(t *testing.T, r result, wants ...string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit code %d, want 2 (stdout %q, stderr %q)", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "kiamol-e2e: ") {
		t.Fatalf("want one line starting kiamol-e2e: on stderr, got %d:\n%s", len(lines), r.stderr)
	}
	if !strings.Contains(lines[0], "; ") {
		t.Errorf("the line does not say what to do after '; ': %s", lines[0])
	}
	for _, w := range wants {
		if !strings.Contains(lines[0], w) {
			t.Errorf("the line does not mention %q: %s", w, lines[0])
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout should be empty, got %q", r.stdout)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// kubeconfigFor points a context at server; credentials are never used
// because nothing answers there.
func kubeconfigFor(t *testing.T, server string) string {
	return writeFile(t, t.TempDir(), "config", `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "`+server+`", insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: closed-port
  context: {cluster: c, user: u}
current-context: closed-port
`)
}

// closedPort is a loopback port nothing listens on: the closest address to
// an unreachable cluster that sends nothing off the machine.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestMissingKubeconfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": missing})
	expectOneLine(t, r, "no kubeconfig", missing, "KUBECONFIG")
}

func TestMissingDefaultKubeconfig(t *testing.T) {
	r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1"})
	expectOneLine(t, r, "no kubeconfig", ".kube/config")
}

func TestInvalidKubeconfig(t *testing.T) {
	p := writeFile(t, t.TempDir(), "config", "clusters: [this is: not yaml\n")
	r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": p})
	expectOneLine(t, r, "not valid", p)
}

func TestNotAKubeconfig(t *testing.T) {
	p := writeFile(t, t.TempDir(), "config", "just some text\n")
	r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": p})
	expectOneLine(t, r, "not a kubeconfig")
}

func TestUnknownContext(t *testing.T) {
	p := kubeconfigFor(t, "https://"+closedPort(t))
	r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": p, "E2E_KUBE_CONTEXT": "prod"})
	expectOneLine(t, r, `context "prod" is not in`, "closed-port")
}

func TestUnreachableCluster(t *testing.T) {
	addr := closedPort(t)
	p := kubeconfigFor(t, "https://"+addr)
	r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": p})
	expectOneLine(t, r, "cannot reach the cluster", addr, "connection refused", "cluster-info")
}

func TestDockerNotInstalled(t *testing.T) {
	r := runPreflight(t, map[string]string{"PATH": t.TempDir()})
	expectOneLine(t, r, "Docker is not installed")
}

func TestDockerNotRunning(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("needs the docker CLI on PATH, to point it at an engine that is not there")
	}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	r := runPreflight(t, map[string]string{"DOCKER_HOST": "unix://" + sock})
	expectOneLine(t, r, "Docker engine is not running", sock)
}

func TestMalformedManifest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hello-kiamol-3\n spec: [\n")
	writeFile(t, dir, "deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello-kiamol-4}\n")
	r := runPreflight(t, map[string]string{"E2E_MANIFESTS": dir})
	expectOneLine(t, r, filepath.Join(dir, "pod.yaml"), "MANIFESTS")
}

func TestManifestMissingTheChaptersObject(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: some-other-pod}\nspec: {containers: [{name: c, image: x}]}\n")
	writeFile(t, dir, "deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: hello-kiamol-4}\n")
	r := runPreflight(t, map[string]string{"E2E_MANIFESTS": dir})
	expectOneLine(t, r, "no Pod named hello-kiamol-3")
}

func TestManifestFolderWithoutTheChaptersFiles(t *testing.T) {
	dir := t.TempDir()
	r := runPreflight(t, map[string]string{"E2E_MANIFESTS": dir})
	expectOneLine(t, r, "does not exist", "pod.yaml")
}

func TestLabelFilterSelectingNothing(t *testing.T) {
	r := runPreflight(t, nil, "-labels", "no-such-label")
	expectOneLine(t, r, `"no-such-label" selects none`, "pods", "self-healing")
}

func TestLabelFilterThatDoesNotParse(t *testing.T) {
	r := runPreflight(t, nil, "-labels", "(pods")
	expectOneLine(t, r, "not valid", "Mismatched")
}

func TestKnobsThatContradictTheAirGap(t *testing.T) {
	r := runPreflight(t, map[string]string{"E2E_K8S_VERSION": "v1.31"})
	expectOneLine(t, r, "K8S_VERSION=v1.31", "built here: v1.38")
	r = runPreflight(t, map[string]string{"E2E_K8S_VERSION": "v1.36.1"})
	expectOneLine(t, r, "K8S_VERSION=v1.36.1", "built here at v1.36.3")
	r = runPreflight(t, map[string]string{"E2E_NODE_IMAGE": "kindest/node:v1.36.4"})
	expectOneLine(t, r, "NODE_IMAGE=kindest/node:v1.36.4", "IMAGES=online")
	r = runPreflight(t, map[string]string{"E2E_IMAGES": "online", "E2E_K8S_VERSION": "v1.20"})
	expectOneLine(t, r, "v1.20", "known")
}

// Each Kubernetes built here is a K8S_VERSION air-gapped runs accept.
func TestEveryVersionBuiltHereIsAccepted(t *testing.T) {
	for _, v := range []string{"v1.37", "v1.36", "1.35", "v1.34.4", "v1.38"} {
		if r := runPreflight(t, map[string]string{"E2E_K8S_VERSION": v}, "-docker=false"); r.code != 0 {
			t.Errorf("K8S_VERSION=%s: exit %d, stderr %q", v, r.code, r.stderr)
		}
	}
}

func TestUnknownClusterKind(t *testing.T) {
	r := runPreflight(t, map[string]string{"E2E_CLUSTER": "k3s"})
	expectOneLine(t, r, "k3s", "docker-runtime")
	r = runPreflight(t, map[string]string{"E2E_CLUSTER": "docker-runtime", "E2E_IMAGES": "online"})
	expectOneLine(t, r, "air-gapped only", "IMAGES=online")
}

func TestGoodInputsPass(t *testing.T) {
	// A valid filter and the suite's own manifests; no Docker check, as
	// make e2e leaves that to hack/host-setup.sh.
	r := runPreflight(t, nil, "-docker=false", "-labels", "pods && !self-healing")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// A machine where no kind node can start is refused before anything is
// built: here a /proc/cgroups whose memory controller has no hierarchy
// and no memory mount (both in a mount namespace of the test's own: the fake
// table bind-mounted over the real one, the hierarchy unmounted).
func TestAHostWhereNoNodeCanStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to show preflight another /proc/cgroups in a mount namespace of its own")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare (util-linux)")
	}
	raw, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		t.Skip("no /proc/cgroups here")
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("a cgroup v2 host: no v1 hierarchy to take away")
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "memory" {
			l = "memory\t0\t1\t1"
		}
		lines = append(lines, l)
	}
	fake := writeFile(t, t.TempDir(), "cgroups", strings.Join(lines, "\n")+"\n")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" /proc/cgroups && { umount /sys/fs/cgroup/memory 2>/dev/null || true; } && exec "$2" -docker=false`, "sh", fake, preflightBin)
	cmd.Dir = "../.."
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "E2E_IMAGES=airgap"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	}
	if strings.Contains(r.stderr, "mount:") {
		t.Skipf("cannot bind-mount over /proc/cgroups here: %s", r.stderr)
	}
	expectOneLine(t, r, "cgroup controller memory has no hierarchy on this host", "make doctor")
}

func TestDoctorPrintsTheHostsFacts(t *testing.T) {
	r := runPreflight(t, nil, "-doctor")
	for _, want := range []string{"kernel:", "capabilities:", "docker:", "verdict:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("make doctor does not say %q:\n%s", want, r.stdout)
		}
	}
	if r.code != 0 && !strings.Contains(r.stdout, "problem:") {
		t.Errorf("exit %d without a problem line:\n%s", r.code, r.stdout)
	}
}

// On a cluster the suite did not make, the opt-in to self-healing through
// the node is said first, before anything runs: what the run will label and
// which Pods it will start. Without it, nothing of the kind is said.
func TestTheOptInToPrivilegedPodsIsSaidFirst(t *testing.T) {
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/version":
			_, _ = w.Write([]byte(`{"major":"1","minor":"33","gitVersion":"v1.33.1+k3s1"}`))
		case "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
			// A user the cluster allows everything: the access check passes.
			body, _ := io.ReadAll(r.Body)
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
			review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
			if err != nil || !ok {
				http.Error(w, fmt.Sprint(err), http.StatusBadRequest)
				return
			}
			review.Status.Allowed = true
			review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
			raw, _ := runtime.Encode(scheme.Codecs.LegacyCodec(authorizationv1.SchemeGroupVersion), review)
			_, _ = w.Write(raw)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()
	kubeconfig := kubeconfigFor(t, api.URL)
	for _, tc := range []struct {
		selfHeal string
		first    string
	}{
		{"node", "kiamol-e2e: self-healing through the node, as asked (--self-heal=node, SELF_HEAL=node), on a cluster the suite did not make: this run will label its own spec namespaces pod-security.kubernetes.io/enforce=privileged and start privileged Pods on the nodes (kubectl debug node/<node> --profile=sysadmin"},
		{"auto", "preflight: existing cluster: context \"closed-port\" at " + api.URL + ", Kubernetes v1.33.1+k3s1"},
		{"host", "preflight: existing cluster: context \"closed-port\""},
	} {
		t.Run(tc.selfHeal, func(t *testing.T) {
			r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": kubeconfig, "E2E_SELF_HEAL": tc.selfHeal}, "-docker=false")
			lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
			if r.code != 0 || r.stderr != "" || !strings.HasPrefix(lines[0], tc.first) {
				t.Fatalf("exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
			}
			if plan := strings.Contains(r.stdout, "privileged Pods"); plan != (tc.selfHeal == "node") {
				t.Errorf("the privileged plan said: %v, stdout:\n%s", plan, r.stdout)
			}
			if tc.selfHeal == "node" && (len(lines) != 2 || !strings.HasPrefix(lines[1], "preflight: existing cluster:")) {
				t.Errorf("stdout:\n%s", r.stdout)
			}
		})
	}
}
