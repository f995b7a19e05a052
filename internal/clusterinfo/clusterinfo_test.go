package clusterinfo

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
)

func node(name string, conditions ...corev1.NodeCondition) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Conditions: conditions,
			NodeInfo: corev1.NodeSystemInfo{OSImage: "Debian GNU/Linux 12 (bookworm)", KernelVersion: "6.1.0-31-amd64",
				ContainerRuntimeVersion: "containerd://2.1.4", KubeletVersion: "v1.34.4"},
		},
	}
}

func ready(status corev1.ConditionStatus, reason, message string) corev1.NodeCondition {
	return corev1.NodeCondition{Type: corev1.NodeReady, Status: status, Reason: reason, Message: message}
}

func TestHealth(t *testing.T) {
	pressure := corev1.NodeCondition{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}
	for _, tc := range []struct {
		name  string
		nodes []corev1.Node
		want  string
	}{
		{"every node Ready", []corev1.Node{node("b", pressure, ready(corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"))}, ""},
		{"the kubelet stopped posting", []corev1.Node{
			node("kiamol-e2e-control-plane", ready(corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status.")),
		}, "node kiamol-e2e-control-plane NotReady: Kubelet stopped posting node status."},
		{"no message: the status and reason", []corev1.Node{node("w", ready(corev1.ConditionFalse, "KubeletNotReady", ""))},
			"node w NotReady: Ready=False (KubeletNotReady)"},
		{"no Ready condition at all", []corev1.Node{node("w")}, "node w NotReady: it reports no Ready condition"},
		{"two nodes, in name order, one line", []corev1.Node{
			node("worker", ready(corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready:\n NetworkReady=false")),
			node("control-plane", ready(corev1.ConditionTrue, "", "")),
			node("another", ready(corev1.ConditionUnknown, "", "Kubelet stopped posting node status.")),
		}, "node another NotReady: Kubelet stopped posting node status.; node worker NotReady: container runtime network not ready: NetworkReady=false"},
		{"no nodes", nil, "the cluster has no nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Health(tc.nodes); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	notReady := node("kiamol-e2e-worker", ready(corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."))
	cs := fake.NewClientset(&notReady)
	cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.34.4"}
	info, err := Read(context.Background(), cs, "kind-kiamol-e2e", "https://127.0.0.1:1234")
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Name: "kind-kiamol-e2e", Server: "https://127.0.0.1:1234", Version: "v1.34.4", Distribution: "other",
		Nodes: []Node{{Name: "kiamol-e2e-worker", OSImage: "Debian GNU/Linux 12 (bookworm)", Kernel: "6.1.0-31-amd64",
			Runtime: "containerd://2.1.4", Kubelet: "v1.34.4"}},
		Health: "node kiamol-e2e-worker NotReady: Kubelet stopped posting node status."}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("got  %+v\nwant %+v", info, want)
	}
}

// TestJSONNamesAreStable: reports of earlier runs are read back, so the
// names stay; the fields added later are left out when unset.
func TestJSONNamesAreStable(t *testing.T) {
	for _, tc := range []struct {
		name string
		info Info
		want string
	}{
		{"healthy, created", Info{Name: "kind-kiamol-e2e", Version: "v1.34.4", Images: "airgap"},
			`{"name":"kind-kiamol-e2e","server":"","version":"v1.34.4","existing":false,"images":"airgap","nodes":null}`},
		{"reused, broken", Info{Name: "kind-kiamol-e2e", Reused: true, Health: "node x NotReady: gone"},
			`{"name":"kind-kiamol-e2e","server":"","version":"","existing":false,"images":"","nodes":null,"reused":true,"health":"node x NotReady: gone"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.info.JSON(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			var back Info
			if err := json.Unmarshal([]byte(tc.info.JSON()), &back); err != nil || !reflect.DeepEqual(back, tc.info) {
				t.Errorf("round trip: %+v, %v", back, err)
			}
		})
	}
}

// The distributions, each from the Node objects it publishes, are in
// distributions_test.go.
func TestCNI(t *testing.T) {
	pod := func(name string) corev1.Pod { return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}} }
	if got := CNI([]corev1.Pod{pod("coredns-abc"), pod("kindnet-x7k2p")}); got != "kindnet" {
		t.Errorf("kindnet: %q", got)
	}
	if got := CNI([]corev1.Pod{pod("coredns-abc"), pod("kube-proxy-x")}); got != "" {
		t.Errorf("none: %q", got)
	}
}

// kwokNode is a Node as kwokctl v0.8.0 makes it (`kwokctl scale node`, its
// default node template) once kwok's controller has initialised it: read
// off a kwok cluster made on this project's machine.
func kwokNode(name string) corev1.Node {
	return corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "type": "kwok", "kwok.x-k8s.io/kwokctl-scale": "node"}},
		Status: corev1.NodeStatus{
			Conditions: []corev1.NodeCondition{ready(corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status")},
			NodeInfo: corev1.NodeSystemInfo{KernelVersion: "kwok-0.8.0", ContainerRuntimeVersion: "kwok-0.8.0",
				KubeletVersion: "kwok-0.8.0", KubeProxyVersion: "kwok-0.8.0", OperatingSystem: "linux", Architecture: "amd64"},
		},
	}
}

func TestNotReal(t *testing.T) {
	unmarked := kwokNode("managed-without-annotation")
	unmarked.Annotations = nil
	versioned := kwokNode("annotated-with-real-versions")
	versioned.Status.NodeInfo = node("x").Status.NodeInfo
	for _, tc := range []struct {
		name string
		node corev1.Node
		want string
	}{
		{"kwokctl's fake node", kwokNode("node-000000"), "kwok fake node (nothing runs on it)"},
		{"kwok's versions, no annotation (a controller managing every node)", unmarked, "kwok fake node (nothing runs on it)"},
		{"kwok's annotation, versions its template wrote", versioned, "kwok fake node (nothing runs on it)"},
		{"a kind node", node("kiamol-e2e-control-plane", ready(corev1.ConditionTrue, "KubeletReady", "")), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NotReal(&tc.node); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReadSaysWhichNodesAreNotReal(t *testing.T) {
	fakeNode, realNode := kwokNode("node-000000"), node("kiamol-e2e-control-plane", ready(corev1.ConditionTrue, "KubeletReady", ""))
	realNode.Spec.ProviderID = "kind://docker/kiamol-e2e/kiamol-e2e-control-plane"
	for _, tc := range []struct {
		name         string
		nodes        []corev1.Node
		distribution string
		notReal      []string
	}{
		{"kwok alone", []corev1.Node{fakeNode}, "kwok", []string{"node node-000000 is not a real node: kwok fake node (nothing runs on it)"}},
		{"a kind cluster with a kwok node added", []corev1.Node{fakeNode, realNode}, "kind", []string{"node node-000000 is not a real node: kwok fake node (nothing runs on it)"}},
		{"kind alone", []corev1.Node{realNode}, "kind", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs []runtime.Object
			for i := range tc.nodes {
				objs = append(objs, &tc.nodes[i])
			}
			cs := fake.NewClientset(objs...)
			cs.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.34.4"}
			info, err := Read(context.Background(), cs, "kwok-x", "https://127.0.0.1:1234")
			if err != nil {
				t.Fatal(err)
			}
			if info.Distribution != tc.distribution {
				t.Errorf("distribution %q, want %q", info.Distribution, tc.distribution)
			}
			if got := info.NotRealNodes(); !reflect.DeepEqual(got, tc.notReal) {
				t.Errorf("not real: %q, want %q", got, tc.notReal)
			}
		})
	}
}
