package clusterinfo

import (
	"bufio"
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cgroup versions as a node's kubelet runs on them.
const (
	CgroupV1 = "v1"
	CgroupV2 = "v2"
)

// kubeletCall bounds each read of a kubelet through the API server.
const kubeletCall = 5 * time.Second

// KubeletFacts is what a node's kubelet says of its host and runtime,
// read through the API server (nodes/proxy: its metrics) or, failing
// that, from the events it posts.
type KubeletFacts struct {
	Cgroup string // CgroupV1, CgroupV2, or "" when it could not be read
	// LosesSupportIn is the Kubernetes release the kubelet says the node's
	// container runtime loses support in (it does not answer the CRI
	// RuntimeConfig call, and the kubelet falls back to its own cgroup
	// driver setting); "" when it says nothing.
	LosesSupportIn string
	// Source says where the facts came from, for the header.
	Source string
}

// ReadKubelet asks the node's kubelet, through the API server, for its
// cgroup version and what it says of its runtime. A cluster that does not let this user proxy to its kubelets
// (nodes/proxy) still shows the cgroup v1 warning the kubelet posts on its
// Node at start, while that event lasts.
func ReadKubelet(ctx context.Context, cs kubernetes.Interface, node string) KubeletFacts {
	var k KubeletFacts
	rc := cs.CoreV1().RESTClient()
	call := func(path string) ([]byte, error) {
		if c, ok := rc.(*rest.RESTClient); !ok || c == nil {
			// client-go's fake clientset has no REST client.
			return nil, fmt.Errorf("no REST client")
		}
		ctx, cancel := context.WithTimeout(ctx, kubeletCall)
		defer cancel()
		return rc.Get().AbsPath("/api/v1/nodes", node, "proxy", path).DoRaw(ctx)
	}
	if raw, err := call("metrics"); err == nil {
		k.Cgroup, k.LosesSupportIn = parseKubeletMetrics(string(raw))
		k.Source = "the kubelet's metrics"
	}
	if k.Cgroup == "" {
		ctx, cancel := context.WithTimeout(ctx, kubeletCall)
		defer cancel()
		events, err := cs.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=Node,involvedObject.name=" + node + ",reason=" + cgroupV1Event})
		if err == nil && len(events.Items) > 0 {
			k.Cgroup, k.Source = CgroupV1, "the kubelet's "+cgroupV1Event+" event"
		}
	}
	return k
}

// cgroupV1Event is the reason of the warning a kubelet (v1.31 and later)
// posts on its Node when it starts on a cgroup v1 host.
const cgroupV1Event = "CgroupV1"

var (
	cgroupMetric = regexp.MustCompile(`^kubelet_cgroup_version\s+([0-9.]+)`)
	losingMetric = regexp.MustCompile(`^kubelet_cri_losing_support\{[^}]*version="([^"]+)"[^}]*\}\s+([0-9.]+)`)
)

// parseKubeletMetrics reads the two gauges that matter here from a
// kubelet's Prometheus text.
func parseKubeletMetrics(text string) (cgroup, losesSupportIn string) {
	s := bufio.NewScanner(strings.NewReader(text))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		line := s.Text()
		if m := cgroupMetric.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "1":
				cgroup = CgroupV1
			case "2":
				cgroup = CgroupV2
			}
		}
		if m := losingMetric.FindStringSubmatch(line); m != nil && m[2] != "0" {
			losesSupportIn = m[1]
		}
	}
	return cgroup, losesSupportIn
}

// applyKubelet puts a kubelet's facts on its node. A kubelet of v1.35 or
// later runs on cgroup v1 only by failCgroupV1: false, so one that runs on
// v1 is shown with that override; an older one's false is its default.
func (n *Node) applyKubelet(k KubeletFacts) {
	n.Cgroup = k.Cgroup
	n.CgroupV1Override = k.Cgroup == CgroupV1 && refusesCgroupV1ByDefault(n.Kubelet)
	if k.LosesSupportIn != "" {
		n.Warnings = append(n.Warnings, fmt.Sprintf("the container runtime does not answer the CRI RuntimeConfig call; the kubelet uses its own cgroup driver setting and says this runtime loses support in Kubernetes %s", k.LosesSupportIn))
	}
}

// refusesCgroupV1ByDefault says a kubelet version defaults failCgroupV1 to
// true (v1.35 and later).
func refusesCgroupV1ByDefault(kubelet string) bool {
	minor, ok := minorOf(kubelet)
	return ok && minor >= 35
}

// minorOf is NN of v1.NN..., false when the version is not of that shape.
func minorOf(version string) (int, bool) {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(version, "v"), "%d.%d", &major, &minor); err != nil || major != 1 {
		return 0, false
	}
	return minor, true
}

// readKubelets fills in each node's kubelet facts.
func (i *Info) readKubelets(ctx context.Context, cs kubernetes.Interface) {
	for idx := range i.Nodes {
		i.Nodes[idx].applyKubelet(ReadKubelet(ctx, cs, i.Nodes[idx].Name))
	}
}

// NodesShareHostCgroups fills in the cgroup version of the nodes whose
// kubelet did not say it, for a cluster whose nodes are containers on
// this machine (kind's): they run on this kernel's cgroups.
func (i *Info) NodesShareHostCgroups(hostV1 bool) {
	v := CgroupV2
	if hostV1 {
		v = CgroupV1
	}
	for idx := range i.Nodes {
		if n := &i.Nodes[idx]; n.Cgroup == "" {
			n.applyKubelet(KubeletFacts{Cgroup: v})
		}
	}
}
