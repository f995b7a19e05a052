package containerruntime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

const id = "3c1b2f0e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b"

// fakeDocker puts a docker on PATH that answers as a kind node would:
// rmOutcome is what `crictl rm` does (ok, slow-but-done, slow-not-done).
func fakeDocker(t *testing.T, rmOutcome string) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	script := `#!/bin/sh
echo "$*" >> ` + log + `
case "$*" in
  version*) echo 28.2.2 ;;
  "ps -a --filter label=io.x-k8s.kind.cluster --format"*) echo kiamol-e2e ;;
  "ps -a --filter label=io.x-k8s.kind.cluster=kiamol-e2e --format"*) echo kiamol-e2e-control-plane ;;
  *"crictl --timeout 1m0s ps --quiet"*) echo ` + id[:13] + ` ;;
  *"crictl --timeout 1m0s rm --force"*)
    case "` + rmOutcome + `" in
      ok) echo ` + id + ` ;;
      *) echo 'E1127 07:41:31.384731    2492 remote_runtime.go:366] "StopContainer from runtime service failed" err="rpc error: code = DeadlineExceeded desc = context deadline exceeded"' >&2; exit 1 ;;
    esac ;;
  *"crictl --timeout 1m0s inspect"*)
    case "` + rmOutcome + `" in
      slow-but-done) echo 'E1127 07:41:33.000000    2493 remote_runtime.go:1] "ContainerStatus from runtime service failed" err="rpc error: code = NotFound desc = an error occurred when try to find container: not found"' >&2; exit 1 ;;
      *) echo '{"status":{"state":"CONTAINER_RUNNING"}}' ;;
    esac ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

func runningPod() *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "pods-x", Name: "hello-kiamol"}, Spec: corev1.PodSpec{NodeName: "kiamol-e2e-control-plane"},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "hello-kiamol", ContainerID: "containerd://" + id,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}}
}

func TestRemoveFindsByLabelThenRemoves(t *testing.T) {
	calls := fakeDocker(t, "ok")
	r, err := Remove(context.Background(), runningPod(), "hello-kiamol", time.Minute)
	if err != nil || r.Note != "" {
		t.Fatalf("%+v %v", r, err)
	}
	raw, _ := os.ReadFile(calls)
	got := string(raw)
	for _, want := range []string{
		"exec --privileged kiamol-e2e-control-plane crictl --timeout 1m0s ps --quiet --label io.kubernetes.container.name=hello-kiamol --label io.kubernetes.pod.namespace=pods-x --label io.kubernetes.pod.name=hello-kiamol",
		"exec --privileged kiamol-e2e-control-plane crictl --timeout 1m0s rm --force " + id,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no call %q in:\n%s", want, got)
		}
	}
}

// crictl's deadline passed while containerd went on removing the container:
// the container is gone, so the removal happened; the report says so.
func TestASlowRemovalThatHappenedIsNotAFailure(t *testing.T) {
	fakeDocker(t, "slow-but-done")
	r, err := Remove(context.Background(), runningPod(), "hello-kiamol", time.Minute)
	if err != nil {
		t.Fatalf("a removal that happened failed: %v", err)
	}
	if !strings.Contains(r.Note, "DeadlineExceeded") || !strings.Contains(r.Note, "the container is gone") {
		t.Errorf("note: %q", r.Note)
	}
}

// The container is still there after the runtime's error: a failure, in
// the runtime's own words first.
func TestARemovalThatDidNotHappenFails(t *testing.T) {
	fakeDocker(t, "slow-not-done")
	_, err := Remove(context.Background(), runningPod(), "hello-kiamol", time.Minute)
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.HasPrefix(err.Error(), `"StopContainer from runtime service failed"`) || errors.Is(err, ErrUnreachable) {
		t.Errorf("err: %v", err)
	}
}

func TestExpectOne(t *testing.T) {
	if err := expectOne(id[:13]+"\n", "containerd://"+id); err != nil {
		t.Errorf("the Pod's own container: %v", err)
	}
	if err := expectOne("", "containerd://"+id); err == nil || !strings.Contains(err.Error(), "no running container") {
		t.Errorf("none: %v", err)
	}
	if err := expectOne("aaa\nbbb", "containerd://"+id); err == nil || !strings.Contains(err.Error(), "2 containers") {
		t.Errorf("two: %v", err)
	}
}

// fakeDockerScript puts a docker on PATH that runs the given case arms.
func fakeDockerScript(t *testing.T, arms string) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\ncase \"$*\" in\n  version*) echo 28.2.2 ;;\n" + arms + "\n  *) echo \"unexpected: $*\" >&2; exit 9 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// The containerID claim's independent account: the node's containerd holds
// a container under exactly that ID and calls itself containerd.
func TestInspectAsksTheNodesRuntime(t *testing.T) {
	fakeDockerScript(t, `  "ps -a --filter label=io.x-k8s.kind.cluster --format"*) echo kiamol-e2e ;;
  "ps -a --filter label=io.x-k8s.kind.cluster=kiamol-e2e --format"*) echo kiamol-e2e-control-plane ;;
  *"crictl --timeout 1m0s inspect `+id+`") echo '{"status":{"id":"`+id+`","state":"CONTAINER_RUNNING"}}' ;;
  *"crictl --timeout 1m0s version") printf 'Version:  0.1.0\nRuntimeName:  containerd\nRuntimeVersion:  1.6.20\nRuntimeApiVersion:  v1\n' ;;`)
	h, err := Inspect(context.Background(), runningPod(), "hello-kiamol", time.Minute)
	if err != nil || h.ID != id || h.Runtime != "containerd" || h.Version != "1.6.20" || h.Path != "host runtime" {
		t.Errorf("%+v %v", h, err)
	}
}

// A docker:// Pod whose container this machine's Docker does not hold (a
// minikube VM's Docker, a remote node's) is not this machine's to reach:
// ErrUnreachable, so the claim goes through the node instead of failing.
func TestADockerPodThisMachineDoesNotHoldIsUnreachable(t *testing.T) {
	fakeDockerScript(t, `  "ps -a --filter label=io.x-k8s.kind.cluster --format"*) ;;
  "container inspect --format {{.ID}} `+id+`") echo 'Error: No such container: `+id+`' >&2; exit 1 ;;`)
	pod := runningPod()
	pod.Spec.NodeName = "minikube"
	pod.Status.ContainerStatuses[0].ContainerID = "docker://" + id
	if _, err := Remove(context.Background(), pod, "hello-kiamol", time.Minute); !errors.Is(err, ErrUnreachable) {
		t.Errorf("remove: %v", err)
	}
	if _, err := Inspect(context.Background(), pod, "hello-kiamol", time.Minute); !errors.Is(err, ErrUnreachable) {
		t.Errorf("inspect: %v", err)
	}
}

// The tests reach the runtime the way this machine does, whatever the
// mode: fromHere, Remove and Inspect.

// fromHere is this machine's own path, whatever the mode: what Remove and
// Inspect use on their own.
func fromHere(ctx context.Context, pod *corev1.Pod, container string, call time.Duration) (Local, Path, error) {
	l, err := Probe(ctx, pod, container, call)
	if err != nil {
		return l, Path{}, err
	}
	return l, Decide(Situation{Mode: settings.SelfHealHost, Node: pod.Spec.NodeName, Scheme: l.Scheme, Reach: l.Reach}), nil
}

// Remove removes the container named container of pod through the runtime
// of the pod's node, from this machine; ErrUnreachable when it does not
// reach it.
func Remove(ctx context.Context, pod *corev1.Pod, container string, call time.Duration) (Removal, error) {
	l, p, err := fromHere(ctx, pod, container, call)
	if err != nil {
		return Removal{}, err
	}
	return l.Remove(ctx, pod, container, p, call)
}

// Inspect asks the Pod's node's runtime, from this machine, for the
// container named container. ErrUnreachable when this machine cannot reach
// it (a remote node, a docker:// Pod whose container this machine's Docker
// does not hold).
func Inspect(ctx context.Context, pod *corev1.Pod, container string, call time.Duration) (Held, error) {
	l, p, err := fromHere(ctx, pod, container, call)
	if err != nil {
		return Held{}, err
	}
	return l.Inspect(ctx, p, call)
}
