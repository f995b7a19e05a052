package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/internal/forward"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
)

// onePod is the chapter's `kubectl run hello-kiamol` Pod, shared by the
// claims of 2.1 and 2.4 that only read it (a request adds a log line, which
// no other claim counts on) and by the check that its image pulls untagged.
// Each claim still passes or fails on its own (ContinueOnFailure), with its
// own time in the verdict; the claims that change a Pod get their own.
func (k *Suite) onePod() {
	Describe("2.1 and 2.4: one Pod, read by each claim", Ordered, ContinueOnFailure, SpecPriority(80), func() {
		var (
			ns  string
			kc  kubectl.Kubectl
			pod *corev1.Pod
		)
		BeforeAll(func(ctx SpecContext) {
			ns, kc = k.namespace(ctx, "pods")
			pod = k.runHelloKiamol(ctx, kc, ns)
		}, NodeTimeout(k.timeouts.Chapter))

		claim("2.1/pod-ready", func(ctx SpecContext) { k.podReadyClaim(ctx, kc, pod) }, SpecTimeout(k.timeouts.Chapter))
		claim("2.1/container-id", func(ctx SpecContext) { k.containerIDClaim(ctx, kc, pod) }, SpecTimeout(k.timeouts.Chapter))
		claim("2.1/port-forward-pod", func(ctx SpecContext) {
			k.pageMustBeServed(ctx, k.forwardTo(ctx, kc, "pod/hello-kiamol"), "/", fixtures.HelloKiamolHeading)
		}, SpecTimeout(k.timeouts.Chapter))

		// 2.4: working with the app in its Pod. exec, logs and cp go
		// through the API server to the node's kubelet, like port-forward:
		// they are what a misconfigured distribution breaks first.
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
			// nginx's combined format: address, time, request, status, size,
			// referer, user agent.
			line := regexp.MustCompile(`\[[^]]+\] "GET /\?from=logs HTTP/1\.1" 200 \d+ "-" "` + regexp.QuoteMeta(forward.UserAgent) + `"`)
			Eventually(ctx, func() (string, error) {
				r, err := kc.Run(ctx, "logs", "--tail=2", "hello-kiamol")
				return r.Stdout, err
			}).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).Should(MatchRegexp(line.String()),
				"kubectl logs --tail=2 hello-kiamol shows the request")
		}, SpecTimeout(k.timeouts.Chapter))

		claim("2.4/cp", func(ctx SpecContext) {
			// The book's /tmp/kiamol/ch02/index.html, relative to a folder
			// of the spec's own: kubectl cp takes an argument with a colon
			// for a file in a Pod, and reads C:\... on Windows as a Pod
			// named C.
			here := kc
			here.Dir = tempDir()
			dest := filepath.Join("kiamol", "ch02", "index.html")
			Expect(os.MkdirAll(filepath.Join(here.Dir, "kiamol", "ch02"), 0o755)).To(Succeed())
			mustRun(ctx, here, "cp", "hello-kiamol:"+fixtures.HelloKiamolPage, dest)
			copied, err := os.ReadFile(filepath.Join(here.Dir, dest))
			Expect(err).NotTo(HaveOccurred(), "kubectl cp wrote %s in %s", dest, here.Dir)
			Expect(string(copied)).To(ContainSubstring(fixtures.HelloKiamolHeading))

			served := k.pageMustBeServed(ctx, k.forwardTo(ctx, kc, "pod/hello-kiamol"), "/", fixtures.HelloKiamolHeading)
			Expect(served.Body).To(Equal(string(copied)), "the file in the container is the page it serves")
		}, SpecTimeout(k.timeouts.Chapter))

		k.imageCheck(fixtures.HelloKiamol, func(ctx context.Context) *corev1.Pod { return k.podMustBeReady(ctx, ns, "hello-kiamol") })
	})
}
