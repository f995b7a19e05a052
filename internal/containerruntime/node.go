package containerruntime

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// ErrRefused says the cluster will not run a privileged Pod on the node
// (Pod Security admission, a policy engine), or the node has no tool to
// reach its runtime: the removal cannot be done from inside the node.
var ErrRefused = errors.New("the cluster refuses a privileged Pod on the node")

// NodePod is what a removal through the node needs.
type NodePod struct {
	Kubectl   kubectl.Kubectl // in the spec's namespace
	Clientset kubernetes.Interface
	// Image runs the removal: one the cluster can already pull, with a
	// shell and chroot (the chapter's own image has both).
	Image string
	// Done bounds the debugging Pod's whole run, pull included.
	Done, Poll time.Duration
	// Started is told of each privileged Pod kubectl debug made, as soon
	// as it says so: what the run made on the cluster is listed even when
	// the removal then fails.
	Started func(namespace, name, node string)
}

// debugPod is the line `kubectl debug node/...` prints when it has made
// its Pod.
var debugPod = regexp.MustCompile(`Creating debugging pod (\S+) with container`)

// ThroughNode removes the container from the Pod's node itself, the way an
// administrator without access to the node would: `kubectl debug
// node/NODE --profile=sysadmin` runs a privileged Pod on that node with the
// node's root at /host, which runs the node's own runtime tool under
// chroot, finding the container by its labels and force-removing it.
func ThroughNode(ctx context.Context, in NodePod, pod *corev1.Pod, container string, call time.Duration) (Removal, error) {
	id := containerID(pod, container)
	if id == "" {
		return Removal{}, fmt.Errorf("pod %s/%s has no running container %s yet", pod.Namespace, pod.Name, container)
	}
	scheme, raw, _ := strings.Cut(id, "://")
	filter := []string{containerLabel + "=" + container, namespaceLabel + "=" + pod.Namespace, podLabel + "=" + pod.Name}
	var script string
	switch scheme {
	case "containerd":
		script = fmt.Sprintf("ids=$(crictl --timeout %s ps --quiet --label %s); echo \"found: $ids\"; [ -n \"$ids\" ] && crictl --timeout %s rm --force $ids",
			call, strings.Join(filter, " --label "), call)
	case "docker":
		script = fmt.Sprintf("ids=$(docker container ls --quiet --no-trunc --filter label=%s); echo \"found: $ids\"; [ -n \"$ids\" ] && docker container rm --force $ids",
			strings.Join(filter, " --filter label="))
	default:
		return Removal{}, fmt.Errorf("%w: no way to remove a %q container from its node", ErrUnreachable, scheme)
	}
	r := Removal{Runtime: scheme, Path: "node pod"}
	said, cmd, err := onNode(ctx, in, pod.Spec.NodeName, script)
	r.Commands = []string{cmd}
	if err != nil {
		return r, err
	}
	if !strings.Contains(said, raw[:12]) {
		return r, fmt.Errorf("the debugging pod on node %s removed other containers than the Pod's %s: %s", pod.Spec.NodeName, Short(id), oneline.Collapse(said))
	}
	return r, nil
}

// onNode runs script on the node as root, the way an administrator without
// access to the node would: `kubectl debug node/NODE --profile=sysadmin`
// runs a privileged Pod there with the node's root at /host, and the script
// runs under chroot. It returns what the script printed and the command.
func onNode(ctx context.Context, in NodePod, node, script string) (said, command string, err error) {
	args := []string{"debug", "node/" + node, "--image=" + in.Image, "--profile=sysadmin", "--", "chroot", "/host", "sh", "-c", script}
	command = kubectl.Line(args...)
	out, err := in.Kubectl.Run(ctx, args...)
	if err != nil {
		var e *kubectl.Error
		if errors.As(err, &e) {
			in.started(e.Stdout+e.Stderr, node)
			if refusal(e.Said()) {
				return "", command, fmt.Errorf("%w: %s", ErrRefused, e.Said())
			}
		}
		return "", command, err
	}
	name := in.started(out.Stdout+out.Stderr, node)
	if name == "" {
		return "", command, fmt.Errorf("kubectl debug printed no debugging pod: %s", strings.TrimSpace(out.Stdout+out.Stderr))
	}
	done, err := waitFinished(ctx, in, name)
	if err != nil {
		return "", command, err
	}
	logs, _ := in.Clientset.CoreV1().Pods(in.Kubectl.Namespace).GetLogs(name, &corev1.PodLogOptions{}).DoRaw(ctx)
	said = strings.TrimSpace(string(logs))
	if done.Status.Phase != corev1.PodSucceeded {
		if strings.Contains(said, "not found") && (strings.Contains(said, "crictl") || strings.Contains(said, "docker")) && !strings.Contains(said, "found: ") && !strings.Contains(said, "held: ") {
			return said, command, fmt.Errorf("%w: node %s has no runtime tool: %s", ErrRefused, node, said)
		}
		return said, command, fmt.Errorf("the debugging pod %s on node %s failed: %s", name, node, oneline.Collapse(said))
	}
	return said, command, nil
}

// started reads the debugging Pod's name from what kubectl debug printed
// and tells Started of it; "" when it made none.
func (in NodePod) started(printed, node string) string {
	m := debugPod.FindStringSubmatch(printed)
	if m == nil {
		return ""
	}
	if in.Started != nil {
		in.Started(in.Kubectl.Namespace, m[1], node)
	}
	return m[1]
}

// refusal says an error is an admission policy refusing the Pod.
func refusal(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "podsecurity") || strings.Contains(m, "violates") || strings.Contains(m, "admission webhook") || strings.Contains(m, "forbidden: privileged")
}

// waitFinished waits until the debugging Pod has run to its end.
func waitFinished(ctx context.Context, in NodePod, name string) (*corev1.Pod, error) {
	var last *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, in.Poll, in.Done, true, func(ctx context.Context) (bool, error) {
		p, err := in.Clientset.CoreV1().Pods(in.Kubectl.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil // not there yet, or the API server's hiccup
		}
		last = p
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	if err == nil {
		return last, nil
	}
	state := "not seen"
	if last != nil {
		state = string(last.Status.Phase)
		for _, cs := range last.Status.ContainerStatuses {
			if cs.State.Waiting != nil {
				state += " (" + cs.State.Waiting.Reason + ": " + cs.State.Waiting.Message + ")"
			}
		}
	}
	return nil, fmt.Errorf("the debugging pod %s did not finish within %s: %s", name, in.Done, state)
}
