// Package containerruntime removes a pod's container straight through the
// container runtime, behind Kubernetes' back, as the chapter does to show
// that a Pod outlives its container.
package containerruntime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/harness/docker"
)

// ErrUnreachable says this machine cannot talk to the pod's runtime (a
// remote node, an unknown runtime); specs skip, with the reason, on it.
var ErrUnreachable = errors.New("the container runtime is not reachable from here")

// Scheme is the runtime part of a containerID ("containerd", "docker").
func Scheme(containerID string) string {
	scheme, _, _ := strings.Cut(containerID, "://")
	return scheme
}

// Removal says how a container was removed, for the report.
type Removal struct {
	Runtime string
	Command string
}

// RemoveContainer force-removes the pod's first container:
//   - containerd:// on a kind node: `crictl rm -f` inside the node container
//     (on kind, a host-side `docker rm` would remove the whole node);
//   - docker:// (Docker Desktop, cri-dockerd): `docker container rm -f`.
func RemoveContainer(ctx context.Context, pod *corev1.Pod) (Removal, error) {
	if len(pod.Status.ContainerStatuses) == 0 || pod.Status.ContainerStatuses[0].ContainerID == "" {
		return Removal{}, fmt.Errorf("pod %s/%s has no container yet", pod.Namespace, pod.Name)
	}
	id := pod.Status.ContainerStatuses[0].ContainerID
	scheme, raw, _ := strings.Cut(id, "://")
	if docker.Ping(ctx) != nil {
		return Removal{}, fmt.Errorf("%w: no Docker engine on this machine to reach node %s", ErrUnreachable, pod.Spec.NodeName)
	}
	switch scheme {
	case "containerd":
		node := pod.Spec.NodeName
		if !isKindNode(ctx, node) {
			return Removal{}, fmt.Errorf("%w: node %s is not a kind node container on this machine", ErrUnreachable, node)
		}
		args := []string{"exec", node, "crictl", "rm", "--force", raw}
		if _, err := docker.Run(ctx, args...); err != nil {
			return Removal{}, err
		}
		return Removal{Runtime: scheme, Command: "docker " + strings.Join(args, " ")}, nil
	case "docker":
		args := []string{"container", "rm", "--force", raw}
		if _, err := docker.Run(ctx, args...); err != nil {
			return Removal{}, fmt.Errorf("%w: %v", ErrUnreachable, err)
		}
		return Removal{Runtime: scheme, Command: "docker " + strings.Join(args, " ")}, nil
	}
	return Removal{}, fmt.Errorf("%w: no way to remove a %q container", ErrUnreachable, scheme)
}

func isKindNode(ctx context.Context, name string) bool {
	out, err := docker.Run(ctx, "inspect", "--type", "container", "--format", `{{index .Config.Labels "io.x-k8s.kind.role"}}`, name)
	return err == nil && out != ""
}
