package clusterinfo_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/internal/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// node is a Node object as a distribution publishes it: only the fields
// recognition and the self-healing path read.
type node struct {
	name, providerID         string
	labels, annotations      map[string]string
	osImage, kernel, runtime string
	kubelet                  string
}

func (n node) object() corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.name, Labels: n.labels, Annotations: n.annotations},
		Spec:       corev1.NodeSpec{ProviderID: n.providerID},
		Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{OSImage: n.osImage, KernelVersion: n.kernel,
			ContainerRuntimeVersion: n.runtime, KubeletVersion: n.kubelet}},
	}
}

// Where the suite runs from, as the self-healing decision sees it.
var (
	// A reader's laptop or a CI job with a kubeconfig and nothing else.
	kubeconfigOnly = containerruntime.Reach{NoDocker: "Docker is not installed (no docker on PATH)"}
	// A machine whose Docker answers but holds nothing of the node.
	dockerNotTheNodes = containerruntime.Reach{}
	// The node is a kind node container on this machine's Docker.
	kindNodeHere = containerruntime.Reach{KindNode: true}
	// This machine's Docker holds the Pod's container itself.
	dockerHoldsIt = containerruntime.Reach{DockerHolds: true}
)

// A path: from which seat, in which mode, which way the decision takes.
type path struct {
	seat string
	from containerruntime.Reach
	mode string
	want containerruntime.Way
}

const (
	auto = settings.SelfHealAuto
	host = settings.SelfHealHost
	opt  = settings.SelfHealNode
)

// Every distribution seen from a seat that does not reach its nodes: auto
// and host never start a Pod (the self-healing claims skip, INCOMPLETE),
// the opt-in does.
func unreachableFrom(seat string, r containerruntime.Reach) []path {
	return []path{
		{seat, r, auto, containerruntime.NotAsked},
		{seat, r, host, containerruntime.NotAsked},
		{seat, r, opt, containerruntime.FromNode},
	}
}

// The Node objects below carry only what their sources show; each source is
// cited beside its case. "index id N" is a document of the public code
// index this project's helpers search (find_string), whose repository the
// index does not name; each fact that decides recognition also has a named
// source.
var distributions = []struct {
	name  string
	nodes []node
	want  string
	paths []path
}{
	{
		// kind writes the kubelet's --provider-id as
		// kind://<provider>/<cluster>/<node>: kubernetes-sigs/kind,
		// pkg/cluster/internal/kubeadm/config.go (v0.33.0, the version go.mod
		// pins). Runtime and OS: this project's own node image.
		name: "kind (someone's kind cluster on this machine's Docker)",
		nodes: []node{{name: "dev-control-plane", providerID: "kind://docker/dev/dev-control-plane",
			osImage: "Debian GNU/Linux 12 (bookworm)", runtime: "containerd://1.7.27", kubelet: "v1.34.4"}},
		want: "kind",
		paths: []path{
			{"this machine, which runs the node container", kindNodeHere, auto, containerruntime.FromHost},
			{"this machine, which runs the node container", kindNodeHere, host, containerruntime.FromHost},
			{"this machine, which runs the node container", kindNodeHere, opt, containerruntime.FromNode},
		},
	},
	{
		// K3s before v1.19 tagged its kubelet with a hyphen: kubectl describe
		// node in lgirdk/meta-virtualization, recipes-containers/k3s/README.md
		// (kubelet v1.18.9-k3s1, runtime containerd://1.4.1-4-ge44e8ebea.m,
		// providerID k3s://qemux86-64, label node.kubernetes.io/instance-type=k3s,
		// annotation k3s.io/node-args ["server"]). Recognition used to read
		// only "+k3s" in the kubelet version and called this node "other".
		name: "K3s v1.18 (a -k3s1 kubelet)",
		nodes: []node{{name: "qemux86-64", providerID: "k3s://qemux86-64",
			labels:      map[string]string{"node.kubernetes.io/instance-type": "k3s", "k3s.io/hostname": "qemux86-64", "node-role.kubernetes.io/master": "true"},
			annotations: map[string]string{"k3s.io/node-args": `["server"]`, "k3s.io/node-env": "{}"},
			osImage:     "Poky (Yocto Project Reference Distro) 3.2+snapshot-20201105 (master)", kernel: "5.8.13-yocto-standard",
			runtime: "containerd://1.4.1-4-ge44e8ebea.m", kubelet: "v1.18.9-k3s1"}},
		want:  "k3s",
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
	{
		// K3s's cloud provider sets providerID "k3s://" + node name and
		// instance type "k3s": k3s-io/k3s, pkg/cloudprovider/instances.go
		// (InstanceMetadata). Its version is the release tag, vX.Y.Z+k3sN:
		// k3s-io/k3s, scripts/version.sh. A v1.32.6+k3s1 node in
		// qipan2333/qipanis, docs/notes/k8s/k3s/02-Install.md; containerd
		// 1.7.6-k3s1.27 on a v1.27.6+k3s1 node: index id 16593571950.
		name: "K3s",
		nodes: []node{{name: "qp-k3s-1", providerID: "k3s://qp-k3s-1",
			labels:      map[string]string{"node.kubernetes.io/instance-type": "k3s", "node-role.kubernetes.io/control-plane": "true"},
			annotations: map[string]string{"k3s.io/node-args": `["server"]`, "k3s.io/internal-ip": "192.168.100.116"},
			osImage:     "Ubuntu 22.04.3 LTS", runtime: "containerd://1.7.6-k3s1.27", kubelet: "v1.32.6+k3s1"}},
		want: "k3s",
		paths: append(unreachableFrom("a laptop", kubeconfigOnly),
			// K3s on this very machine is not a kind node: nothing here reaches it.
			path{"the K3s host itself, its Docker running", dockerNotTheNodes, auto, containerruntime.NotAsked}),
	},
	{
		// k3d names each node container, and so the K3s node, k3d-<cluster>-
		// <role>-<n>: k3d-io/k3d, pkg/client/cluster.go (GenerateNodeName,
		// prefix "k3d" from pkg/types). A k3d server node: kubelet
		// v1.27.7+k3s1, OS "K3s dev", runtime containerd://1.7.7-k3s1.27,
		// index id 22132865590. The providerID is K3s's (above).
		name: "k3d",
		nodes: []node{{name: "k3d-vault-cluster-server-0", providerID: "k3s://k3d-vault-cluster-server-0",
			labels:  map[string]string{"node.kubernetes.io/instance-type": "k3s"},
			osImage: "K3s dev", kernel: "5.15.133.1-microsoft-standard-WSL2", runtime: "containerd://1.7.7-k3s1.27", kubelet: "v1.27.7+k3s1"}},
		want: "k3d",
		// k3d's nodes are containers of this machine's Docker, but not kind
		// nodes: the suite does not exec into them.
		paths: unreachableFrom("this machine, which runs the k3d containers", dockerNotTheNodes),
	},
	{
		// minikube labels every node minikube.k8s.io/{version,commit,name,
		// updated_at}: kubernetes/minikube,
		// pkg/minikube/bootstrapper/kubeadm/kubeadm.go (applyNodeLabels).
		// A v1.36.0 node with the Docker runtime through cri-dockerd
		// (annotation kubeadm.alpha.kubernetes.io/cri-socket
		// unix:///var/run/cri-dockerd.sock): index id 9859989213. The
		// kubelet reports the runtime as <name>://<version>:
		// kubernetes/kubernetes, pkg/kubelet/nodestatus/setters.go.
		name: "minikube, Docker runtime",
		nodes: []node{{name: "minikube",
			labels: map[string]string{"minikube.k8s.io/name": "minikube", "minikube.k8s.io/primary": "true",
				"minikube.k8s.io/version": "v1.36.0", "minikube.k8s.io/updated_at": "2025_06_18T15_29_11_0700"},
			annotations: map[string]string{"kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/cri-dockerd.sock"},
			osImage:     "Ubuntu 22.04.5 LTS", runtime: "docker://28.1.1", kubelet: "v1.33.1"}},
		want: "minikube",
		paths: append(
			// The Pods' containers are in the Docker inside minikube's node,
			// not in this machine's.
			unreachableFrom("this machine", dockerNotTheNodes),
			// With `eval $(minikube docker-env)` this machine's docker CLI
			// talks to that Docker: it holds the container.
			path{"this machine after minikube docker-env", dockerHoldsIt, auto, containerruntime.FromHost}),
	},
	{
		// The same labels (kubeadm.go above); with --container-runtime=containerd
		// the kubelet reports containerd://<version> (setters.go above).
		name: "minikube, containerd runtime",
		nodes: []node{{name: "minikube", labels: map[string]string{"minikube.k8s.io/name": "minikube", "minikube.k8s.io/primary": "true"},
			osImage: "Buildroot 2023.02.9", runtime: "containerd://1.7.23", kubelet: "v1.32.0"},
			// a second node: older minikube labelled only the first
			{name: "minikube-m02", runtime: "containerd://1.7.23", kubelet: "v1.32.0"}},
		want:  "minikube",
		paths: unreachableFrom("this machine", dockerNotTheNodes),
	},
	{
		// MicroK8s's kubelet arguments label each node microk8s.io/cluster=true
		// and node.kubernetes.io/microk8s-controlplane, and point it at the
		// snap's containerd: canonical/microk8s,
		// microk8s-resources/default-args/kubelet. Kubelet v1.27.2 on such
		// nodes: index id 623748028.
		name: "MicroK8s",
		nodes: []node{{name: "ubuntua",
			labels:  map[string]string{"microk8s.io/cluster": "true", "node.kubernetes.io/microk8s-controlplane": "microk8s-controlplane"},
			osImage: "Ubuntu 22.04.2 LTS", runtime: "containerd://1.6.15", kubelet: "v1.27.2"}},
		want: "MicroK8s",
		// With the opt-in the Pod starts; MicroK8s has no crictl under the
		// node's root, and the removal then says so (ErrRefused): skipped.
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
	{
		// Docker Desktop's kubeadm mode: one node named docker-desktop
		// (docker/docs, content/manuals/desktop/features/kubernetes.md;
		// https://www.docker.com/blog/how-kubernetes-works-under-the-hood-with-docker-desktop/
		// for kubeadm). Its nodeInfo: OS "Docker Desktop", runtime
		// docker://29.1.3, kubelet v1.34.1, a WSL2 kernel: index id
		// 65943073855.
		name: "Docker Desktop, kubeadm mode",
		nodes: []node{{name: "docker-desktop", osImage: "Docker Desktop", kernel: "6.6.87.2-microsoft-standard-WSL2",
			runtime: "docker://29.1.3", kubelet: "v1.34.1"}},
		want: "Docker Desktop",
		paths: []path{
			// The book's own way: this machine's docker holds the container.
			{"the Docker Desktop machine", dockerHoldsIt, auto, containerruntime.FromHost},
			{"the Docker Desktop machine", dockerHoldsIt, host, containerruntime.FromHost},
			{"the Docker Desktop machine", dockerHoldsIt, opt, containerruntime.FromNode},
			{"another machine with the kubeconfig", kubeconfigOnly, auto, containerruntime.NotAsked},
		},
	},
	{
		// Docker Desktop 4.38 and later can provision with kind
		// (https://github.com/docker/docs/pull/22107, "cluster provisioning
		// method"): nodes desktop-control-plane and desktop-worker, providerID
		// kind://docker/desktop/desktop-control-plane, OS Debian GNU/Linux 12,
		// runtime containerd://2.1.1, kubelet v1.33.1, a linuxkit kernel:
		// index id 67254184214.
		name: "Docker Desktop, kind mode",
		nodes: []node{{name: "desktop-control-plane", providerID: "kind://docker/desktop/desktop-control-plane",
			labels:  map[string]string{"node-role.kubernetes.io/control-plane": ""},
			osImage: "Debian GNU/Linux 12 (bookworm)", kernel: "6.10.14-linuxkit", runtime: "containerd://2.1.1", kubelet: "v1.33.1"}},
		want: "Docker Desktop (kind)",
		paths: append(
			// where kind's provider lists Docker Desktop's node containers
			[]path{{"the Docker Desktop machine, its nodes listed by kind", kindNodeHere, auto, containerruntime.FromHost}},
			// where it does not (Docker Desktop hides its system containers)
			unreachableFrom("the Docker Desktop machine, its nodes hidden", dockerNotTheNodes)...),
	},
	{
		// EKS labels its managed nodes eks.amazonaws.com/...
		// (https://docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html).
		// A managed node: labels eks.amazonaws.com/nodegroup and
		// nodegroup-image, providerID aws:///us-east-2c/i-0a99d3bb7b27d62ac:
		// index id 6838911217.
		name: "EKS, managed node group",
		nodes: []node{{name: "ip-10-0-105-29.us-east-2.compute.internal", providerID: "aws:///us-east-2c/i-0a99d3bb7b27d62ac",
			labels:  map[string]string{"eks.amazonaws.com/nodegroup": "qovery-dmubm9agk7sr8a8r-1", "eks.amazonaws.com/nodegroup-image": "ami-0f8d6052f6e3a19d2"},
			osImage: "Amazon Linux 2", runtime: "containerd://1.7.11", kubelet: "v1.29.0-eks-5e0fdde"}},
		want:  "EKS",
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
	{
		// A self-managed EKS node (no nodegroup label): kubelet
		// v1.29.0-eks-5e0fdde, OS Amazon Linux 2, runtime containerd://1.7.11,
		// providerID aws:///us-west-1a/i-0874068c9ab354407: index id
		// 11626762312.
		name: "EKS, self-managed node",
		nodes: []node{{name: "ip-192-168-1-128.us-west-1.compute.internal", providerID: "aws:///us-west-1a/i-0874068c9ab354407",
			labels:  map[string]string{"node.kubernetes.io/instance-type": "m5.2xlarge", "topology.kubernetes.io/region": "us-west-1"},
			osImage: "Amazon Linux 2", kernel: "5.10.210-201.852.amzn2.x86_64", runtime: "containerd://1.7.11", kubelet: "v1.29.0-eks-5e0fdde"}},
		want:  "EKS",
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
	{
		// kOps on AWS is not EKS: its nodes carry kops.k8s.io/instancegroup
		// (index id 10956358006, kubelet v1.18.14) and the aws:/// provider ID
		// the AWS cloud provider gives every EC2 node
		// (kubernetes/cloud-provider-aws). Recognition used to call any
		// aws:// node EKS.
		name: "kOps on AWS",
		nodes: []node{{name: "ip-172-20-40-101.ec2.internal", providerID: "aws:///us-east-1a/i-0d7f0a4e1c2b3a495",
			labels:  map[string]string{"kops.k8s.io/instancegroup": "nodes", "node.kubernetes.io/instance-type": "t2.micro"},
			runtime: "docker://19.3.13", kubelet: "v1.18.14"}},
		want:  "other",
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
	{
		// GKE labels every node with its pool, cloud.google.com/gke-nodepool
		// (isabella232/nodepool-labels-operator, README.md: the label GKE
		// sets). A GKE node: labels gke-nodepool=default-pool and
		// gke-os-distribution=cos, providerID gce://<project>/<zone>/<node>,
		// OS Container-Optimized OS from Google, kubelet
		// v1.29.5-gke.1091000, runtime containerd://1.7.13: index id
		// 58862466657.
		name: "GKE",
		nodes: []node{{name: "gke-demo-default-pool-5f2a1b3c-x1y2", providerID: "gce://mantis-demo-project/us-central1-a/gke-demo-default-pool-5f2a1b3c-x1y2",
			labels:  map[string]string{"cloud.google.com/gke-nodepool": "default-pool", "cloud.google.com/gke-os-distribution": "cos"},
			osImage: "Container-Optimized OS from Google", kernel: "6.1.85+", runtime: "containerd://1.7.13", kubelet: "v1.29.5-gke.1091000"}},
		want:  "GKE",
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
	{
		// A node on GCE that GKE did not make: Kubernetes' own documentation
		// shows one (kubernetes-node-861h, providerID
		// gce://striped-torus-760/us-central1-b/kubernetes-node-861h, no GKE
		// label): https://kubernetes.io/docs/tasks/debug/debug-cluster/
		// (index id 3525887047).
		name: "Kubernetes on GCE, not GKE",
		nodes: []node{{name: "kubernetes-node-861h", providerID: "gce://striped-torus-760/us-central1-b/kubernetes-node-861h",
			labels:  map[string]string{"kubernetes.io/hostname": "kubernetes-node-861h"},
			osImage: "Debian GNU/Linux 7 (wheezy)", runtime: "docker://Unknown", kubelet: "v0.21.1-185-gffc5a86098dc01"}},
		want:  "other",
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
	{
		// AKS labels each node kubernetes.azure.com/cluster=MC_<group>_<cluster>_<region>
		// and kubernetes.azure.com/agentpool; providerID
		// azure:///subscriptions/.../virtualMachineScaleSets/<pool>/virtualMachines/<n>;
		// runtime containerd://1.7.1+azure-1, kubelet v1.25.6, OS Ubuntu
		// 22.04.2 LTS: index id 35139063451.
		name: "AKS",
		nodes: []node{{name: "aks-node1-33040483-vmss000000",
			providerID: "azure:///subscriptions/4cec99f2-dcb1-40e5-b292-66072a2186b8/resourceGroups/mc_practica2rg_aks01_uksouth/providers/Microsoft.Compute/virtualMachineScaleSets/aks-node1-33040483-vmss/virtualMachines/0",
			labels: map[string]string{"kubernetes.azure.com/cluster": "MC_practica2rg_aks01_uksouth", "kubernetes.azure.com/agentpool": "node1",
				"agentpool": "node1", "kubernetes.azure.com/role": "agent"},
			osImage: "Ubuntu 22.04.2 LTS", kernel: "5.15.0-1041-azure", runtime: "containerd://1.7.1+azure-1", kubelet: "v1.25.6"}},
		want:  "AKS",
		paths: unreachableFrom("a laptop", kubeconfigOnly),
	},
}

func TestDistributionsAsTheirNodesReportThem(t *testing.T) {
	for _, d := range distributions {
		t.Run(d.name, func(t *testing.T) {
			var objects []corev1.Node
			for _, n := range d.nodes {
				objects = append(objects, n.object())
			}
			if got := clusterinfo.Distribution(objects); got != d.want {
				t.Errorf("recognised as %q, want %q", got, d.want)
			}
			// Each node alone tells the same, but for a node that carries
			// nothing (older minikube's second node).
			for _, n := range objects {
				if got := clusterinfo.Distribution([]corev1.Node{n}); got != d.want && got != "other" {
					t.Errorf("node %s alone: %q", n.Name, got)
				}
			}
		})
	}
}

// The self-healing path each distribution gets, on a cluster the suite did
// not make, from where a reader runs the suite: the scheme is what the
// node's kubelet reports running.
func TestSelfHealingPathOfEachDistribution(t *testing.T) {
	for _, d := range distributions {
		n := d.nodes[0]
		for _, p := range d.paths {
			t.Run(d.name+"/"+p.seat+"/"+p.mode, func(t *testing.T) {
				got := containerruntime.Decide(containerruntime.Situation{Mode: p.mode, Node: n.name,
					Scheme: containerruntime.Scheme(n.runtime), Reach: p.from})
				if got.Way != p.want {
					t.Errorf("%v (%s), want %v", got.Way, got.Why, p.want)
				}
			})
		}
	}
}
