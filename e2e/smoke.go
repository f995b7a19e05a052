package e2e

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
)

// smoke checks the cluster under test, not a claim of the book: its nodes,
// its control plane, and that each chapter image pulls and runs.
func (k *Suite) smoke() {
	Describe("The cluster under test", Label("smoke"), func() {
		It("has every node Ready", func(ctx SpecContext) {
			Eventually(ctx, func(g Gomega) []string {
				var nodes corev1.NodeList
				g.Expect(k.klient.List(ctx, &nodes)).To(Succeed())
				g.Expect(nodes.Items).NotTo(BeEmpty(), "the cluster has no nodes")
				var notReady []string
				for i := range nodes.Items {
					if nr := diagnose.NodeNotReady(&nodes.Items[i]); nr != "" {
						notReady = append(notReady, nr)
					}
				}
				if len(notReady) > 0 {
					if problem := k.health.Established(ctx); problem != "" {
						StopTrying("cluster: " + problem).Now()
					}
				}
				return notReady
			}).WithTimeout(k.timeouts.NodeReady).WithPolling(k.timeouts.Poll).Should(BeEmpty(), "every node is Ready")
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
					if len(pods) == 0 || !everyReady(pods) {
						if problem := k.health.Established(ctx); problem != "" {
							StopTrying(fmt.Sprintf("kube-system pods %s are not all Running and Ready: cluster: %s; %s", c.selector, problem, diagnose.DescribePods(pods))).Now()
						}
					}
					return pods
				}).WithTimeout(k.timeouts.SystemPods).WithPolling(k.timeouts.Poll).Should(
					allRunningAndReady(), "kube-system pods with %s", c.selector)
			}, SpecTimeout(k.timeouts.Spec))
		}

		for _, img := range fixtures.AllImages() {
			It("pulls "+img.Ref+" untagged (imagePullPolicy Always) and runs it Ready", func(ctx SpecContext) {
				ns, _ := k.namespace(ctx, "smoke")
				name := strings.TrimPrefix(img.Ref[strings.LastIndex(img.Ref, "/")+1:], "ch02-")
				pod := &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: k.image(img.Ref)}}},
				}
				Expect(k.klient.Create(ctx, pod)).To(Succeed())
				if ref := k.image(img.Ref); !strings.Contains(ref[strings.LastIndex(ref, "/")+1:], ":") && !strings.Contains(ref, "@") {
					// A replacement with a tag (E2E_REPLACE_IMAGES) defaults
					// to IfNotPresent, as it should.
					Expect(pod.Spec.Containers[0].ImagePullPolicy).To(Equal(corev1.PullAlways),
						"an untagged image defaults to imagePullPolicy Always, so every start pulls from a registry")
				}
				p := k.podMustBeReady(ctx, ns, name)
				if k.run.Mode == images.Airgap && k.image(img.Ref) == img.Ref {
					want := k.run.Built.Images[img.Ref+":latest"]
					Expect(p.Status.ContainerStatuses[0].ImageID).To(HaveSuffix("@"+want),
						"the running image is the stand-in the local registry serves")
				}
			}, SpecTimeout(k.timeouts.Spec))
		}
	})
}

func everyReady(pods []corev1.Pod) bool {
	for i := range pods {
		if !diagnose.Ready(&pods[i]) {
			return false
		}
	}
	return true
}
