package spec

import (
	"context"
	"fmt"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// later is why the suite does not yet offer a need on any cluster.
const later = "left for later: the suite does not yet find out whether a cluster gives it"

// lacks is what the cluster under test does not offer of the needs the
// chapters' claims declare, each with why; process 1 finds it once.
func (k *Suite) lacks(ctx context.Context, r run) map[book.Need]string {
	out := map[book.Need]string{}
	declared := map[book.Need]bool{}
	for _, ch := range k.chapters {
		for _, c := range ch.Chapter.Claims {
			for _, n := range c.Needs {
				declared[n] = true
			}
		}
	}
	for n := range declared {
		var why string
		switch n {
		case book.NodeRuntime:
			why = k.runtimeLacks(ctx, r)
		case book.ClusterDNS:
			why = k.dnsLacks(ctx, r)
		case book.LoadBalancer, book.NodePort:
			why = later
		default:
			why = "no run knows how to offer it"
		}
		if why != "" {
			out[n] = why
		}
	}
	return out
}

// runtimeLacks says why no claim will reach the runtime of any node, ""
// when one may: the way containerruntime.Decide would choose for each
// node's runtime, from what this machine reaches. A claim still finds its
// own Pod's way, and says so if it differs.
func (k *Suite) runtimeLacks(ctx context.Context, r run) string {
	if k.settings.SelfHeal == settings.SelfHealNode || r.Own {
		// Asked for a Pod on the node, or the suite's own cluster, where the
		// runtime must be reached: a claim that does not is a failure.
		return ""
	}
	nodes, err := k.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		return "" // the claims say what is wrong with the cluster
	}
	var whys []string
	dockerDown := ""
	if err := docker.Ping(ctx); err != nil {
		dockerDown = err.Error()
	}
	for _, n := range nodes.Items {
		scheme := containerruntime.Scheme(n.Status.NodeInfo.ContainerRuntimeVersion)
		reach := containerruntime.Reach{NoDocker: dockerDown}
		if dockerDown == "" {
			_, reach.KindNode = cluster.KindNode(ctx, n.Name)
			// Whether this machine's Docker holds a Pod's container shows
			// only with the container: the claim asks.
			reach.DockerHolds = scheme == "docker"
		}
		p := containerruntime.Decide(containerruntime.Situation{Mode: k.settings.SelfHeal, Node: n.Name, Scheme: scheme, Reach: reach})
		if p.Way != containerruntime.NotAsked {
			return ""
		}
		whys = append(whys, p.Why)
	}
	sort.Strings(whys)
	return whys[0]
}

// dnsLacks says why Pods cannot resolve Service names, "" when they may:
// a cluster without the kube-dns Service has no cluster DNS.
func (k *Suite) dnsLacks(ctx context.Context, r run) string {
	var svc corev1.Service
	err := k.klient.Get(ctx, "kube-dns", "kube-system", &svc)
	if apierrors.IsNotFound(err) {
		return "the cluster has no kube-dns Service in kube-system"
	}
	return ""
}

// mustOffer skips the current spec when the cluster lacks one of needs,
// saying which and why.
func (k *Suite) mustOffer(needs []book.Need) {
	GinkgoHelper()
	for _, n := range needs {
		if why, ok := k.run.Lacks[n]; ok {
			Skip(lackLine(n, why))
		}
	}
}

// mustWork fails the current spec at once when the cluster offers one of
// needs but shows it cannot work now: a cluster DNS whose Deployment asks
// for no Pods answers no name, however long a claim waits.
func (k *Suite) mustWork(ctx context.Context, needs []book.Need) {
	GinkgoHelper()
	if !contains(needs, book.ClusterDNS) {
		return
	}
	if why := diagnose.ScaledToZero(ctx, k.client, "kube-system", "k8s-app=kube-dns"); why != "" {
		failBecause(LayerCluster, why+", so no Pod can resolve a Service's name")
	}
}

// lackLine is a skip's reason: the need, then why the cluster lacks it.
func lackLine(n book.Need, why string) string {
	return fmt.Sprintf("needs %s (%s): %s", n.Says(), n, strings.TrimSpace(why))
}

// Lacks skips the claim because, as it found while it ran, the cluster
// does not offer n, which the claim declares.
func (t *T) Lacks(n book.Need, why string) {
	GinkgoHelper()
	declared := t.claim != nil && contains(t.chapterClaim().Needs, n)
	if !declared {
		failBecause(LayerSuite, fmt.Sprintf("the claim found it lacks %s but does not declare it: add %s to its Needs", n.Says(), n))
	}
	Skip(lackLine(n, why))
}

// chapterClaim is the claim's data as the chapter lists it (its needs with
// its fixture's).
func (t *T) chapterClaim() book.Claim {
	c, _ := t.chapter.Chapter.Claim(t.claim.ID)
	return c
}

func contains[E comparable](s []E, e E) bool {
	for _, x := range s {
		if x == e {
			return true
		}
	}
	return false
}
