package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/forward"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/imperative"
)

var _ = Describe("Chapter 2, Deployments: kubectl create deployment hello-kiamol-2 --image=kiamol/ch02-hello-kiamol", Label("deployments"), func() {
	const name = "hello-kiamol-2"

	// createDeployment makes the Deployment and waits for its one Pod.
	createDeployment := func(ctx SpecContext, ns string) (*appsv1.Deployment, corev1.Pod) {
		GinkgoHelper()
		d, err := clientset.AppsV1().Deployments(ns).Create(ctx, imperative.CreateDeployment(name, chapterImage), metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		var pods []corev1.Pod
		Eventually(ctx, podsNamed(ctx, ns, name+"-")).WithTimeout(timeouts.PodReady).WithPolling(timeouts.Poll).
			Should(And(HaveLen(1), allRunningAndReady()), func() string {
				return "the Deployment creates one Pod; " + describeDeployment(ctx, ns, name) + "; latest events:\n" + diagnose.LatestEvents(ctx, clientset, ns, 5)
			})
		pods = podsNamed(ctx, ns, name+"-")(Default)
		Expect(pods).To(HaveLen(1))
		return d, pods[0]
	}

	It("makes exactly one Pod named hello-kiamol-2-<hash>-<suffix>, labelled and selected by app=hello-kiamol-2, owned through a ReplicaSet", func(ctx SpecContext) {
		ns := namespace(ctx, "deploy")
		d, pod := createDeployment(ctx, ns)

		hash := pod.Labels["pod-template-hash"]
		Expect(hash).NotTo(BeEmpty(), "the Pod carries pod-template-hash")
		Expect(pod.Name).To(MatchRegexp("^"+regexp.QuoteMeta(name+"-"+hash)+"-[a-z0-9]{5}$"), "the Pod's name is <deployment>-<pod-template-hash>-<5 chars>")
		Expect(pod.Labels).To(HaveKeyWithValue("app", name))

		got, err := clientset.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		templateLabels, err := json.Marshal(got.Spec.Template.Labels)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(templateLabels)).To(Equal(`{"app":"hello-kiamol-2"}`), "kubectl get deploy -o jsonpath='{.spec.template.metadata.labels}'")

		selected, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		Expect(err).NotTo(HaveOccurred())
		Expect(selected.Items).To(ConsistOf(HaveField("ObjectMeta.Name", pod.Name)), "kubectl get pods -l app=%s finds exactly that Pod", name)

		rsRef := metav1.GetControllerOf(&pod)
		Expect(rsRef).NotTo(BeNil(), "the Pod has a controller")
		Expect(rsRef.Kind).To(Equal("ReplicaSet"))
		rs, err := clientset.AppsV1().ReplicaSets(ns).Get(ctx, rsRef.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		dRef := metav1.GetControllerOf(rs)
		Expect(dRef).NotTo(BeNil(), "the ReplicaSet has a controller")
		Expect(*dRef).To(And(HaveField("Kind", "Deployment"), HaveField("Name", name), HaveField("UID", d.UID)))
	}, SpecTimeout(timeouts.Chapter))

	It("replaces a Pod relabelled app=hello-kiamol-x (two Pods), and deletes one when the label is restored (back to one)", func(ctx SpecContext) {
		ns := namespace(ctx, "deploy")
		_, original := createDeployment(ctx, ns)

		relabel(ctx, ns, original.Name, "hello-kiamol-x")
		Eventually(ctx, podsNamed(ctx, ns, name+"-")).WithTimeout(timeouts.Controller).WithPolling(timeouts.Poll).Should(And(
			HaveLen(2),
			ContainElement(And(HaveField("ObjectMeta.Name", original.Name), WithTransform(controllerOf, BeNil()))),
			ContainElement(And(HaveField("ObjectMeta.Name", Not(Equal(original.Name))), HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", name)))),
		), "the Deployment no longer owns the relabelled Pod and creates a replacement")

		relabel(ctx, ns, original.Name, name)
		Eventually(ctx, podsNamed(ctx, ns, name+"-")).WithTimeout(timeouts.Controller).WithPolling(timeouts.Poll).Should(And(
			HaveLen(1),
			HaveEach(HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", name))),
			allRunningAndReady(),
		), "with the label restored, the Deployment has one Pod too many and deletes one")
	}, SpecTimeout(timeouts.Chapter))

	It("serves the app's page through port-forward deploy/hello-kiamol-2, on a Running, Ready Pod it selects", Label("port-forward"), func(ctx SpecContext) {
		ns := namespace(ctx, "deploy")
		createDeployment(ctx, ns)
		pod, err := forward.PodForDeployment(ctx, clientset, ns, name)
		Expect(err).NotTo(HaveOccurred())
		Expect(pod.Labels).To(HaveKeyWithValue("app", name))
		expectPageThrough(ctx, forwardToPod(ctx, ns, pod.Name))
	}, SpecTimeout(timeouts.Chapter))
})

// describeDeployment says how far the controllers got with a Deployment.
func describeDeployment(ctx SpecContext, ns, name string) string {
	d, err := clientset.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("deployment %s/%s: %v", ns, name, err)
	}
	s := fmt.Sprintf("deployment %s/%s: generation %d, observedGeneration %d, %d/%d replicas ready",
		ns, name, d.Generation, d.Status.ObservedGeneration, d.Status.ReadyReplicas, d.Status.Replicas)
	for _, c := range d.Status.Conditions {
		s += fmt.Sprintf(", %s=%s (%s)", c.Type, c.Status, c.Message)
	}
	if d.Status.ObservedGeneration == 0 {
		s += "; no Deployment controller has acted on it: is kube-controller-manager running?"
	}
	return s
}

// relabel is `kubectl label pod NAME --overwrite app=VALUE`.
func relabel(ctx SpecContext, ns, pod, app string) {
	GinkgoHelper()
	patch := []byte(`{"metadata":{"labels":{"app":"` + app + `"}}}`)
	_, err := clientset.CoreV1().Pods(ns).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{})
	Expect(err).NotTo(HaveOccurred(), "label pod %s app=%s", pod, app)
}

func controllerOf(p corev1.Pod) *metav1.OwnerReference { return metav1.GetControllerOf(&p) }
