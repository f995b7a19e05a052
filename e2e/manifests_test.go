package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/manifest"
)

var _ = Describe("Chapter 2, manifests: kubectl apply -f pod.yaml / deployment.yaml", Label("manifests"), func() {
	It("gives the same shapes as the imperative commands: a Ready Pod hello-kiamol-3, one Ready Pod labelled app=hello-kiamol-4", func(ctx SpecContext) {
		ns := namespace(ctx, "manifests")
		applyFixture(ctx, ns, "pod.yaml")
		applyFixture(ctx, ns, "deployment.yaml")

		waitPodReady(ctx, ns, "hello-kiamol-3")
		Eventually(ctx, podsNamed(ctx, ns, "hello-kiamol-4-")).WithTimeout(timeouts.PodReady).WithPolling(timeouts.Poll).
			Should(And(HaveLen(1), allRunningAndReady()), "the Deployment from deployment.yaml runs one Pod")
		selected, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=hello-kiamol-4"})
		Expect(err).NotTo(HaveOccurred())
		Expect(selected.Items).To(HaveLen(1), "kubectl get pods -l app=hello-kiamol-4")
	}, SpecTimeout(timeouts.Chapter))

	It("changes nothing when the same manifest is applied again (resourceVersion and generation unchanged)", func(ctx SpecContext) {
		ns := namespace(ctx, "manifests")
		applyFixture(ctx, ns, "pod.yaml")
		applyFixture(ctx, ns, "deployment.yaml")
		// Let the controllers and the kubelet finish their own status writes,
		// so any later change could only come from the second apply.
		waitPodReady(ctx, ns, "hello-kiamol-3")
		Eventually(ctx, func(g Gomega) bool {
			d, err := clientset.AppsV1().Deployments(ns).Get(ctx, "hello-kiamol-4", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == 1
		}).WithTimeout(timeouts.PodReady).WithPolling(timeouts.Poll).Should(BeTrue(), "deployment hello-kiamol-4 settles")

		for _, file := range []string{"pod.yaml", "deployment.yaml"} {
			before := objectVersions(ctx, ns, file)
			again := applyFixture(ctx, ns, file)
			Expect(again).To(Equal(before), "kubectl apply -f %s a second time", file)
			Expect(objectVersions(ctx, ns, file)).To(Equal(before), "%s as stored after the second apply", file)
		}
	}, SpecTimeout(timeouts.Chapter))

	It("can be applied from a URL", func(ctx SpecContext) {
		ns := namespace(ctx, "manifests")
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ch02/pod.yaml" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(chapterManifest("pod.yaml"))
		}))
		DeferCleanup(server.Close)

		raw, err := manifest.Fetch(ctx, server.URL+"/ch02/pod.yaml")
		Expect(err).NotTo(HaveOccurred())
		_, err = manifest.Apply(ctx, resourcesClient, raw, ns)
		Expect(err).NotTo(HaveOccurred(), "kubectl apply -f %s/ch02/pod.yaml", server.URL)
		waitPodReady(ctx, ns, "hello-kiamol-3")
	}, SpecTimeout(timeouts.Chapter))
})

// versions is what "changes nothing" is measured by.
type versions struct {
	Kind, Name      string
	ResourceVersion string
	Generation      int64
}

// applyFixture applies one of the chapter's manifests and returns the
// versions the server answered with.
func applyFixture(ctx SpecContext, ns, file string) []versions {
	GinkgoHelper()
	objs, err := manifest.Apply(ctx, resourcesClient, chapterManifest(file), ns)
	Expect(err).NotTo(HaveOccurred(), "kubectl apply -f %s", file)
	var out []versions
	for _, o := range objs {
		out = append(out, versions{fmt.Sprintf("%T", o), o.GetName(), o.GetResourceVersion(), o.GetGeneration()})
	}
	return out
}

// objectVersions reads the fixture's objects back from the server.
func objectVersions(ctx SpecContext, ns, file string) []versions {
	GinkgoHelper()
	objs, err := manifest.Decode(ctx, chapterManifest(file), ns)
	Expect(err).NotTo(HaveOccurred())
	var out []versions
	for _, o := range objs {
		Expect(resourcesClient.Get(ctx, o.GetName(), ns, o)).To(Succeed())
		out = append(out, versions{fmt.Sprintf("%T", o), o.GetName(), o.GetResourceVersion(), o.GetGeneration()})
	}
	return out
}

// chapterManifest reads one of the chapter's manifests: the suite's copy, or
// the user's from MANIFESTS.
func chapterManifest(file string) []byte {
	GinkgoHelper()
	raw, path, err := fixtures.Chapter2(the.Manifests, file)
	Expect(err).NotTo(HaveOccurred(), "read %s", path)
	return raw
}
