package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
)

// Chapter 2, section 2.3: defining Deployments in application manifests.
var _ = Describe("2.3 Manifests: kubectl apply -f pod.yaml / deployment.yaml", Label("ch02", "manifests"), func() {
	ch := fixtures.Chapter2

	It("gives the same shapes as the imperative commands: a Ready Pod hello-kiamol-3, one Ready Pod labelled app=hello-kiamol-4", func(ctx SpecContext) {
		ns, k := namespace(ctx, "manifests")
		Expect(mustRun(ctx, k, "apply", "-f", manifestPath(ch, "pod.yaml")).Stdout).To(Equal("pod/hello-kiamol-3 created\n"))
		Expect(mustRun(ctx, k, "apply", "-f", manifestPath(ch, "deployment.yaml")).Stdout).To(Equal("deployment.apps/hello-kiamol-4 created\n"))

		podMustBeReady(ctx, ns, "hello-kiamol-3")
		_, pods := deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)
		Expect(pods[0].Labels).To(HaveKeyWithValue("app", "hello-kiamol-4"))
		byLabel := mustRun(ctx, k, "get", "pods", "-l", "app=hello-kiamol-4", "-o", "name")
		Expect(lines(byLabel.Stdout)).To(Equal([]string{"pod/" + pods[0].Name}), "kubectl get pods -l app=hello-kiamol-4")
	}, SpecTimeout(timeouts.Chapter))

	It("changes nothing when the same manifest is applied again: kubectl says unchanged, resourceVersion and generation stay", func(ctx SpecContext) {
		ns, k := namespace(ctx, "manifests")
		mustRun(ctx, k, "apply", "-f", manifestPath(ch, "pod.yaml"))
		mustRun(ctx, k, "apply", "-f", manifestPath(ch, "deployment.yaml"))
		// Let the controllers and the kubelet finish their own status writes,
		// so any later change could only come from the second apply.
		podMustBeReady(ctx, ns, "hello-kiamol-3")
		deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)
		Eventually(ctx, func(g Gomega) bool {
			d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "hello-kiamol-4", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 1
		}).WithTimeout(timeouts.Controller).WithPolling(timeouts.Poll).Should(BeTrue(), func() string {
			return "deployment hello-kiamol-4 settles: " + health.Deployment(ctx, ns, "hello-kiamol-4").Why
		})

		for _, m := range []struct{ file, printed string }{
			{"pod.yaml", "pod/hello-kiamol-3 unchanged\n"},
			{"deployment.yaml", "deployment.apps/hello-kiamol-4 unchanged\n"},
		} {
			before := objectVersions(ctx, ns)
			Expect(mustRun(ctx, k, "apply", "-f", manifestPath(ch, m.file)).Stdout).To(Equal(m.printed))
			Expect(objectVersions(ctx, ns)).To(Equal(before), "%s as stored after the second apply", m.file)
		}
	}, SpecTimeout(timeouts.Chapter))

	It("can be applied from a URL: kubectl apply -f http://.../ch02/pod.yaml", func(ctx SpecContext) {
		ns, k := namespace(ctx, "manifests")
		page := chapterManifest(ch, "pod.yaml")
		// A server on this machine stands in for GitHub; kubectl fetches
		// the manifest itself, as it would the book's URL.
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ch02/pod.yaml" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(page)
		}))
		DeferCleanup(server.Close)

		Expect(mustRun(ctx, k, "apply", "-f", server.URL+"/ch02/pod.yaml").Stdout).To(Equal("pod/hello-kiamol-3 created\n"))
		podMustBeReady(ctx, ns, "hello-kiamol-3")
	}, SpecTimeout(timeouts.Chapter))
})

// objectVersions is what "changes nothing" is measured by: the stored
// resourceVersion and generation of the manifests' objects.
func objectVersions(ctx SpecContext, ns string) []string {
	GinkgoHelper()
	p, err := clientset.CoreV1().Pods(ns).Get(ctx, "hello-kiamol-3", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "hello-kiamol-4", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return []string{
		fmt.Sprintf("pod/hello-kiamol-3 resourceVersion=%s generation=%d", p.ResourceVersion, p.Generation),
		fmt.Sprintf("deployment.apps/hello-kiamol-4 resourceVersion=%s generation=%d", d.ResourceVersion, d.Generation),
	}
}
