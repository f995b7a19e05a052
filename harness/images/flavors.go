package images

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Flavor is a kind of cluster the air-gapped build makes images for: which
// Kubernetes, which container runtime on the nodes, and the images the
// control plane then asks for.
type Flavor struct {
	// Name is the CLUSTER knob's value ("" and "kind" name the default).
	Name string
	// KubernetesVersion and Staging are the k8s.io/kubernetes release and
	// the k8s.io/* staging modules released with it.
	KubernetesVersion, Staging string
	// Runtime is the nodes' container runtime: "containerd", or "docker"
	// (Debian's Docker Engine, driven by the kubelet's built-in dockershim).
	Runtime string
	// Packages are Debian packages the node needs besides the common ones.
	Packages []string
	// PauseTag, EtcdTag, CoreDNSTag are the tags the control plane is told
	// to use (kubeadm's own choice for the default flavor).
	PauseTag, EtcdTag, CoreDNSTag string
}

// Flavors the build knows.
var (
	// Containerd is today's kind node: containerd 1.6, Kubernetes 1.34 (the
	// last release whose kubelet accepts this project's cgroup v1 hosts by
	// default).
	Containerd = Flavor{Name: "kind", KubernetesVersion: KubernetesVersion, Staging: KubernetesStaging, Runtime: "containerd",
		PauseTag: PauseTag, EtcdTag: "3.6.5-0", CoreDNSTag: CoreDNSVersion}
	// DockerRuntime is the book's own world (Docker Desktop, minikube's
	// Docker runtime): Kubernetes v1.23, the last release whose kubelet
	// runs containers through Docker itself (dockershim), on a node running
	// Debian's Docker Engine. Its control plane reuses the etcd and CoreDNS
	// built for the default flavor, as kubeadm allows.
	DockerRuntime = Flavor{Name: "docker-runtime", KubernetesVersion: "v1.23.17", Staging: "v0.23.17", Runtime: "docker",
		Packages: []string{"docker.io"}, PauseTag: "3.6", EtcdTag: "3.6.5-0", CoreDNSTag: CoreDNSVersion}
)

// FlavorNamed returns the flavor the CLUSTER knob names.
func FlavorNamed(name string) (Flavor, error) {
	switch strings.TrimSpace(name) {
	case "", "kind", "containerd":
		return Containerd, nil
	case DockerRuntime.Name:
		return DockerRuntime, nil
	}
	return Flavor{}, fmt.Errorf("CLUSTER=%q is not kind (default) or docker-runtime", name)
}

// IsDefault says whether f is the default flavor, whose files keep the
// names earlier versions gave them.
func (f Flavor) IsDefault() bool { return f.Name == Containerd.Name }

// BuiltPathOf is where the build records what it made for a flavor.
func BuiltPathOf(cache string, f Flavor) string {
	if f.IsDefault() {
		return BuiltPath(cache)
	}
	return filepath.Join(cache, "state", "built-"+f.Name+".json")
}
