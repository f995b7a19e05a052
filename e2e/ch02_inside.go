package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/forward"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/kubectl"
)

// inside is chapter 2, section 2.4: working with applications in Pods.
// exec, logs and cp go through the API server to the node's kubelet, like
// port-forward: they are what a misconfigured distribution breaks first.
func (k *Suite) inside() {
	Describe("2.4 Working with the app in its Pod", func() {
		// These claims only read the Pod (a request adds a log line, which
		// no other claim counts on): they share one.
		Describe("one Pod, worked with by each claim", Ordered, ContinueOnFailure, func() {
			var (
				kc  kubectl.Kubectl
				pod *corev1.Pod
			)
			BeforeAll(func(ctx SpecContext) {
				var ns string
				ns, kc = k.namespace(ctx, "inside")
				pod = k.runHelloKiamol(ctx, kc, ns)
			}, NodeTimeout(k.timeouts.Chapter))

			claim("2.4/exec-ip", func(ctx SpecContext) {
				out := mustRun(ctx, kc, "exec", "hello-kiamol", "--", "sh", "-c", "hostname -i")
				Expect(strings.Fields(out.Stdout)).To(ContainElement(pod.Status.PodIP), "the container's own address is the Pod's IP")
			}, SpecTimeout(k.timeouts.Chapter))

			claim("2.4/exec-page", func(ctx SpecContext) {
				out := mustRun(ctx, kc, "exec", "hello-kiamol", "--", "sh", "-c", "wget -O - http://localhost | head -n 4")
				Expect(out.Stdout).To(ContainSubstring(fixtures.HelloKiamolHeading), "the first lines of the page, fetched inside the Pod")
			}, SpecTimeout(k.timeouts.Chapter))

			claim("2.4/logs", func(ctx SpecContext) {
				k.pageMustBeServed(ctx, k.forwardTo(ctx, kc, "pod/hello-kiamol"), "/?from=logs", fixtures.HelloKiamolHeading)
				// nginx's combined format: address, time, request, status,
				// size, referer, user agent.
				line := regexp.MustCompile(`\[[^]]+\] "GET /\?from=logs HTTP/1\.1" 200 \d+ "-" "` + regexp.QuoteMeta(forward.UserAgent) + `"`)
				Eventually(ctx, func() (string, error) {
					r, err := kc.Run(ctx, "logs", "--tail=2", "hello-kiamol")
					return r.Stdout, err
				}).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).Should(MatchRegexp(line.String()),
					"kubectl logs --tail=2 hello-kiamol shows the request")
			}, SpecTimeout(k.timeouts.Chapter))

			claim("2.4/cp", func(ctx SpecContext) {
				dest := filepath.Join(GinkgoT().TempDir(), "kiamol", "ch02", "index.html")
				Expect(os.MkdirAll(filepath.Dir(dest), 0o755)).To(Succeed())
				mustRun(ctx, kc, "cp", "hello-kiamol:"+fixtures.HelloKiamolPage, dest)
				copied, err := os.ReadFile(dest)
				Expect(err).NotTo(HaveOccurred(), "kubectl cp wrote %s", dest)
				Expect(string(copied)).To(ContainSubstring(fixtures.HelloKiamolHeading))

				served := k.pageMustBeServed(ctx, k.forwardTo(ctx, kc, "pod/hello-kiamol"), "/", fixtures.HelloKiamolHeading)
				Expect(served.Body).To(Equal(string(copied)), "the file in the container is the page it serves")
			}, SpecTimeout(k.timeouts.Chapter))
		})

		claim("2.4/logs-by-label", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "inside")
			mustRun(ctx, kc, "apply", "-f", k.manifestPath(ctx, fixtures.Chapter2, "deployment.yaml"))
			k.deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)
			k.pageMustBeServed(ctx, k.forwardTo(ctx, kc, "deploy/hello-kiamol-4"), "/?from=label", fixtures.HelloKiamolHeading)
			Eventually(ctx, func() (string, error) {
				r, err := kc.Run(ctx, "logs", "--tail=1", "-l", "app=hello-kiamol-4")
				return r.Stdout, err
			}).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).Should(ContainSubstring(`"GET /?from=label HTTP/1.1" 200`),
				"the Deployment's Pod's last log line is the request")
		}, SpecTimeout(k.timeouts.Chapter))
	})
}
