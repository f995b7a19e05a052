package images

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Component is a control-plane program built from a Go module: the module's
// version, and the image tag kubeadm asks for it under.
type Component struct {
	Version, Tag string
}

// Flavor is a kind of cluster the air-gapped build makes images for: which
// Kubernetes, which container runtime on the nodes, and the images its
// control plane then asks for.
type Flavor struct {
	// Name is the CLUSTER knob's value: "kind" (containerd nodes, kind's
	// own shape) or "docker-runtime".
	Name string
	// KubernetesVersion and Staging are the k8s.io/kubernetes release and
	// the k8s.io/* staging modules released with it.
	KubernetesVersion, Staging string
	// Runtime is the nodes' container runtime: "containerd", or "docker"
	// (Debian's Docker Engine, driven by the kubelet's built-in dockershim).
	Runtime string
	// Packages are Debian packages the node needs besides the common ones.
	Packages []string
	// PauseTag, Etcd and CoreDNS are what this release's kubeadm names
	// (`kubeadm config images list`; cmd/kubeadm/app/constants of the
	// release): the build makes each and the registry serves it under
	// that tag. The build checks the built kubeadm agrees.
	PauseTag      string
	Etcd, CoreDNS Component
	// GoToolchain is the Go that builds this release when it needs a newer
	// one than this machine's (the go command fetches it from the module
	// proxy); "" is this machine's own.
	GoToolchain string
	// PreRelease marks a release that is tried, not promised: kind
	// publishes no node image for it, and the matrix reports how far it
	// got.
	PreRelease bool
}

// Flavors the build knows, newest first. The containerd flavors are kind's
// node shape at each Kubernetes minor the suite runs; their node is Debian
// bookworm's containerd 1.6 (trixie's systemd drops cgroup v1, which this
// project's hosts are).
var (
	K8s138 = Flavor{Name: "kind", KubernetesVersion: "v1.38.0-beta.0", Staging: "v0.38.0-beta.0", Runtime: "containerd",
		PauseTag: "3.10.2", Etcd: Component{"v3.7.1", "3.7.1-0"}, CoreDNS: Component{"v1.15.0", "v1.15.0"},
		GoToolchain: "go1.27.3", PreRelease: true}
	K8s137 = Flavor{Name: "kind", KubernetesVersion: "v1.37.2", Staging: "v0.37.2", Runtime: "containerd",
		PauseTag: "3.10.2", Etcd: Component{"v3.7.0", "3.7.0-0"}, CoreDNS: Component{"v1.14.6", "v1.14.6"}}
	K8s136 = Flavor{Name: "kind", KubernetesVersion: "v1.36.3", Staging: "v0.36.3", Runtime: "containerd",
		PauseTag: "3.10.2", Etcd: Component{"v3.6.8", "3.6.8-0"}, CoreDNS: Component{"v1.14.2", "v1.14.2"}}
	K8s135 = Flavor{Name: "kind", KubernetesVersion: "v1.35.4", Staging: "v0.35.4", Runtime: "containerd",
		PauseTag: "3.10.1", Etcd: Component{"v3.6.6", "3.6.6-0"}, CoreDNS: Component{"v1.13.1", "v1.13.1"}}
	K8s134 = Flavor{Name: "kind", KubernetesVersion: "v1.34.4", Staging: "v0.34.4", Runtime: "containerd",
		PauseTag: "3.10.1", Etcd: Component{"v3.6.5", "3.6.5-0"}, CoreDNS: Component{"v1.12.1", "v1.12.1"}}
	// DockerRuntime is the book's own world (Docker Desktop, minikube's
	// Docker runtime): Kubernetes v1.23, the last release whose kubelet
	// runs containers through Docker itself (dockershim), on a node running
	// Debian's Docker Engine. Its kubeadm is told to use the etcd and
	// CoreDNS built for v1.34, as kubeadm allows, so that the flavor adds
	// only Kubernetes itself to the build.
	DockerRuntime = Flavor{Name: "docker-runtime", KubernetesVersion: "v1.23.17", Staging: "v0.23.17", Runtime: "docker",
		Packages: []string{"docker.io"}, PauseTag: "3.6", Etcd: K8s134.Etcd, CoreDNS: K8s134.CoreDNS}

	// Default is the cluster `make e2e` makes: kind's own default minor
	// (kind v0.33.0 makes v1.37 clusters).
	Default = K8s137

	Flavors = []Flavor{K8s138, K8s137, K8s136, K8s135, K8s134, DockerRuntime}
)

// Minor is the flavor's Kubernetes minor, "v1.37".
func (f Flavor) Minor() string {
	m := versionPattern.FindStringSubmatch(f.KubernetesVersion)
	if m == nil {
		return f.KubernetesVersion
	}
	return "v" + m[1]
}

// MinorNumber is NN of v1.NN.
func (f Flavor) MinorNumber() int {
	var n int
	fmt.Sscanf(f.Minor(), "v1.%d", &n)
	return n
}

// ID names the flavor in file names, records and the matrix: kind-v1.37,
// docker-runtime.
func (f Flavor) ID() string {
	if f.Name == DockerRuntime.Name {
		return f.Name
	}
	return f.Name + "-" + f.Minor()
}

// IsDefault says whether f is the flavor `make e2e` makes with no knob set.
func (f Flavor) IsDefault() bool { return f.ID() == Default.ID() }

// KubeletRefusesCgroupV1 says this release's kubelet will not start on a
// cgroup v1 host unless its configuration says failCgroupV1: false (the
// default turned true in v1.35).
func (f Flavor) KubeletRefusesCgroupV1() bool { return f.MinorNumber() >= 35 }

// TellsKubeadmImageTags says the cluster's kubeadm configuration names the
// etcd and CoreDNS tags (the Docker-runtime cluster reuses v1.34's); the
// other flavors run what their kubeadm names by itself.
func (f Flavor) TellsKubeadmImageTags() bool { return f.Runtime == "docker" }

// String is how logs name it: "kind-v1.37 (Kubernetes v1.37.2, containerd)".
func (f Flavor) String() string {
	s := fmt.Sprintf("%s (Kubernetes %s, %s", f.ID(), f.KubernetesVersion, f.Runtime)
	if f.PreRelease {
		s += ", a pre-release"
	}
	return s + ")"
}

// versionPattern reads v1.NN and v1.NN.P (the v optional, a pre-release
// suffix allowed).
var versionPattern = regexp.MustCompile(`^v?(1\.\d+)(\.\d+(?:-[0-9A-Za-z.]+)?)?$`)

// FlavorFor returns the flavor the CLUSTER and K8S_VERSION knobs name.
// version is v1.NN or its full v1.NN.P; "" is the cluster's default.
func FlavorFor(cluster, version string) (Flavor, error) {
	cluster, version = strings.TrimSpace(cluster), strings.TrimSpace(version)
	switch cluster {
	case "", "kind", "containerd":
		cluster = "kind"
	case DockerRuntime.Name:
	default:
		return Flavor{}, fmt.Errorf("CLUSTER=%q is not kind (default) or docker-runtime", cluster)
	}
	if version == "" {
		if cluster == DockerRuntime.Name {
			return DockerRuntime, nil
		}
		return Default, nil
	}
	m := versionPattern.FindStringSubmatch(version)
	if m == nil {
		return Flavor{}, fmt.Errorf("K8S_VERSION=%q is not a Kubernetes version like v1.36 or v1.36.3; built here: %s", version, builtHere())
	}
	for _, f := range Flavors {
		if f.Name != cluster || f.Minor() != "v"+m[1] {
			continue
		}
		if m[2] != "" && f.KubernetesVersion != "v"+m[1]+m[2] {
			return Flavor{}, fmt.Errorf("K8S_VERSION=%s: Kubernetes %s is built here at %s, not %s", version, f.Minor(), f.KubernetesVersion, "v"+m[1]+m[2])
		}
		return f, nil
	}
	if cluster == DockerRuntime.Name {
		return Flavor{}, fmt.Errorf("K8S_VERSION=%s: CLUSTER=docker-runtime is Kubernetes %s only", version, DockerRuntime.KubernetesVersion)
	}
	return Flavor{}, fmt.Errorf("K8S_VERSION=%s: no air-gapped cluster is built here for Kubernetes v%s; built here: %s", version, m[1], builtHere())
}

// builtHere lists the containerd flavors' versions, newest first.
func builtHere() string {
	var out []string
	for _, f := range Flavors {
		if f.Name == "kind" {
			s := f.Minor() + " (" + f.KubernetesVersion
			if f.PreRelease {
				s += ", pre-release"
			}
			out = append(out, s+")")
		}
	}
	return strings.Join(out, ", ")
}

// Minors are the released containerd flavors' minors, newest first: what
// online mode must offer too.
func Minors() []string {
	var out []string
	for _, f := range Flavors {
		if f.Name == "kind" && !f.PreRelease && !slices.Contains(out, f.Minor()) {
			out = append(out, f.Minor())
		}
	}
	return out
}

// BuiltPathOf is where the build records what it made for a flavor.
func BuiltPathOf(cache string, f Flavor) string {
	return filepath.Join(cache, "state", "built-"+f.ID()+".json")
}

// FlavorByID finds the flavor a cluster's record names. Records written
// before flavors had versions say "kind" (or nothing): those clusters ran
// v1.34.
func FlavorByID(id string) (Flavor, error) {
	switch id {
	case "", "kind", "containerd":
		return K8s134, nil
	}
	for _, f := range Flavors {
		if f.ID() == id {
			return f, nil
		}
	}
	return Flavor{}, fmt.Errorf("the cluster's record names %q, which this checkout does not build (known: %s)", id, strings.Join(flavorIDs(), ", "))
}

func flavorIDs() []string {
	var out []string
	for _, f := range Flavors {
		out = append(out, f.ID())
	}
	return out
}

// FlavorOfNodeImage tells the Kubernetes version of an online kind node
// image from its tag (kindest/node:v1.36.4@sha256:...): a flavor that
// carries that version only, for what depends on the version alone.
func FlavorOfNodeImage(image string) (Flavor, bool) {
	_, tag, ok := strings.Cut(image, ":")
	if !ok {
		return Flavor{}, false
	}
	tag, _, _ = strings.Cut(tag, "@")
	if !versionPattern.MatchString(tag) {
		return Flavor{}, false
	}
	return Flavor{Name: "kind", KubernetesVersion: tag, Runtime: "containerd"}, true
}
