package ch02

import (
	"context"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 2.2: running Pods with controllers. The claims that only read share one
// Deployment; relabelling changes its Pods, so it has its own.

const deployment2 = "hello-kiamol-2"

// oneDeployment is `kubectl create deployment hello-kiamol-2` and its Pod.
var oneDeployment = &spec.Fixture{
	Name: "2.2: one Deployment, read by each claim", Namespace: "deploy", Priority: 50,
	Steps: []book.Step{createDeployment},
	Setup: func(ctx SpecContext, t *spec.T) any {
		d, pod := createHelloDeployment(ctx, t)
		return &created{d, pod}
	},
}

type created struct {
	d   *appsv1.Deployment
	pod corev1.Pod
}

// createHelloDeployment is `kubectl create deployment hello-kiamol-2`; it
// waits for the Deployment's one Pod.
func createHelloDeployment(ctx context.Context, t *spec.T) (*appsv1.Deployment, corev1.Pod) {
	GinkgoHelper()
	out := t.Run(ctx, createDeployment)
	Expect(strings.TrimSpace(out.Stdout)).To(Equal("deployment.apps/hello-kiamol-2 created"))
	d, pods := t.DeploymentMustRun(ctx, deployment2, 1)
	return d, pods[0]
}

var (
	getTemplateLabels = book.Kubectl("kubectl get deploy hello-kiamol-2 -o jsonpath='{.spec.template.metadata.labels}'")
	getPodsByApp2     = book.Kubectl("kubectl get pods -l app=hello-kiamol-2")
	forwardDeployment = book.Kubectl("kubectl port-forward deploy/hello-kiamol-2 8080:80").Sub("8080:80", "--address=127.0.0.1 :80", freePort)
	relabelToX        = book.Kubectl("kubectl label pods -l app=hello-kiamol-2 --overwrite app=hello-kiamol-x")
	relabelBack       = book.Kubectl("kubectl label pods -l app=hello-kiamol-x --overwrite app=hello-kiamol-2")
)

var deploymentPod = spec.Claim{
	Claim: book.Claim{ID: "2.2/deployment-pod", Labels: []string{"deployments"},
		Says:  "kubectl create deployment makes one Pod hello-kiamol-2-<hash>-<suffix>, labelled app and pod-template-hash, selected by app=hello-kiamol-2, owned through a ReplicaSet",
		Steps: []book.Step{getTemplateLabels, getPodsByApp2}},
	Shares: oneDeployment,
	Body: func(ctx SpecContext, t *spec.T) {
		c := t.Shared().(*created)
		pod := c.pod
		hash := pod.Labels["pod-template-hash"]
		Expect(hash).NotTo(BeEmpty(), "the Pod carries pod-template-hash")
		Expect(pod.Name).To(MatchRegexp("^"+regexp.QuoteMeta(deployment2+"-"+hash)+"-[a-z0-9]{5}$"), "the Pod's name is <deployment>-<pod-template-hash>-<5 chars>")
		Expect(pod.Labels).To(Equal(map[string]string{"app": deployment2, "pod-template-hash": hash}))

		labels := t.Run(ctx, getTemplateLabels)
		Expect(labels.Stdout).To(Equal(`{"app":"hello-kiamol-2"}`), "the book shows the template's labels")

		byLabel := t.Run(ctx, getPodsByApp2)
		Expect(spec.Names(byLabel.Stdout)).To(Equal([]string{pod.Name}), "kubectl get pods -l app=%s finds exactly that Pod", deployment2)

		rsRef := metav1.GetControllerOf(&pod)
		Expect(rsRef).NotTo(BeNil(), "the Pod has a controller")
		Expect(rsRef.Kind).To(Equal("ReplicaSet"))
		var rs appsv1.ReplicaSet
		Expect(t.Resources().Get(ctx, rsRef.Name, t.Namespace(), &rs)).To(Succeed())
		dRef := metav1.GetControllerOf(&rs)
		Expect(dRef).NotTo(BeNil(), "the ReplicaSet has a controller")
		Expect(*dRef).To(And(HaveField("Kind", "Deployment"), HaveField("Name", deployment2), HaveField("UID", c.d.UID)))
	},
}

var portForwardDeployment = spec.Claim{
	Claim: book.Claim{ID: "2.2/port-forward-deployment", Labels: []string{"deployments", "port-forward"},
		Says:  "kubectl port-forward deploy/hello-kiamol-2 serves the page from the Pod the Deployment selects",
		Steps: []book.Step{forwardDeployment}},
	Shares: oneDeployment,
	Body: func(ctx SpecContext, t *spec.T) {
		pod := t.Shared().(*created).pod
		t.PageMustBeServed(ctx, t.Forward(ctx, forwardDeployment), "/?from=deploy", heading)
		// kubectl picked the Pod; its access log says which one served.
		Eventually(ctx, func() (string, error) { return t.PodLog(ctx, pod.Name) }).
			WithTimeout(t.Timeouts().Controller).WithPolling(t.Timeouts().Poll).
			Should(ContainSubstring(`"GET /?from=deploy HTTP/1.1" 200`), spec.Because(func() string {
				return "the request did not reach the Deployment's Pod " + pod.Name + ": its log has no line for it"
			}))
	},
}

var relabel = spec.Claim{
	Claim: book.Claim{ID: "2.2/relabel", Labels: []string{"deployments"},
		Says:  "a Pod relabelled app=hello-kiamol-x is replaced (two Pods), and restoring the label removes one (back to one)",
		Steps: []book.Step{createDeployment, relabelToX, relabelBack}},
	Priority: 50,
	Body: func(ctx SpecContext, t *spec.T) {
		_, original := createHelloDeployment(ctx, t)
		tm := t.Timeouts()

		out := t.Run(ctx, relabelToX)
		Expect(strings.TrimSpace(out.Stdout)).To(Equal("pod/" + original.Name + " labeled"))
		Eventually(ctx, t.PodsNamed(ctx, deployment2+"-")).WithTimeout(tm.Controller).WithPolling(tm.Poll).Should(And(
			HaveLen(2),
			ContainElement(And(HaveField("ObjectMeta.Name", original.Name), HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", "hello-kiamol-x")), WithTransform(controllerOf, BeNil()))),
			ContainElement(And(HaveField("ObjectMeta.Name", Not(Equal(original.Name))), HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", deployment2)))),
		), spec.Because(func() string {
			return "the Deployment did not let the relabelled Pod go and create a replacement: " + t.DeploymentCause(ctx, deployment2)
		}))

		t.Run(ctx, relabelBack)
		Eventually(ctx, t.PodsNamed(ctx, deployment2+"-")).WithTimeout(tm.Controller).WithPolling(tm.Poll).Should(And(
			HaveLen(1),
			HaveEach(HaveField("ObjectMeta.Labels", HaveKeyWithValue("app", deployment2))),
			spec.AllRunningAndReady(),
		), spec.Because(func() string {
			return "with the label restored, the Deployment did not delete its one Pod too many: " + t.DeploymentCause(ctx, deployment2)
		}))
	},
}

func controllerOf(p corev1.Pod) *metav1.OwnerReference { return metav1.GetControllerOf(&p) }
