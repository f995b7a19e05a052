// Package clusterinfo describes the cluster a run checked (its version, each
// node's OS and container runtime, whether it is healthy) in the form the
// suite records in its report and cmd/verdict reads back: a distribution
// check is only worth something next to what was checked.
package clusterinfo

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// EntryName is the report entry that carries Info as JSON.
const EntryName = "cluster"

// HealthEntryName is a report entry, on any spec or suite node, whose value
// is one line saying how the cluster is broken (a node NotReady, the API
// server gone). The verdict shows it before anything else: a broken cluster
// explains every failure after it.
const HealthEntryName = "cluster health"

// PrivilegedEntryName is a report entry, on a spec, for each thing the run
// made on the cluster with privilege: a privileged Pod on a node, a
// namespace relabelled to admit one. Its value is a Privileged as JSON; the
// verdict's header lists each.
const PrivilegedEntryName = "privileged"

// Privileged is one thing the run made on the cluster with privilege.
type Privileged struct {
	// Pod is namespace/name of a privileged Pod (kubectl debug node/...
	// --profile=sysadmin), started on Node.
	Pod  string `json:"pod,omitempty"`
	Node string `json:"node,omitempty"`
	// Namespace is a namespace whose Label the run set (key=value), Was
	// what that key held before ("" for nothing).
	Namespace string `json:"namespace,omitempty"`
	Label     string `json:"label,omitempty"`
	Was       string `json:"was,omitempty"`
}

// JSON is the entry's value.
func (p Privileged) JSON() string {
	raw, _ := json.Marshal(p)
	return string(raw)
}

// Describe says it in one line.
func (p Privileged) Describe() string {
	if p.Pod != "" {
		return "privileged Pod " + p.Pod + " on node " + p.Node + " (kubectl debug node/" + p.Node + " --profile=sysadmin)"
	}
	was := "unset before"
	if p.Was != "" {
		was = "was " + p.Was
	}
	return "namespace " + p.Namespace + " labelled " + p.Label + " (" + was + ")"
}

// ParsePrivileged reads an entry's value back; ok is false for anything
// else.
func ParsePrivileged(value string) (Privileged, bool) {
	var p Privileged
	if json.Unmarshal([]byte(value), &p) != nil || (p.Pod == "" && p.Namespace == "") {
		return Privileged{}, false
	}
	return p, true
}

// Info is what the verdict shows about the cluster. The JSON names are read
// back from reports of earlier runs, so they do not change; fields added
// later are omitempty, so older readers see the shape they know.
type Info struct {
	Name     string `json:"name"` // kubeconfig context
	Server   string `json:"server"`
	Version  string `json:"version"`
	Existing bool   `json:"existing"` // true: the suite did not make it
	Images   string `json:"images"`   // airgap, online, or "" for an existing cluster
	Nodes    []Node `json:"nodes"`
	// Reused: a cluster kept from an earlier run (E2E_KEEP_CLUSTER), reused
	// rather than created by this run.
	Reused bool `json:"reused,omitempty"`
	// Distribution is what the nodes say the cluster is: kind, k3s,
	// minikube, Docker Desktop, EKS, GKE, AKS, or other.
	Distribution string `json:"distribution,omitempty"`
	// CNI is the network plugin, as far as kube-system's Pods tell.
	CNI string `json:"cni,omitempty"`
	// Health is "" when every node is Ready; otherwise one line saying
	// which node is not and why, e.g. "node kiamol-e2e-control-plane
	// NotReady: Kubelet stopped posting node status.".
	Health string `json:"health,omitempty"`
	// Inputs are what the run put in place of the book's own: a PASS on
	// other manifests or images proves something else.
	Inputs *Inputs `json:"inputs,omitempty"`
	// Ownership says, for an existing cluster, whether it is the suite's
	// own (kept by an earlier run) or not, and why, for the header: it
	// decides whether a privileged step may run without being asked.
	Ownership string `json:"ownership,omitempty"`
	// Kubectl is the version of the kubectl that ran the book's commands.
	Kubectl string `json:"kubectl,omitempty"`
}

// Inputs are the run's substitutions; the zero value is the book's own
// manifests (the suite's copy) and images, waits as measured, self-healing
// by whatever path reaches the runtime.
type Inputs struct {
	// Manifests is the folder MANIFESTS named; ManifestsHash the sha256 of
	// the chapter files read from it, in the descriptor's order.
	Manifests     string `json:"manifests,omitempty"`
	ManifestsHash string `json:"manifestsHash,omitempty"`
	// ReplaceImages are E2E_REPLACE_IMAGES: the book's image -> the one run.
	ReplaceImages map[string]string `json:"replaceImages,omitempty"`
	// TimeoutScale is E2E_TIMEOUT_SCALE when it is not 1.
	TimeoutScale float64 `json:"timeoutScale,omitempty"`
	// SelfHeal is the self-healing path when forced (host or node).
	SelfHeal string `json:"selfHeal,omitempty"`
}

// Describe says the inputs in one line; nil is the book's own.
func (in *Inputs) Describe() string {
	if in == nil {
		in = &Inputs{}
	}
	var parts []string
	if in.Manifests != "" {
		parts = append(parts, "manifests from "+in.Manifests+" (sha256 "+in.ManifestsHash+")")
	} else {
		parts = append(parts, "the book's manifests (the suite's copy)")
	}
	if len(in.ReplaceImages) > 0 {
		var pairs []string
		for from, to := range in.ReplaceImages {
			pairs = append(pairs, from+" → "+to)
		}
		sort.Strings(pairs)
		parts = append(parts, "images replaced: "+strings.Join(pairs, ", "))
	} else {
		parts = append(parts, "the book's images")
	}
	if in.TimeoutScale != 0 && in.TimeoutScale != 1 {
		parts = append(parts, fmt.Sprintf("every wait ×%g", in.TimeoutScale))
	}
	if in.SelfHeal != "" {
		parts = append(parts, "self-healing forced through: "+in.SelfHeal)
	}
	return strings.Join(parts, "; ")
}

// Node is one node's platform as the kubelet reports it.
type Node struct {
	Name    string `json:"name"`
	OSImage string `json:"osImage"`
	Kernel  string `json:"kernel"`
	Runtime string `json:"runtime"`
	Kubelet string `json:"kubelet"`
	// Cgroup is the cgroup version the kubelet runs on (CgroupV1,
	// CgroupV2), "" when nothing said it.
	Cgroup string `json:"cgroup,omitempty"`
	// CgroupV1Override: the kubelet runs on cgroup v1 only because its
	// configuration says failCgroupV1: false (v1.35 and later refuse v1
	// by default).
	CgroupV1Override bool `json:"cgroupV1Override,omitempty"`
	// Warnings are what the kubelet says of its runtime, a line each.
	Warnings []string `json:"warnings,omitempty"`
	// NotReal says what the node is when it is not a machine that runs
	// containers (NotReal), e.g. "kwok fake node (nothing runs on it)":
	// the rest of its platform is then what that stand-in reports.
	NotReal string `json:"notReal,omitempty"`
}

// kwokNodeAnnotation is what kwok marks its fake nodes with: kwokctl's
// node template sets it, and kwok's controller, as kwokctl starts it,
// manages exactly the nodes that carry it (its
// manageNodesWithAnnotationSelector, kwok.x-k8s.io/node=fake).
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

// NotReal says why a node, by what it reports of itself, runs nothing: ""
// for a node that shows no sign of being a stand-in. kwok's fake nodes
// carry its annotation, and report "kwok-<version>" as kubelet, runtime and
// kernel where their Node object says none (kwok's node-initialize stage):
// a controller writes their status and their Pods' as if a kubelet ran
// them, and no container runs anywhere.
func NotReal(n *corev1.Node) string {
	ni := n.Status.NodeInfo
	if n.Annotations[kwokNodeAnnotation] == "fake" || strings.HasPrefix(ni.KubeletVersion, "kwok-") ||
		strings.HasPrefix(ni.ContainerRuntimeVersion, "kwok-") {
		return "kwok fake node (nothing runs on it)"
	}
	return ""
}

// NotRealNodes says of each node that is not real, in name order, "node X
// is not a real node: why".
func (i Info) NotRealNodes() []string {
	var out []string
	for _, n := range i.Nodes {
		if n.NotReal != "" {
			out = append(out, "node "+n.Name+" is not a real node: "+n.NotReal)
		}
	}
	return out
}

// Read asks the cluster for its version and nodes.
func Read(ctx context.Context, cs kubernetes.Interface, name, server string) (Info, error) {
	info := Info{Name: name, Server: server}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return info, err
	}
	info.Version = v.GitVersion
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return info, err
	}
	for _, n := range nodes.Items {
		ni := n.Status.NodeInfo
		info.Nodes = append(info.Nodes, Node{Name: n.Name, OSImage: ni.OSImage, Kernel: ni.KernelVersion, Runtime: ni.ContainerRuntimeVersion, Kubelet: ni.KubeletVersion,
			NotReal: NotReal(&n)})
	}
	sort.Slice(info.Nodes, func(i, j int) bool { return info.Nodes[i].Name < info.Nodes[j].Name })
	info.readKubelets(ctx, cs)
	info.Health = Health(nodes.Items)
	info.Distribution = Distribution(nodes.Items)
	if pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err == nil {
		info.CNI = CNI(pods.Items)
	}
	return info, nil
}

// Distribution tells the distribution by what it writes on its nodes: the
// ones the book's readers run (Docker Desktop in its kubeadm and its kind
// modes, K3s and k3d, minikube, MicroK8s) and the managed clouds (the
// first node that tells, tells); kwok when no node says it is one of those
// and some node is kwok's fake.
func Distribution(nodes []corev1.Node) string {
	if d := realDistribution(nodes); d != "other" {
		return d
	}
	for i := range nodes {
		if NotReal(&nodes[i]) != "" {
			return "kwok"
		}
	}
	return "other"
}

func realDistribution(nodes []corev1.Node) string {
	for _, n := range nodes {
		if d := distributionOf(n); d != "" {
			return d
		}
	}
	return "other"
}

func distributionOf(n corev1.Node) string {
	providerID, kubelet := n.Spec.ProviderID, n.Status.NodeInfo.KubeletVersion
	switch {
	case strings.HasPrefix(providerID, "kind://docker/desktop/"):
		return "Docker Desktop (kind)"
	case strings.HasPrefix(providerID, "kind://"):
		return "kind"
	case isK3s(n) && strings.HasPrefix(n.Name, "k3d-"):
		return "k3d"
	case isK3s(n):
		return "k3s"
	case n.Labels["minikube.k8s.io/name"] != "":
		return "minikube"
	case n.Labels["microk8s.io/cluster"] != "":
		return "MicroK8s"
	case n.Name == "docker-desktop":
		return "Docker Desktop"
	// A provider ID alone names the cloud, not the distribution: kOps and
	// kubeadm clusters on EC2 or GCE carry aws:// and gce:// too. EKS
	// labels its managed nodes eks.amazonaws.com/... and builds its own
	// kubelet (v1.29.0-eks-5e0fdde); GKE labels every node with its pool
	// and builds v1.29.5-gke.1091000.
	case hasKeyPrefix(n.Labels, "eks.amazonaws.com/") || strings.Contains(kubelet, "-eks-"):
		return "EKS"
	case n.Labels["cloud.google.com/gke-nodepool"] != "" || strings.Contains(kubelet, "-gke."):
		return "GKE"
	case n.Labels["kubernetes.azure.com/cluster"] != "":
		return "AKS"
	}
	return ""
}

// k3sKubelet is K3s's build of the kubelet: v1.32.6+k3s1, and before v1.19
// v1.18.9-k3s1.
var k3sKubelet = regexp.MustCompile(`^v[0-9.]+[+-]k3s`)

// isK3s: K3s's own cloud provider gives every node the provider ID
// k3s://<node>; a node whose provider ID another cloud provider set still
// has K3s's kubelet and its k3s.io/ annotations.
func isK3s(n corev1.Node) bool {
	return strings.HasPrefix(n.Spec.ProviderID, "k3s://") || k3sKubelet.MatchString(n.Status.NodeInfo.KubeletVersion) ||
		n.Annotations["k3s.io/node-args"] != ""
}

func hasKeyPrefix(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// cniPods are the Pods (by name prefix) each network plugin runs.
var cniPods = []struct{ prefix, name string }{
	{"kindnet", "kindnet"}, {"calico-node", "Calico"}, {"cilium", "Cilium"}, {"kube-flannel", "flannel"},
	{"weave-net", "Weave Net"}, {"aws-node", "Amazon VPC CNI"}, {"azure-cns", "Azure CNI"}, {"canal", "Canal"},
	{"kube-router", "kube-router"}, {"antrea-agent", "Antrea"},
}

// CNI names the network plugin whose Pods run, "" when none does (a CNI
// configured on the nodes themselves, like the suite's air-gapped bridge).
func CNI(pods []corev1.Pod) string {
	for _, c := range cniPods {
		for _, p := range pods {
			if strings.HasPrefix(p.Name, c.prefix) {
				return c.name
			}
		}
	}
	return ""
}

// Health is "" when every node is Ready, else one line naming each node
// that is not, with the kubelet's (or node controller's) own message.
func Health(nodes []corev1.Node) string {
	if len(nodes) == 0 {
		return "the cluster has no nodes"
	}
	sorted := append([]corev1.Node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var problems []string
	for _, n := range sorted {
		if p := nodeProblem(n); p != "" {
			problems = append(problems, p)
		}
	}
	return strings.Join(problems, "; ")
}

func nodeProblem(n corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		if c.Status == corev1.ConditionTrue {
			return ""
		}
		// Unknown is what kubectl also shows as NotReady: the node
		// controller stopped hearing from the kubelet.
		msg := strings.Join(strings.Fields(c.Message), " ")
		if msg == "" {
			msg = fmt.Sprintf("Ready=%s", c.Status)
			if c.Reason != "" {
				msg += " (" + c.Reason + ")"
			}
		}
		return fmt.Sprintf("node %s NotReady: %s", n.Name, msg)
	}
	return fmt.Sprintf("node %s NotReady: it reports no Ready condition", n.Name)
}

// JSON is the entry's value: a string, so Ginkgo stores it verbatim.
func (i Info) JSON() string {
	raw, _ := json.Marshal(i)
	return string(raw)
}
