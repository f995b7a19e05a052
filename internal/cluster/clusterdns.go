package cluster

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"
)

// An air-gapped cluster has no DNS beyond its own names. kubeadm's CoreDNS
// forwards every other name to the node's resolver, which here answers
// nothing, and CoreDNS's forward plugin retries a refused upstream until
// its own 5 s deadline before it says SERVFAIL. Every short name a Pod
// looks up ends with such a query (the bare name, after the search
// domains), so a lookup that has its answer waits 5 s for the rest, and a
// client whose own timeout is 5 s (busybox's nslookup) sees none at all.
// Without the forward block CoreDNS says SERVFAIL for other names at once.
const (
	corednsNamespace = "kube-system"
	corednsConfigMap = "coredns"
	corednsCorefile  = "Corefile"
	corednsSelector  = "k8s-app=kube-dns"
)

// withoutUpstream is the Corefile without its forward block; ok is false
// when it has none to remove.
func withoutUpstream(corefile string) (string, bool) {
	lines := strings.Split(corefile, "\n")
	var kept []string
	found, inside := false, false
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case inside:
			inside = !(len(f) == 1 && f[0] == "}")
		case len(f) >= 2 && f[0] == "forward" && f[1] == ".":
			found = true
			inside = f[len(f)-1] == "{"
		default:
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n"), found
}

// dnsWithoutUpstream rewrites the suite's own air-gapped cluster's CoreDNS
// configuration right after kind made it, and replaces any CoreDNS Pod
// already bound to a node (its kubelet may have mounted the old file), so
// every Pod that answers reads it.
func (c *Cluster) dnsWithoutUpstream(ctx context.Context) error {
	_, cs, err := kubeconfig.Clients(c.KubeconfigPath, kindContext(c.Name))
	if err != nil {
		return err
	}
	return removeUpstream(ctx, cs)
}

func removeUpstream(ctx context.Context, cs kubernetes.Interface) error {
	cms := cs.CoreV1().ConfigMaps(corednsNamespace)
	cm, err := cms.Get(ctx, corednsConfigMap, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("CoreDNS without an upstream: %w", err)
	}
	corefile, ok := withoutUpstream(cm.Data[corednsCorefile])
	if !ok {
		return fmt.Errorf("CoreDNS without an upstream: configmap %s/%s has no `forward .` block in its Corefile", corednsNamespace, corednsConfigMap)
	}
	cm.Data[corednsCorefile] = corefile
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("CoreDNS without an upstream: %w", err)
	}
	pods, err := cs.CoreV1().Pods(corednsNamespace).List(ctx, metav1.ListOptions{LabelSelector: corednsSelector})
	if err != nil {
		return fmt.Errorf("CoreDNS without an upstream: %w", err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" && p.DeletionTimestamp == nil {
			if err := cs.CoreV1().Pods(corednsNamespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("CoreDNS without an upstream: replace pod %s: %w", p.Name, err)
			}
		}
	}
	return nil
}
