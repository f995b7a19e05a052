package e2e

import (
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
)

// manifests is chapter 2, section 2.3: defining Deployments in application
// manifests.
func (k *Suite) manifests() {
	ch := fixtures.Chapter2
	Describe("2.3 Manifests", func() {
		claim("2.3/apply", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "manifests")
			Expect(mustRun(ctx, kc, "apply", "-f", k.manifestPath(ctx, ch, "pod.yaml")).Stdout).To(Equal("pod/hello-kiamol-3 created\n"))
			Expect(mustRun(ctx, kc, "apply", "-f", k.manifestPath(ctx, ch, "deployment.yaml")).Stdout).To(Equal("deployment.apps/hello-kiamol-4 created\n"))

			k.podMustBeReady(ctx, ns, "hello-kiamol-3")
			_, pods := k.deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)
			Expect(pods[0].Labels).To(HaveKeyWithValue("app", "hello-kiamol-4"))
			byLabel := mustRun(ctx, kc, "get", "pods", "-l", "app=hello-kiamol-4", "-o", "name")
			Expect(lines(byLabel.Stdout)).To(Equal([]string{"pod/" + pods[0].Name}), "kubectl get pods -l app=hello-kiamol-4")
		}, SpecTimeout(k.timeouts.Chapter))

		claim("2.3/apply-url", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "manifests")
			page := k.chapterManifest(ctx, ch, "pod.yaml")
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

			Expect(mustRun(ctx, kc, "apply", "-f", server.URL+"/ch02/pod.yaml").Stdout).To(Equal("pod/hello-kiamol-3 created\n"))
			k.podMustBeReady(ctx, ns, "hello-kiamol-3")
		}, SpecTimeout(k.timeouts.Chapter))
	})
}
