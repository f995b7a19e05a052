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

	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
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

// tool is a runtime's command-line tool where this machine reaches it:
// inside a kind node, through kind's node API (which runs `docker exec` in
// the node container), or this machine's own docker.
type tool struct {
	node nodes.Node // nil: this machine
	name string     // crictl or docker
}

// run runs the tool with a deadline a little past the runtime's own, so the
// runtime's answer, not a killed client, says what happened.
func (t tool) run(ctx context.Context, call time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, call+15*time.Second)
	defer cancel()
	if t.node == nil {
		return docker.Run(ctx, args...)
	}
	return cluster.InNode(ctx, t.node, t.name, args...)
}

// line is the command as a reader would type it on this machine.
func (t tool) line(args ...string) string {
	if t.node == nil {
		return "docker " + strings.Join(args, " ")
	}
	return "docker exec " + t.node.String() + " " + t.name + " " + strings.Join(args, " ")
}

// Local is what Probe found of this machine's access to a Pod's node's
// runtime: the facts Decide weighs, and what acting on them needs.
type Local struct {
	Reach
	Scheme string // the runtime the Pod's containerID names
	raw    string // the containerID without its scheme
	node   nodes.Node
}

// Probe finds what this machine reaches of the runtime of the Pod's node: a
// kind node container here (crictl, or the node's own docker, inside it),
// or this machine's Docker when the Pod is docker:// and that Docker holds
// its container (Docker Desktop). It only reads.
func Probe(ctx context.Context, pod *corev1.Pod, container string, call time.Duration) (Local, error) {
	id := containerID(pod, container)
	if id == "" {
		return Local{}, fmt.Errorf("pod %s/%s has no running container %s yet", pod.Namespace, pod.Name, container)
	}
	var l Local
	l.Scheme, l.raw, _ = strings.Cut(id, "://")
	if err := docker.Ping(ctx); err != nil {
		l.NoDocker = err.Error()
		return l, nil
	}
	l.node, l.KindNode = cluster.KindNode(ctx, pod.Spec.NodeName)
	if l.Scheme == "docker" && !l.KindNode {
		// Only Docker's own "no such container" says it does not hold it;
		// any other answer leaves the removal to say what is wrong.
		_, err := (tool{name: "docker"}).run(ctx, call, "container", "inspect", "--format", "{{.ID}}", l.raw)
		l.DockerHolds = err == nil || !strings.Contains(strings.ToLower(err.Error()), "no such")
	}
	return l, nil
}

// tool is the runtime's tool a FromHost path names.
func (l Local) tool(p Path) (tool, error) {
	if p.Way != FromHost {
		return tool{}, fmt.Errorf("%w: %s", ErrUnreachable, p.Why)
	}
	if p.InNode {
		if l.node == nil {
			return tool{}, fmt.Errorf("%w: node is not a kind node container here", ErrUnreachable)
		}
		return tool{node: l.node, name: p.Tool}, nil
	}
	return tool{name: p.Tool}, nil
}

// Remove removes the container along p, a FromHost path. Each runtime call
// is bounded by call (crictl's own default of 2 s is too short for a loaded
// node stopping a container).
func (l Local) Remove(ctx context.Context, pod *corev1.Pod, container string, p Path, call time.Duration) (Removal, error) {
	t, err := l.tool(p)
	if err != nil {
		return Removal{}, err
	}
	labels := []string{containerLabel + "=" + container, namespaceLabel + "=" + pod.Namespace, podLabel + "=" + pod.Name}
	if t.name == "crictl" {
		return viaCrictl(ctx, t, l.raw, labels, call)
	}
	return viaDocker(ctx, t, l.raw, labels, call)
}

// viaCrictl is the chapter's step on containerd, inside the kind node.
func viaCrictl(ctx context.Context, t tool, id string, labels []string, call time.Duration) (Removal, error) {
	crictl := func(args ...string) []string { return append([]string{"--timeout", call.String()}, args...) }
	r := Removal{Runtime: "containerd", Path: "host runtime"}
	find := crictl("ps", "--quiet")
	for _, l := range labels {
		find = append(find, "--label", l)
	}
	r.Commands = append(r.Commands, t.line(find...))
	found, err := t.run(ctx, call, find...)
	if err != nil {
		return r, err
	}
	if err := expectOne(found, id); err != nil {
		return r, err
	}
	rm := crictl("rm", "--force", id)
	r.Commands = append(r.Commands, t.line(rm...))
	_, rmErr := t.run(ctx, call, rm...)
	if rmErr == nil {
		return r, nil
	}
	// crictl's deadline may pass while containerd still stops and removes
	// the container: what counts is whether it is gone.
	if _, err := t.run(ctx, call, crictl("inspect", id)...); err != nil && strings.Contains(err.Error(), "not found") {
		r.Note = "the runtime reported " + oneline.First(rmErr.Error()) + ", and the container is gone"
		return r, nil
	}
	return r, rmErr
}

// viaDocker is the notes' command: ls by label, then rm -f.
func viaDocker(ctx context.Context, t tool, id string, labels []string, call time.Duration) (Removal, error) {
	r := Removal{Runtime: "docker", Path: "host runtime"}
	find := []string{"container", "ls", "--quiet", "--no-trunc"}
	for _, l := range labels {
		find = append(find, "--filter", "label="+l)
	}
	r.Commands = append(r.Commands, t.line(find...))
	found, err := t.run(ctx, call, find...)
	if err != nil {
		return r, err
	}
	if err := expectOne(found, id); err != nil {
		return r, err
	}
	rm := []string{"container", "rm", "--force", id}
	r.Commands = append(r.Commands, t.line(rm...))
	if _, err := t.run(ctx, call, rm...); err != nil {
		if _, ierr := t.run(ctx, call, "container", "inspect", id); ierr != nil && strings.Contains(strings.ToLower(ierr.Error()), "no such") {
			r.Note = "the runtime reported " + oneline.First(err.Error()) + ", and the container is gone"
			return r, nil
		}
		return r, err
	}
	return r, nil
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

// RunningID is the containerID of the Pod's running container of that
// name, "" when it has none running.
func RunningID(pod *corev1.Pod, container string) string { return containerID(pod, container) }

func containerID(pod *corev1.Pod, container string) string {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == container && cs.State.Running != nil {
			return cs.ContainerID
		}
	}
	return ""
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

// KubeletLog is what the kubelet of a kind node on this machine logged since
// a time about a pod (its UID) or a container, for a failed self-healing
// claim's evidence: whether the kubelet saw the container go. "" when the
// node is not a kind node here.
func KubeletLog(ctx context.Context, node string, since time.Time, match ...string) string {
	n, ok := cluster.KindNode(ctx, node)
	if !ok {
		return ""
	}
	out, err := cluster.InNode(ctx, n, "journalctl", "-u", "kubelet", "--no-pager", "-o", "short-precise",
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
