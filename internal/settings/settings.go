// Package settings reads, in one place, the environment that decides which
// cluster the suite runs against and how, so that the Makefile's preflight
// and the suite itself can never read the same knob two different ways.
package settings

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// Env names. USE_EXISTING_CLUSTER and KUBECONFIG are the names
// controller-runtime's envtest and kubectl already taught users.
const (
	EnvExisting      = "E2E_USE_EXISTING_CLUSTER"
	EnvExistingShort = "USE_EXISTING_CLUSTER"
	EnvKubeconfig    = "KUBECONFIG"
	EnvContext       = "E2E_KUBE_CONTEXT"
	EnvClusterName   = "E2E_CLUSTER_NAME"
	EnvKeep          = "E2E_KEEP_CLUSTER"
	EnvK8sVersion    = "E2E_K8S_VERSION"
	EnvNodeImage     = "E2E_NODE_IMAGE"
	EnvManifests     = "E2E_MANIFESTS"
	EnvArtifacts     = "E2E_ARTIFACTS"
	EnvKubeconfigOut = "E2E_KUBECONFIG_OUT"
	EnvReplaceImages = "E2E_REPLACE_IMAGES"
	EnvKubectl       = "E2E_KUBECTL"
	EnvSelfHeal      = "E2E_SELF_HEAL"
	EnvNodes         = "E2E_NODES"
	EnvCluster       = "E2E_CLUSTER"
	EnvProgress      = "E2E_PROGRESS"
)

// How the self-healing claims reach the node's container runtime.
const (
	SelfHealAuto = "auto" // this machine's access when it has some; else a Pod on the node only on the suite's own cluster
	SelfHealHost = "host" // only this machine's access (Docker, a kind node container)
	SelfHealNode = "node" // only a privileged Pod on the node (kubectl debug node/...)
)

// DefaultClusterName is the kind cluster the suite makes.
const DefaultClusterName = "kiamol-e2e"

// Settings is what the environment asks for.
type Settings struct {
	// Existing: run against the cluster KUBECONFIG (and Context) names;
	// create nothing, build nothing.
	Existing    bool
	Kubeconfig  string // KUBECONFIG as given (may be a list); "" means ~/.kube/config
	Context     string // "" means the kubeconfig's current context
	ClusterName string
	Keep        bool
	K8sVersion  string // online mode: picks a pinned kind node image
	NodeImage   string // online mode: an explicit kind node image
	Manifests   string // a folder holding the chapter's pod.yaml and deployment.yaml
	Artifacts   string
	// KubeconfigOut is where a cluster the suite makes has its kubeconfig
	// written; "" means the cache folder.
	KubeconfigOut string
	// ReplaceImages runs the chapters with other images: the book's
	// reference -> the one to run instead, in the imperative commands and
	// the manifests alike (E2E_REPLACE_IMAGES='kiamol/ch02-hello-kiamol=my/build,...').
	ReplaceImages map[string]string
	// Kubectl is the kubectl binary built from go.mod's k8s.io/kubectl
	// ("" means: the suite builds it into the cache).
	Kubectl string
	// SelfHeal is auto, host or node (E2E_SELF_HEAL).
	SelfHeal string
	// Cluster is the kind of cluster the suite makes (E2E_CLUSTER): "" or
	// kind for today's kind node, docker-runtime for the book's own world
	// (Kubernetes v1.23, the kubelet driving Docker).
	Cluster string
	// Progress is a file each process appends a line to as each spec ends
	// (E2E_PROGRESS), for a runner that shows the run moving.
	Progress string
	// Nodes is how many nodes the suite's kind cluster has (E2E_NODES,
	// default 1): one control plane, the rest workers. 0 when the value
	// is not a number, which preflight refuses.
	Nodes int
}

// FromEnv reads the settings from the process environment.
func FromEnv() Settings {
	return Settings{
		Existing:      Truthy(os.Getenv(EnvExisting)) || Truthy(os.Getenv(EnvExistingShort)),
		Kubeconfig:    os.Getenv(EnvKubeconfig),
		Context:       os.Getenv(EnvContext),
		ClusterName:   or(os.Getenv(EnvClusterName), defaultName(os.Getenv(EnvCluster), os.Getenv(EnvK8sVersion))),
		Cluster:       strings.TrimSpace(os.Getenv(EnvCluster)),
		Keep:          Truthy(os.Getenv(EnvKeep)),
		K8sVersion:    os.Getenv(EnvK8sVersion),
		NodeImage:     os.Getenv(EnvNodeImage),
		Manifests:     os.Getenv(EnvManifests),
		Artifacts:     artifacts(os.Getenv(EnvArtifacts)),
		KubeconfigOut: os.Getenv(EnvKubeconfigOut),
		ReplaceImages: pairs(os.Getenv(EnvReplaceImages)),
		Kubectl:       os.Getenv(EnvKubectl),
		SelfHeal:      or(strings.ToLower(strings.TrimSpace(os.Getenv(EnvSelfHeal))), SelfHealAuto),
		Nodes:         nodes(os.Getenv(EnvNodes)),
		Progress:      os.Getenv(EnvProgress),
	}
}

func nodes(s string) int {
	if strings.TrimSpace(s) == "" {
		return 1
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// pairs reads "a=b,c=d"; an entry without "=" is kept with an empty value,
// so preflight can name it as malformed.
func pairs(s string) map[string]string {
	out := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out
}

// defaultName keeps each kind of cluster apart from the default one (the
// docker-runtime cluster, another Kubernetes version), so each can be kept,
// reused and taken down on its own: kiamol-e2e-docker-runtime,
// kiamol-e2e-v1.35.
func defaultName(cluster, version string) string {
	f, err := images.FlavorFor(cluster, version)
	switch {
	case err != nil || f.IsDefault():
		return DefaultClusterName
	case f.Name == images.DockerRuntime.Name:
		return DefaultClusterName + "-" + f.Name
	}
	return DefaultClusterName + "-" + f.Minor()
}

// Truthy reads a yes/no knob the way Make users write them.
func Truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "y", "on":
		return true
	}
	return false
}

// artifacts resolves the reports folder; the suite runs in e2e/, so its
// default is the repository's _artifacts.
func artifacts(dir string) string {
	if dir == "" {
		dir = "../_artifacts"
	}
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
