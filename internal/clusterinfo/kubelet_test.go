package clusterinfo

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// Lines as a v1.37 kubelet on containerd 1.6 and cgroup v1 serves them.
const kubeletMetrics = `# HELP kubelet_cgroup_version [ALPHA] cgroup version on the hosts.
# TYPE kubelet_cgroup_version gauge
kubelet_cgroup_version 1
# HELP kubelet_cri_losing_support [ALPHA] the Kubernetes version that the currently running CRI implementation will lose support on if not upgraded.
# TYPE kubelet_cri_losing_support gauge
kubelet_cri_losing_support{version="1.38.0"} 1
kubelet_running_pods 3
`

func TestParseKubeletMetrics(t *testing.T) {
	cg, losing := parseKubeletMetrics(kubeletMetrics)
	if cg != CgroupV1 || losing != "1.38.0" {
		t.Errorf("got %q, %q; want v1, 1.38.0", cg, losing)
	}
	cg, losing = parseKubeletMetrics("kubelet_cgroup_version 2\nkubelet_running_pods 1\n")
	if cg != CgroupV2 || losing != "" {
		t.Errorf("got %q, %q; want v2 and nothing", cg, losing)
	}
	if cg, losing = parseKubeletMetrics("kubelet_running_pods 1\n"); cg != "" || losing != "" {
		t.Errorf("a kubelet that says neither: got %q, %q", cg, losing)
	}
}

func TestTheOverrideIsShownOnlyWhereItIsWhatLetsTheKubeletRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		kubelet string
		facts   KubeletFacts
		want    bool
	}{
		{"v1.37 on cgroup v1: only the override lets it start", "v1.37.2", KubeletFacts{Cgroup: CgroupV1}, true},
		{"v1.35 on cgroup v1", "v1.35.4", KubeletFacts{Cgroup: CgroupV1}, true},
		{"v1.34 on cgroup v1: its default allows it", "v1.34.4", KubeletFacts{Cgroup: CgroupV1}, false},
		{"v1.37 on cgroup v2", "v1.37.2", KubeletFacts{Cgroup: CgroupV2}, false},
		{"v1.37, cgroups unknown", "v1.37.2", KubeletFacts{}, false},
		{"k3s's version string", "v1.36.3+k3s1", KubeletFacts{Cgroup: CgroupV1}, true},
	} {
		n := Node{Kubelet: tc.kubelet}
		n.applyKubelet(tc.facts)
		if n.CgroupV1Override != tc.want {
			t.Errorf("%s: override %v, want %v", tc.name, n.CgroupV1Override, tc.want)
		}
	}
}

func TestARuntimeLosingSupportIsAWarning(t *testing.T) {
	n := Node{Kubelet: "v1.37.2"}
	n.applyKubelet(KubeletFacts{Cgroup: CgroupV1, LosesSupportIn: "1.38.0"})
	if len(n.Warnings) != 1 || !strings.Contains(n.Warnings[0], "RuntimeConfig") || !strings.Contains(n.Warnings[0], "1.38.0") {
		t.Errorf("warnings %q", n.Warnings)
	}
}

// Where the kubelet cannot be asked (no nodes/proxy), its CgroupV1 event
// on the Node still says v1.
func TestTheCgroupV1EventStandsInForTheKubeletsMetrics(t *testing.T) {
	cs := fake.NewSimpleClientset(&corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "n1.cgroupv1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n1"},
		Reason:         "CgroupV1", Type: corev1.EventTypeWarning,
	})
	if k := ReadKubelet(context.Background(), cs, "n1"); k.Cgroup != CgroupV1 {
		t.Errorf("got %+v, want cgroup v1 from the event", k)
	}
}

func TestNodesOnThisMachineShareItsCgroups(t *testing.T) {
	i := Info{Nodes: []Node{{Name: "a", Kubelet: "v1.37.2"}, {Name: "b", Kubelet: "v1.37.2", Cgroup: CgroupV2}}}
	i.NodesShareHostCgroups(true)
	if i.Nodes[0].Cgroup != CgroupV1 || !i.Nodes[0].CgroupV1Override || i.Nodes[1].Cgroup != CgroupV2 {
		t.Errorf("got %+v", i.Nodes)
	}
}
