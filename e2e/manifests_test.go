package e2e

import (
	"fmt"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
)

// Every chapter's manifests, from its descriptor: each applies, runs, and
// changes nothing when applied again ("the same deployment, repeatable").
// A new chapter's manifests are checked here without a line of spec.
var _ = Describe("Every chapter's manifests", func() {
	for _, ch := range fixtures.Chapters {
		if len(ch.Objects) == 0 || ch.ReapplyClaim == "" {
			continue // no manifests: nothing to claim
		}
		claim(ch.ReapplyClaim, func(ctx SpecContext) {
			ns, k := namespace(ctx, "manifests")
			for _, o := range ch.Objects {
				out := mustRun(ctx, k, "apply", "-f", manifestPath(ch, o.File))
				Expect(lines(out.Stdout)).To(ContainElement(MatchRegexp(`^[a-z.]+/`+regexp.QuoteMeta(o.Name)+` created$`)), "kubectl apply -f %s", o.File)
			}
			// Let the controllers and the kubelet finish their own writes,
			// so any later change could only come from the second apply.
			for _, o := range ch.Objects {
				settled(ctx, ns, o)
			}
			for _, o := range ch.Objects {
				before := storedVersion(ctx, ns, o)
				out := mustRun(ctx, k, "apply", "-f", manifestPath(ch, o.File))
				Expect(lines(out.Stdout)).To(ContainElement(MatchRegexp(`^[a-z.]+/`+regexp.QuoteMeta(o.Name)+` unchanged$`)), "kubectl apply -f %s a second time", o.File)
				Expect(storedVersion(ctx, ns, o)).To(Equal(before), "%s %s as stored after the second apply", o.Kind, o.Name)
			}
		}, SpecTimeout(timeouts.Chapter))
	}
})

// settled waits until an object has reached its steady state.
func settled(ctx SpecContext, ns string, o fixtures.Object) {
	GinkgoHelper()
	switch o.Kind {
	case "Pod":
		podMustBeReady(ctx, ns, o.Name)
	case "Deployment":
		d, err := clientset.AppsV1().Deployments(ns).Get(ctx, o.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		deploymentMustRun(ctx, ns, o.Name, int(replicas))
		Eventually(ctx, func(g Gomega) bool {
			d, err := clientset.AppsV1().Deployments(ns).Get(ctx, o.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == replicas
		}).WithTimeout(timeouts.Controller).WithPolling(timeouts.Poll).Should(BeTrue(), func() string {
			return "deployment " + o.Name + " settles: " + health.Deployment(ctx, ns, o.Name).Why
		})
	}
}

// storedVersion reads an object's resourceVersion and generation with the
// typed client for its kind.
func storedVersion(ctx SpecContext, ns string, o fixtures.Object) string {
	GinkgoHelper()
	var meta metav1.Object
	var err error
	switch o.Kind {
	case "Pod":
		meta, err = clientset.CoreV1().Pods(ns).Get(ctx, o.Name, metav1.GetOptions{})
	case "Deployment":
		meta, err = clientset.AppsV1().Deployments(ns).Get(ctx, o.Name, metav1.GetOptions{})
	case "Service":
		meta, err = clientset.CoreV1().Services(ns).Get(ctx, o.Name, metav1.GetOptions{})
	case "ConfigMap":
		meta, err = clientset.CoreV1().ConfigMaps(ns).Get(ctx, o.Name, metav1.GetOptions{})
	default:
		Fail(fmt.Sprintf("no typed read for kind %s (manifest %s): add one to storedVersion", o.Kind, o.File))
	}
	Expect(err).NotTo(HaveOccurred())
	return fmt.Sprintf("%s/%s resourceVersion=%s generation=%d", o.Kind, o.Name, meta.GetResourceVersion(), meta.GetGeneration())
}
