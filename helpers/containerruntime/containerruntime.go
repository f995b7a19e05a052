// Package containerruntime removes a Pod's container straight through the
// container runtime, behind Kubernetes' back, in the chapter's own shape:
// find the container by the label the runtime carries
// (io.kubernetes.container.name=NAME), then force-remove it:
//
//	docker container rm -f $(docker container ls -q --filter label=io.kubernetes.container.name=hello-kiamol)
//
// on a Docker runtime, and `crictl rm -f` on containerd. The filter also
// names the Pod's namespace and name: parallel specs each run a container
// of the same name.
package containerruntime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/harness/docker"
)

// ErrUnreachable says this machine cannot talk to the Pod's runtime (a
// remote node, an unknown runtime). On a cluster the suite did not make the
// claim is skipped with this reason; on its own cluster it is a failure.
var ErrUnreachable = errors.New("the container runtime is not reachable from here")

// Scheme is the runtime part of a containerID ("containerd", "docker").
func Scheme(containerID string) string {
	scheme, _, _ := strings.Cut(containerID, "://")
	return scheme
}

// Removal says how a container was removed, for the report.
type Removal struct {
	Runtime  string   // containerd or docker
	Path     string   // "host runtime" or "node pod": how the runtime was reached
	Commands []string // as run, in order: find, then remove
	// Note records a removal the runtime reported as failed or slow and
	// that was then found done (the old container is gone).
	Note string
}

// Labels the kubelet puts on every container it runs.
const (
	containerLabel = "io.kubernetes.container.name"
	podLabel       = "io.kubernetes.pod.name"
	namespaceLabel = "io.kubernetes.pod.namespace"
)

// Remove removes the container named container of pod through the runtime
// of the pod's node. Each runtime call is bounded by call (crictl's own
// default of 2 s is too short for a loaded node stopping a container).
func Remove(ctx context.Context, pod *corev1.Pod, container string, call time.Duration) (Removal, error) {
	id := containerID(pod, container)
	if id == "" {
		return Removal{}, fmt.Errorf("pod %s/%s has no running container %s yet", pod.Namespace, pod.Name, container)
	}
	scheme, raw, _ := strings.Cut(id, "://")
	if err := docker.Ping(ctx); err != nil {
		return Removal{}, fmt.Errorf("%w: no Docker engine on this machine to reach node %s (%v)", ErrUnreachable, pod.Spec.NodeName, err)
	}
	node := pod.Spec.NodeName
	kindNode := isKindNode(ctx, node)
	labels := []string{containerLabel + "=" + container, namespaceLabel + "=" + pod.Namespace, podLabel + "=" + pod.Name}
	switch {
	case scheme == "containerd" && kindNode:
		return viaCrictl(ctx, node, raw, labels, call)
	case scheme == "docker" && kindNode:
		// A node container running its own Docker engine (dockershim).
		return viaDocker(ctx, []string{"exec", node, "docker"}, raw, labels, call)
	case scheme == "docker":
		// Docker Desktop and the like: the node's engine is this
		// machine's, if this machine's Docker holds the container. A
		// minikube VM's or a remote node's Docker is reached from the node.
		if _, err := runBounded(ctx, call, "container", "inspect", "--format", "{{.ID}}", raw); err != nil && strings.Contains(strings.ToLower(err.Error()), "no such") {
			return Removal{}, fmt.Errorf("%w: this machine's Docker holds no container %s", ErrUnreachable, Short(raw))
		}
		return viaDocker(ctx, nil, raw, labels, call)
	case scheme == "containerd":
		return Removal{}, fmt.Errorf("%w: node %s is not a kind node container on this machine", ErrUnreachable, node)
	}
	return Removal{}, fmt.Errorf("%w: no way to remove a %q container", ErrUnreachable, scheme)
}

// viaCrictl is the chapter's step on containerd, inside the kind node.
func viaCrictl(ctx context.Context, node, id string, labels []string, call time.Duration) (Removal, error) {
	crictl := func(args ...string) []string {
		return append([]string{"exec", node, "crictl", "--timeout", call.String()}, args...)
	}
	r := Removal{Runtime: "containerd", Path: "host runtime"}
	find := crictl("ps", "--quiet")
	for _, l := range labels {
		find = append(find, "--label", l)
	}
	found, err := runBounded(ctx, call, find...)
	r.Commands = append(r.Commands, "docker "+strings.Join(find, " "))
	if err != nil {
		return r, err
	}
	if err := expectOne(found, id); err != nil {
		return r, err
	}
	rm := crictl("rm", "--force", id)
	r.Commands = append(r.Commands, "docker "+strings.Join(rm, " "))
	_, rmErr := runBounded(ctx, call, rm...)
	if rmErr == nil {
		return r, nil
	}
	// crictl's deadline may pass while containerd still stops and removes
	// the container: what counts is whether it is gone.
	if _, err := runBounded(ctx, call, crictl("inspect", id)...); err != nil && strings.Contains(err.Error(), "not found") {
		r.Note = "the runtime reported " + firstLine(rmErr.Error()) + ", and the container is gone"
		return r, nil
	}
	return r, rmErr
}

// viaDocker is the notes' command: ls by label, then rm -f. prefix runs the
// docker CLI elsewhere (inside a node container).
func viaDocker(ctx context.Context, prefix []string, id string, labels []string, call time.Duration) (Removal, error) {
	r := Removal{Runtime: "docker", Path: "host runtime"}
	find := append(append([]string{}, prefix...), "container", "ls", "--quiet", "--no-trunc")
	for _, l := range labels {
		find = append(find, "--filter", "label="+l)
	}
	r.Commands = append(r.Commands, "docker "+strings.Join(find, " "))
	found, err := runBounded(ctx, call, find...)
	if err != nil {
		return r, err
	}
	if err := expectOne(found, id); err != nil {
		return r, err
	}
	rm := append(append([]string{}, prefix...), "container", "rm", "--force", id)
	r.Commands = append(r.Commands, "docker "+strings.Join(rm, " "))
	if _, err := runBounded(ctx, call, rm...); err != nil {
		inspect := append(append([]string{}, prefix...), "container", "inspect", id)
		if _, ierr := runBounded(ctx, call, inspect...); ierr != nil && strings.Contains(strings.ToLower(ierr.Error()), "no such") {
			r.Note = "the runtime reported " + firstLine(err.Error()) + ", and the container is gone"
			return r, nil
		}
		return r, err
	}
	return r, nil
}

// runBounded runs docker with a deadline a little past the runtime's own,
// so the runtime's answer, not a killed client, says what happened.
func runBounded(ctx context.Context, call time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, call+15*time.Second)
	defer cancel()
	return docker.Run(ctx, args...)
}

// expectOne checks that the label filter found exactly the Pod's container,
// as the status reports it: anything else means the filter, or the chapter's
// way of finding the container, no longer holds.
func expectOne(found, id string) error {
	if _, raw, ok := strings.Cut(id, "://"); ok {
		id = raw
	}
	ids := strings.Fields(found)
	switch {
	case len(ids) == 1 && strings.HasPrefix(id, ids[0]):
		return nil
	case len(ids) == 0:
		return fmt.Errorf("the runtime lists no running container with the Pod's labels (the Pod's status says %s)", Short(id))
	}
	return fmt.Errorf("the runtime lists %d containers with the Pod's labels (%s), the Pod's status says %s", len(ids), strings.Join(ids, ", "), Short(id))
}

func containerID(pod *corev1.Pod, container string) string {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == container && cs.State.Running != nil {
			return cs.ContainerID
		}
	}
	return ""
}

func isKindNode(ctx context.Context, name string) bool {
	out, err := docker.Run(ctx, "inspect", "--type", "container", "--format", `{{index .Config.Labels "io.x-k8s.kind.role"}}`, name)
	return err == nil && out != "" && out != "<no value>"
}

// Short is the first 13 characters of a container ID, as crictl prints it.
func Short(id string) string {
	if _, raw, ok := strings.Cut(id, "://"); ok {
		id = raw
	}
	if len(id) > 13 {
		return id[:13]
	}
	return id
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// KubeletLog is what the kubelet of a kind node on this machine logged since
// a time about a pod (its UID) or a container, for a failed self-healing
// claim's evidence: whether the kubelet saw the container go. "" when the
// node is not a kind node here.
func KubeletLog(ctx context.Context, node string, since time.Time, match ...string) string {
	if !isKindNode(ctx, node) {
		return ""
	}
	out, err := docker.Run(ctx, "exec", node, "journalctl", "-u", "kubelet", "--no-pager", "-o", "short-precise",
		"--since", since.UTC().Format("2006-01-02 15:04:05"), "--utc")
	if err != nil {
		return "(kubelet log: " + err.Error() + ")"
	}
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		for _, m := range match {
			if m != "" && strings.Contains(l, m) {
				keep = append(keep, l)
				break
			}
		}
	}
	if len(keep) > 200 {
		keep = keep[len(keep)-200:]
	}
	return strings.Join(keep, "\n")
}
