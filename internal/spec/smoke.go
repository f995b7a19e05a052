package spec

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// smoke checks the cluster under test, not a claim of the book: its nodes
// and its control plane. That each chapter image pulls and runs is checked
// on the Pods the chapter's claims run (imageCheck).
func (k *Suite) smoke() {
	Describe("The cluster under test", Label("smoke"), func() {
		It("has every node Ready", func(ctx SpecContext) {
			var notReady []string
			Eventually(ctx, func(g Gomega) []string {
				var nodes corev1.NodeList
				g.Expect(k.klient.List(ctx, &nodes)).To(Succeed())
				g.Expect(nodes.Items).NotTo(BeEmpty(), "the cluster has no nodes")
				// A node that says it is Ready and runs nothing (kwok's
				// fakes) is not a Ready node, and will not become one.
				var notReal []string
				for i := range nodes.Items {
					if why := clusterinfo.NotReal(&nodes.Items[i]); why != "" {
						notReal = append(notReal, "node "+nodes.Items[i].Name+" is not a real node: "+why)
					}
				}
				if len(notReal) > 0 {
					stopBecause(LayerCluster, strings.Join(notReal, "; "))
				}
				notReady = notReady[:0]
				for i := range nodes.Items {
					if nr := diagnose.NodeNotReady(&nodes.Items[i]); nr != "" {
						notReady = append(notReady, nr)
					}
				}
				if len(notReady) > 0 {
					if problems := k.health.Established(ctx); len(problems) > 0 {
						stopBecause(LayerCluster, "cluster: "+problems.String())
					}
				}
				return notReady
			}).WithTimeout(k.timeouts.NodeReady).WithPolling(k.timeouts.Poll).Should(BeEmpty(), because(LayerCluster, func() string {
				return "not every node is Ready: " + strings.Join(notReady, "; ")
			}))
		}, SpecTimeout(k.timeouts.Spec))

		for _, c := range []struct{ name, selector string }{
			{"kube-apiserver", "component=kube-apiserver"},
			{"etcd", "component=etcd"},
			{"kube-scheduler", "component=kube-scheduler"},
			{"kube-controller-manager", "component=kube-controller-manager"},
			{"kube-proxy", "k8s-app=kube-proxy"},
			{"coredns", "k8s-app=kube-dns"},
		} {
			It("runs "+c.name+" in kube-system", func(ctx SpecContext) {
				if !k.run.Own {
					pods, err := k.selected(ctx, "kube-system", c.selector)
					Expect(err).NotTo(HaveOccurred())
					if len(pods) == 0 {
						if why := k.noneWillCome(ctx, c.selector); why != "" {
							failBecause(LayerCluster, why)
						}
						Skip("this cluster runs no " + c.name + " pod (" + c.selector + ") in kube-system: k3s and managed control planes run it out of sight")
					}
				}
				// On the suite's own cluster every component runs as a pod:
				// one that is missing is a failure, said at once, not after a
				// wait.
				var pods []corev1.Pod
				Eventually(ctx, func(g Gomega) []corev1.Pod {
					var err error
					pods, err = k.selected(ctx, "kube-system", c.selector)
					g.Expect(err).NotTo(HaveOccurred())
					if len(pods) == 0 {
						if why := k.noneWillCome(ctx, c.selector); why != "" {
							stopBecause(LayerCluster, why)
						}
					}
					if len(pods) == 0 || !everyReady(pods) {
						if problems := k.health.Established(ctx); len(problems) > 0 {
							stopBecause(LayerCluster, fmt.Sprintf("cluster: %s; kube-system pods %s are not all Running and Ready: %s", problems, c.selector, diagnose.DescribePods(pods)))
						}
					}
					return pods
				}).WithTimeout(k.timeouts.SystemPods).WithPolling(k.timeouts.Poll).Should(
					allRunningAndReady(), because(LayerCluster, func() string {
						return fmt.Sprintf("kube-system pods with %s are not all Running and Ready: %s", c.selector, diagnose.DescribePods(pods))
					}))
			}, SpecTimeout(k.timeouts.Spec))
		}

	})
}

// noneWillCome says why no kube-system Pod the selector picks will come
// (every Deployment that would make one asks for none), "" otherwise.
func (k *Suite) noneWillCome(ctx context.Context, selector string) string {
	if why := diagnose.ScaledToZero(ctx, k.client, "kube-system", selector); why != "" {
		return fmt.Sprintf("%s, so no Pod with %s will come", why, selector)
	}
	return ""
}

func everyReady(pods []corev1.Pod) bool {
	for i := range pods {
		if !diagnose.Ready(&pods[i]) {
			return false
		}
	}
	return true
}

// imageCheck is the cluster check that a chapter image pulls untagged
// (imagePullPolicy Always, so from a registry on every start) and runs
// Ready, read off a Pod that the chapter's claims already run with it, in
// the group that runs it; air-gapped, the running image is the stand-in the
// local registry serves.
// (chapters' tests hold every chapter image to having one.)
//
// Pulled and running are taken from what only a kubelet leaves: the
// container the runtime made (containerID <runtime>://<id>), the image it
// runs by digest (imageID), and the kubelet's own Pulled event for the
// container. A Pod status alone can say Running and Ready with none of
// them (kwok writes it so).
func (k *Suite) imageCheck(chapter, ref string, podOf func(context.Context) *corev1.Pod) {
	It("pulls "+ref+" untagged (imagePullPolicy Always) and runs it Ready", Label("smoke", chapter), func(ctx SpecContext) {
		p := podOf(ctx)
		c := p.Spec.Containers[0]
		Expect(c.Image).To(Equal(k.image(ref)), "the Pod runs the chapter's image")
		if !strings.Contains(c.Image[strings.LastIndex(c.Image, "/")+1:], ":") && !strings.Contains(c.Image, "@") {
			// A replacement with a tag (E2E_REPLACE_IMAGES) defaults to
			// IfNotPresent, as it should.
			Expect(c.ImagePullPolicy).To(Equal(corev1.PullAlways),
				"an untagged image defaults to imagePullPolicy Always, so every start pulls from a registry")
		}
		status := containerStatus(p, c.Name)
		Expect(status.ContainerID).To(MatchRegexp(`^(containerd|docker|cri-o)://[0-9a-f]+$`),
			"pod %s/%s: the kubelet names the container the runtime runs for %s (containerID <runtime>://<id>)", p.Namespace, p.Name, c.Name)
		Expect(status.ImageID).To(MatchRegexp(`sha256:[0-9a-f]{64}$`),
			"pod %s/%s: the kubelet names the image %s runs by its digest (imageID)", p.Namespace, p.Name, c.Name)
		k.pulledMustBeReported(ctx, p, c.Name)
		if k.run.Mode == images.Airgap && k.image(ref) == ref {
			want := k.run.Built.Images[ref+":latest"]
			Expect(status.ImageID).To(HaveSuffix("@"+want),
				"the running image is the stand-in the local registry serves")
		}
	}, SpecTimeout(k.timeouts.Spec))
}

// containerStatus is the Pod's status of the named container; the zero
// value when it has none.
func containerStatus(p *corev1.Pod, name string) corev1.ContainerStatus {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			return cs
		}
	}
	return corev1.ContainerStatus{}
}

// pulledMustBeReported waits for the kubelet's Pulled event for the Pod's
// container: it reports one for each start, "Successfully pulled image"
// when it pulled, "already present on machine" when the policy let it use
// what the node holds. The kubelet posts its events a moment after it acts,
// so the wait is a controller's.
func (k *Suite) pulledMustBeReported(ctx context.Context, p *corev1.Pod, container string) {
	GinkgoHelper()
	fieldPath := "spec.containers{" + container + "}"
	sel := fields.Set{"involvedObject.uid": string(p.UID), "reason": "Pulled"}.AsSelector().String()
	var seen []string
	Eventually(ctx, func(g Gomega) bool {
		list, err := k.client.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
		g.Expect(err).NotTo(HaveOccurred())
		seen = seen[:0]
		for _, e := range list.Items {
			by := cmp.Or(e.ReportingController, e.Source.Component)
			if by == "kubelet" && e.InvolvedObject.FieldPath == fieldPath {
				return true
			}
			seen = append(seen, fmt.Sprintf("%s by %q: %s", e.InvolvedObject.FieldPath, by, e.Message))
		}
		return false
	}).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).Should(BeTrue(), because(LayerCluster, func() string {
		others := "none"
		if len(seen) > 0 {
			others = strings.Join(seen, "; ")
		}
		return fmt.Sprintf("pod %s/%s: no Pulled event from the kubelet for container %s after %s (Pulled events seen: %s)",
			p.Namespace, p.Name, container, k.timeouts.Controller, others)
	}))
}
