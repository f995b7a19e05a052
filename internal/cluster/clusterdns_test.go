package cluster

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// kubeadm's Corefile, as v1.23 to v1.37 write it.
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`

func TestWithoutUpstreamRemovesOnlyTheForwardBlock(t *testing.T) {
	got, ok := withoutUpstream(kubeadmCorefile)
	if !ok {
		t.Fatal("no forward block found")
	}
	want := strings.Replace(kubeadmCorefile, "    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n", "", 1)
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if one, ok := withoutUpstream(strings.Replace(kubeadmCorefile, "forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }", "forward . /etc/resolv.conf", 1)); !ok || strings.Contains(one, "forward") || !strings.Contains(one, "cache 30 {") {
		t.Fatalf("a one-line forward: ok=%v\n%s", ok, one)
	}
	if _, ok := withoutUpstream(got); ok {
		t.Fatal("found a forward block in a Corefile without one")
	}
}

func TestRemoveUpstreamReplacesOnlyBoundCoreDNSPods(t *testing.T) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"}, Data: map[string]string{"Corefile": kubeadmCorefile}}
	pod := func(name, node string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name, Labels: labels}, Spec: corev1.PodSpec{NodeName: node}}
	}
	dns := map[string]string{"k8s-app": "kube-dns"}
	cs := fake.NewSimpleClientset(cm,
		pod("coredns-bound", "n1", dns), pod("coredns-pending", "", dns),
		pod("kube-proxy-x", "n1", map[string]string{"k8s-app": "kube-proxy"}))
	ctx := context.Background()
	if err := removeUpstream(ctx, cs); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if strings.Contains(got.Data["Corefile"], "forward") {
		t.Fatalf("forward kept:\n%s", got.Data["Corefile"])
	}
	pods, _ := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
	var left []string
	for _, p := range pods.Items {
		left = append(left, p.Name)
	}
	if strings.Join(left, ",") != "coredns-pending,kube-proxy-x" {
		t.Fatalf("pods left: %v", left)
	}
	if err := removeUpstream(ctx, cs); err == nil || !strings.Contains(err.Error(), "no `forward .` block") {
		t.Fatalf("second time: %v", err)
	}
}
