package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
)

// controllers is chapter 2, section 2.2: running Pods with controllers.
func (k *Suite) controllers() {
	const name = "hello-kiamol-2"
	Describe("2.2 Deployments", SpecPriority(50), func() {
		// Claims that only read share one Deployment.
		Describe("one Deployment, read by each claim", Ordered, ContinueOnFailure, func() {
			var (
				ns  string
				kc  kubectl.Kubectl
				d   *appsv1.Deployment
				pod corev1.Pod
			)
			BeforeAll(func(ctx SpecContext) {
				ns, kc = k.namespace(ctx, "deploy")
				d, pod = k.createHelloDeployment(ctx, kc, ns)
			}, NodeTimeout(k.timeouts.Chapter))

			claim("2.2/deployment-pod", func(ctx SpecContext) {
				hash := pod.Labels["pod-template-hash"]
				Expect(hash).NotTo(BeEmpty(), "the Pod carries pod-template-hash")
				Expect(pod.Name).To(MatchRegexp("^"+regexp.QuoteMeta(name+"-"+hash)+"-[a-z0-9]{5}$"), "the Pod's name is <deployment>-<pod-template-hash>-<5 chars>")
				Expect(pod.Labels).To(Equal(map[string]string{"app": name, "pod-template-hash": hash}))

				labels := mustRun(ctx, kc, "get", "deploy", name, "-o", "jsonpath={.spec.template.metadata.labels}")
				Expect(labels.Stdout).To(Equal(`{"app":"hello-kiamol-2"}`), "the book shows the template's labels")

				byLabel := mustRun(ctx, kc, "get", "pods", "-l", "app="+name, "-o", "name")
				Expect(lines(byLabel.Stdout)).To(Equal([]string{"pod/" + pod.Name}), "kubectl get pods -l app=%s finds exactly that Pod", name)

				rsRef := metav1.GetControllerOf(&pod)
				Expect(rsRef).NotTo(BeNil(), "the Pod has a controller")
				Expect(rsRef.Kind).To(Equal("ReplicaSet"))
				var rs appsv1.ReplicaSet
				Expect(k.klient.Get(ctx, rsRef.Name, ns, &rs)).To(Succeed())
				dRef := metav1.GetControllerOf(&rs)
				Expect(dRef).NotTo(BeNil(), "the ReplicaSet has a controller")
				Expect(*dRef).To(And(HaveField("Kind", "Deployment"), HaveField("Name", name), HaveField("UID", d.UID)))
			}, SpecTimeout(k.timeouts.Chapter))

			claim("2.2/port-forward-deployment", func(ctx SpecContext) {
				k.pageMustBeServed(ctx, k.forwardTo(ctx, kc, "deploy/"+name), "/?from=deploy", fixtures.HelloKiamolHeading)
				// kubectl picked the Pod; its access log says which one served.
				Eventually(ctx, func() (string, error) { return k.podLog(ctx, ns, pod.Name) }).
					WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).
					Should(ContainSubstring(`"GET /?from=deploy HTTP/1.1" 200`), "the request reached the Deployment's Pod %s", pod.Name)
			}, SpecTimeout(k.timeouts.Chapter))
		})

		// Relabelling changes the Deployment's Pods: a Deployment of its own.
		claim("2.2/relabel", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "deploy")
			_, original := k.createHelloDeployment(ctx, kc, ns)

			out := mustRun(ctx, kc, "label", "pods", "-l", "app="+name, "--overwrite", "app=hello-kiamol-x")
			Expect(strings.TrimSpace(out.Stdout)).To(Equal("pod/" + original.Name + " labeled"))
			Eventually(ctx, k.podsNamed(ctx, ns, name+"-")).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).Should(And(
				HaveLen(2),
				ContainElement(And(HaveField("ObjectMeta.Name", original.Name), HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", "hello-kiamol-x")), WithTransform(controllerOf, BeNil()))),
				ContainElement(And(HaveField("ObjectMeta.Name", Not(Equal(original.Name))), HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", name)))),
			), func() string {
				return "the Deployment lets the relabelled Pod go and creates a replacement: " + k.health.Deployment(ctx, ns, name).Why
			})

			mustRun(ctx, kc, "label", "pods", "-l", "app=hello-kiamol-x", "--overwrite", "app="+name)
			Eventually(ctx, k.podsNamed(ctx, ns, name+"-")).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).Should(And(
				HaveLen(1),
				HaveEach(HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", name))),
				allRunningAndReady(),
			), func() string {
				return "with the label restored, the Deployment has one Pod too many and deletes one: " + k.health.Deployment(ctx, ns, name).Why
			})
		}, SpecTimeout(k.timeouts.Chapter))
	})
}

// createHelloDeployment is `kubectl create deployment hello-kiamol-2`; it
// waits for the Deployment's one Pod.
func (k *Suite) createHelloDeployment(ctx context.Context, kc kubectl.Kubectl, ns string) (*appsv1.Deployment, corev1.Pod) {
	GinkgoHelper()
	out := mustRun(ctx, kc, "create", "deployment", "hello-kiamol-2", "--image="+k.image(fixtures.HelloKiamol))
	Expect(strings.TrimSpace(out.Stdout)).To(Equal("deployment.apps/hello-kiamol-2 created"))
	d, pods := k.deploymentMustRun(ctx, ns, "hello-kiamol-2", 1)
	return d, pods[0]
}

// podsNamed lists the pods whose names start with prefix and that are not
// being deleted, as `kubectl get pods` shows them once deletion is done.
func (k *Suite) podsNamed(ctx context.Context, ns, prefix string) func(Gomega) []corev1.Pod {
	return func(g Gomega) []corev1.Pod {
		pods, err := k.selected(ctx, ns, "")
		g.Expect(err).NotTo(HaveOccurred())
		var out []corev1.Pod
		for _, p := range pods {
			if strings.HasPrefix(p.Name, prefix) {
				out = append(out, p)
			}
		}
		return out
	}
}

func controllerOf(p corev1.Pod) *metav1.OwnerReference { return metav1.GetControllerOf(&p) }

// podLog is the pod's container log as the API serves it.
func (k *Suite) podLog(ctx context.Context, ns, pod string) (string, error) {
	raw, err := k.client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of pod %s/%s: %w", ns, pod, err)
	}
	return string(raw), nil
}
