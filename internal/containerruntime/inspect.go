package containerruntime

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// Held is what a node's container runtime says of one of its containers,
// asked directly, the way the self-healing claims reach it: the ID it holds
// the container under, and what the runtime calls itself. It is the
// independent account of a Pod's containerID: the kubelet writes the ID,
// the runtime answers for it.
type Held struct {
	ID       string // the full ID the runtime holds the container under
	Runtime  string // containerd, docker: the runtime's own name for itself
	Version  string
	Path     string   // how the runtime was reached: "host runtime" or "node pod"
	Commands []string // as run
}

// Inspect asks the runtime along p, a FromHost path, for the Pod's
// container.
func (l Local) Inspect(ctx context.Context, p Path, call time.Duration) (Held, error) {
	t, err := l.tool(p)
	if err != nil {
		return Held{}, err
	}
	raw := l.raw
	h := Held{Path: "host runtime"}
	if t.name == "crictl" {
		inspect := []string{"--timeout", call.String(), "inspect", raw}
		version := []string{"--timeout", call.String(), "version"}
		h.Commands = []string{t.line(inspect...), t.line(version...)}
		out, err := t.run(ctx, call, inspect...)
		if err != nil {
			return h, fmt.Errorf("the node's containerd does not hold container %s: %w", Short(raw), err)
		}
		if h.ID, err = crictlStatusID(out); err != nil {
			return h, err
		}
		v, err := t.run(ctx, call, version...)
		if err != nil {
			return h, err
		}
		h.Runtime, h.Version = crictlVersion(v)
		return h, nil
	}
	inspect := []string{"container", "inspect", "--format", "{{.ID}}", raw}
	version := []string{"version", "--format", "{{.Server.Version}}"}
	h.Commands = []string{t.line(inspect...), t.line(version...)}
	out, err := t.run(ctx, call, inspect...)
	if err != nil {
		return h, fmt.Errorf("the node's Docker does not hold container %s: %w", Short(raw), err)
	}
	h.ID = strings.TrimSpace(out)
	v, err := t.run(ctx, call, version...)
	if err != nil {
		return h, err
	}
	h.Runtime, h.Version = "docker", strings.TrimSpace(v)
	return h, nil
}

// InspectThroughNode asks the runtime from the node itself: a privileged
// Pod on it (kubectl debug node/... --profile=sysadmin) runs the node's own
// runtime tool under chroot.
func InspectThroughNode(ctx context.Context, in NodePod, pod *corev1.Pod, container string, call time.Duration) (Held, error) {
	id := containerID(pod, container)
	if id == "" {
		return Held{}, fmt.Errorf("pod %s/%s has no running container %s yet", pod.Namespace, pod.Name, container)
	}
	scheme, raw, _ := strings.Cut(id, "://")
	var script string
	switch scheme {
	case "containerd":
		script = fmt.Sprintf(`crictl --timeout %s inspect --output go-template --template 'held: {{.status.id}}' %s && echo && crictl --timeout %s version`, call, raw, call)
	case "docker":
		script = fmt.Sprintf(`docker container inspect --format 'held: {{.ID}}' %s && docker version --format 'RuntimeName: docker
RuntimeVersion: {{.Server.Version}}'`, raw)
	default:
		return Held{}, fmt.Errorf("%w: no way to ask a %q runtime from its node", ErrUnreachable, scheme)
	}
	h := Held{Path: "node pod"}
	said, cmd, err := onNode(ctx, in, pod.Spec.NodeName, script)
	h.Commands = []string{cmd}
	if err != nil {
		return h, err
	}
	m := heldLine.FindStringSubmatch(said)
	if m == nil {
		return h, fmt.Errorf("the node's runtime does not hold container %s: %s", Short(raw), oneline.Collapse(said))
	}
	h.ID = m[1]
	h.Runtime, h.Version = crictlVersion(said)
	return h, nil
}

var heldLine = regexp.MustCompile(`(?m)^held: ([0-9a-f]+)`)

// crictlStatusID is the container ID in `crictl inspect`'s JSON.
func crictlStatusID(out string) (string, error) {
	var v struct {
		Status struct {
			ID string `json:"id"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Status.ID == "" {
		return "", fmt.Errorf("crictl inspect printed no container ID: %.120s", oneline.Collapse(out))
	}
	return v.Status.ID, nil
}

// crictlVersion reads `crictl version` ("RuntimeName:  containerd",
// "RuntimeVersion:  1.6.20"); the node-pod script prints the same shape for
// Docker.
func crictlVersion(out string) (name, version string) {
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "RuntimeName":
			name = strings.TrimSpace(v)
		case "RuntimeVersion":
			version = strings.TrimSpace(v)
		}
	}
	return name, version
}
