package e2e

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
)

var _ = Describe("The cluster under test", Label("smoke"), func() {
	It("has every node Ready", func(ctx SpecContext) {
		Eventually(ctx, func(g Gomega) string {
			nodes, err := clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(nodes.Items).NotTo(BeEmpty(), "the cluster has no nodes")
			var notReady []string
			for i := range nodes.Items {
				if !diagnose.NodeReady(&nodes.Items[i]) {
					notReady = append(notReady, nodes.Items[i].Name)
				}
			}
			return strings.Join(notReady, ", ")
		}).WithTimeout(timeouts.NodeReady).WithPolling(timeouts.Poll).Should(BeEmpty(), "nodes not Ready")
	}, SpecTimeout(timeouts.Spec))

	for _, c := range []struct{ name, selector string }{
		{"kube-apiserver", "component=kube-apiserver"},
		{"etcd", "component=etcd"},
		{"kube-scheduler", "component=kube-scheduler"},
		{"kube-controller-manager", "component=kube-controller-manager"},
		{"kube-proxy", "k8s-app=kube-proxy"},
		{"coredns", "k8s-app=kube-dns"},
	} {
		It("runs "+c.name+" in kube-system", func(ctx SpecContext) {
			if the.Existing {
				pods, err := clientset.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: c.selector})
				Expect(err).NotTo(HaveOccurred())
				if len(pods.Items) == 0 {
					Skip("this cluster runs no " + c.name + " pod (" + c.selector + ") in kube-system: k3s and managed control planes run it out of sight")
				}
			}
			Eventually(ctx, func(g Gomega) []corev1.Pod {
				pods, err := clientset.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: c.selector})
				g.Expect(err).NotTo(HaveOccurred())
				return pods.Items
			}).WithTimeout(timeouts.SystemPods).WithPolling(timeouts.Poll).Should(
				allRunningAndReady(), "kube-system pods with %s", c.selector)
		}, SpecTimeout(timeouts.Spec))
	}

	It("pulls the chapter's untagged image (imagePullPolicy Always) and runs it Ready", func(ctx SpecContext) {
		ns := namespace(ctx, "smoke")
		pod, err := clientset.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "hello-kiamol", Labels: map[string]string{"run": "hello-kiamol"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "hello-kiamol", Image: chapterImage}}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(pod.Spec.Containers[0].ImagePullPolicy).To(Equal(corev1.PullAlways),
			"an untagged image defaults to imagePullPolicy Always, so every start pulls from a registry")

		Eventually(ctx, func(g Gomega) *corev1.Pod {
			p, err := clientset.CoreV1().Pods(ns).Get(ctx, "hello-kiamol", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			return p
		}).WithTimeout(timeouts.PodReady).WithPolling(timeouts.Poll).Should(beRunningAndReady())

		if the.Mode == images.Airgap {
			p, err := clientset.CoreV1().Pods(ns).Get(ctx, "hello-kiamol", metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred())
			want := the.Built.Images[images.HelloImage+":latest"]
			Expect(p.Status.ContainerStatuses[0].ImageID).To(HaveSuffix("@"+want),
				"the running image is the stand-in the local registry serves")
		}
	}, SpecTimeout(timeouts.Spec))
})
