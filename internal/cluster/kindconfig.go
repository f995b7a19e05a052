package cluster

import (
	"fmt"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"

	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// ConfigInput is what decides the kind configuration of a cluster.
type ConfigInput struct {
	Airgap bool
	// Flavor is the air-gapped cluster's kind (its Kubernetes version and
	// node runtime); online, the version kind's node image runs, as far
	// as it is known (a zero Flavor: kind's default image).
	Flavor images.Flavor
	Nodes  int
	// HostCgroupV1: this machine's cgroups are v1, so a kubelet that
	// refuses cgroup v1 by default (v1.35 and later) must be told not to.
	HostCgroupV1 bool
}

// CgroupV1Override says the cluster's kubelets run on cgroup v1 only
// because their configuration says failCgroupV1: false.
func (in ConfigInput) CgroupV1Override() bool {
	return in.HostCgroupV1 && kubeletRefusesCgroupV1(in)
}

func kubeletRefusesCgroupV1(in ConfigInput) bool {
	if in.Flavor.KubernetesVersion == "" {
		// kind v0.33.0's default node image is v1.37.
		return true
	}
	return in.Flavor.KubeletRefusesCgroupV1()
}

// KindConfig is the cluster kind creates: IPv4; one control plane, then
// workers; air-gapped, no kindnetd (the node image's kiamol-cni stands in),
// Pods' DNS that cannot leave the machine, and a control plane that starts
// quickly.
func KindConfig(in ConfigInput) (*v1alpha4.Cluster, error) {
	c := &v1alpha4.Cluster{TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"}}
	c.Nodes = append(c.Nodes, v1alpha4.Node{Role: v1alpha4.ControlPlaneRole})
	for i := 1; i < max(in.Nodes, 1); i++ {
		c.Nodes = append(c.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole})
	}
	var docs []any
	if in.Airgap {
		c.Networking.IPFamily = v1alpha4.IPv4Family
		c.Networking.DisableDefaultCNI = true
		docs = append(docs, fastControlPlane())
		if in.Flavor.Runtime == "docker" {
			docs = append(docs, dockershimConfig(in.Flavor)...)
		}
	}
	docs = append(docs, kubeletConfig(in))
	for _, d := range docs {
		raw, err := yaml.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("kind configuration: %w", err)
		}
		c.KubeadmConfigPatches = append(c.KubeadmConfigPatches, string(raw))
	}
	return c, nil
}

// fastControlPlane starts the controllers without queueing: at its default
// 20 requests a second the controller manager spends about 5 s of a new
// cluster starting them one by one, and nothing (the node's pod CIDR,
// hence the node Ready; a namespace's default ServiceAccount) happens until
// all have started; and leader leases are retried every 0.5 s, not 2 s,
// once RBAC lets the controller manager and scheduler take them.
//
// The patches name no kubeadm API version, so they apply to whichever kind
// writes (v1beta3 before Kubernetes v1.36, v1beta4 from it), and extraArgs
// keep v1beta3's map form: kind merges such a patch's map into v1beta4's
// list of name/value pairs itself (sigs.k8s.io/kind pkg/internal/patch,
// "unversioned old-style patch"); a versioned patch would apply to that
// version's documents only, and silently to none on any other.
func fastControlPlane() any {
	return map[string]any{
		"kind": "ClusterConfiguration",
		"controllerManager": map[string]any{"extraArgs": map[string]string{
			"kube-api-qps": "200", "kube-api-burst": "300", "leader-elect-retry-period": "500ms"}},
		"scheduler": map[string]any{"extraArgs": map[string]string{"leader-elect-retry-period": "500ms"}},
	}
}

// dockershimConfig points kubeadm of a Docker-runtime cluster (the kubelet's
// dockershim, Kubernetes before v1.24) at the dockershim's socket, at the
// local registry by its name for the control plane's images (the node's
// Docker trusts it), and at the etcd and CoreDNS tags the flavor builds.
// kubeadm v1.23 takes only the socket's bare path as Docker.
func dockershimConfig(f images.Flavor) []any {
	registry := images.RegistryHost()
	node := map[string]any{"criSocket": "/var/run/dockershim.sock"}
	return []any{
		map[string]any{
			"kind":            "ClusterConfiguration",
			"imageRepository": registry,
			"dns":             map[string]any{"imageRepository": registry + "/coredns", "imageTag": f.CoreDNS.Tag},
			"etcd":            map[string]any{"local": map[string]any{"imageTag": f.Etcd.Tag}},
		},
		map[string]any{"kind": "InitConfiguration", "nodeRegistration": node},
		map[string]any{"kind": "JoinConfiguration", "nodeRegistration": node},
	}
}

// kubeletConfig: air-gapped Pods that inherit the node's DNS get a
// resolver that cannot leave the machine; verbosity 2 logs each PLEG event
// ("SyncLoop (PLEG): event for pod"), what a self-healing failure's
// evidence needs to show whether the kubelet saw the container go; and on a
// cgroup v1 host a kubelet of v1.35 or later is told to run anyway.
func kubeletConfig(in ConfigInput) any {
	k := map[string]any{
		"kind":    "KubeletConfiguration",
		"logging": map[string]any{"verbosity": 2},
	}
	if in.Airgap {
		k["resolvConf"] = "/kind/pod-resolv.conf"
	}
	if in.CgroupV1Override() {
		k["failCgroupV1"] = false
	}
	return k
}
