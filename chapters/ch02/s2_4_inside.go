package ch02

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/forward"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 2.4: working with the app in its Pod. exec, logs and cp go through the
// API server to the node's kubelet, like port-forward: they are what a
// misconfigured distribution breaks first. They read onePod, and the
// Deployment applied from deployment.yaml.

var (
	execHostname = book.Kubectl("kubectl exec hello-kiamol -- sh -c 'hostname -i'")
	execWget     = book.Kubectl("kubectl exec hello-kiamol -- sh -c 'wget -O - http://localhost | head -n 4'")
	logsTail2    = book.Kubectl("kubectl logs --tail=2 hello-kiamol")
	forward4     = book.Kubectl("kubectl port-forward deploy/hello-kiamol-4 8080:80").Sub("8080:80", "--address=127.0.0.1 :80", freePort)
	logsByApp4   = book.Kubectl("kubectl logs --tail=1 -l app=hello-kiamol-4")
	// cpPage: kubectl cp takes an argument with a colon for a file in a
	// Pod, and reads C:\... on Windows as a Pod named C.
	cpPage = book.Kubectl("kubectl cp hello-kiamol:/usr/share/nginx/html/index.html /tmp/kiamol/ch02/index.html").
		Sub("/tmp/kiamol/ch02/index.html", "kiamol/ch02/index.html", "relative to a folder of the claim's own")
)

var execIP = spec.Claim{
	Claim: book.Claim{ID: "2.4/exec-ip", Labels: []string{"inside", "exec"},
		Says:  "a command runs in the container: its own address is the Pod's IP",
		Steps: []book.Step{execHostname}},
	Shares: onePod,
	Body: func(ctx SpecContext, t *spec.T) {
		pod := t.Shared().(*corev1.Pod)
		out := t.Run(ctx, execHostname)
		Expect(strings.Fields(out.Stdout)).To(ContainElement(pod.Status.PodIP), "the container's own address is the Pod's IP")
	},
}

var execPage = spec.Claim{
	Claim: book.Claim{ID: "2.4/exec-page", Labels: []string{"inside", "exec"},
		Says:  "the app answers from inside its container",
		Steps: []book.Step{execWget}},
	Shares: onePod,
	Body: func(ctx SpecContext, t *spec.T) {
		out := t.Run(ctx, execWget)
		Expect(out.Stdout).To(ContainSubstring(heading), "the first lines of the page, fetched inside the Pod")
	},
}

var logs = spec.Claim{
	Claim: book.Claim{ID: "2.4/logs", Labels: []string{"inside", "logs", "port-forward"},
		Says:  "a request through port-forward is an access-log line in the container's logs",
		Steps: []book.Step{forwardPod, logsTail2}},
	Shares: onePod,
	Body: func(ctx SpecContext, t *spec.T) {
		t.PageMustBeServed(ctx, t.Forward(ctx, forwardPod), "/?from=logs", heading)
		// nginx's combined format: address, time, request, status, size,
		// referer, user agent.
		line := regexp.MustCompile(`\[[^]]+\] "GET /\?from=logs HTTP/1\.1" 200 \d+ "-" "` + regexp.QuoteMeta(forward.UserAgent) + `"`)
		t.RunUntil(ctx, logsTail2, t.Timeouts().Controller, "the container's log does not show the request", ContainElement(MatchRegexp(line.String())))
	},
}

var logsByLabel = spec.Claim{
	Claim: book.Claim{ID: "2.4/logs-by-label", Labels: []string{"inside", "logs", "port-forward"},
		Says:  "a Deployment's Pod's logs are found by its label",
		Steps: []book.Step{forward4, logsByApp4}},
	Shares: applied,
	Body: func(ctx SpecContext, t *spec.T) {
		t.PageMustBeServed(ctx, t.Forward(ctx, forward4), "/?from=label", heading)
		t.RunUntil(ctx, logsByApp4, t.Timeouts().Controller, "the Deployment's Pod's last log line is not the request", ContainElement(ContainSubstring(`"GET /?from=label HTTP/1.1" 200`)))
	},
}

var cp = spec.Claim{
	Claim: book.Claim{ID: "2.4/cp", Labels: []string{"inside", "cp", "port-forward"},
		Says:  "the page copied out of the container is the page it serves",
		Steps: []book.Step{cpPage, forwardPod}},
	Shares: onePod,
	Body: func(ctx SpecContext, t *spec.T) {
		dir := t.TempDir()
		Expect(os.MkdirAll(filepath.Join(dir, "kiamol", "ch02"), 0o755)).To(Succeed())
		t.Run(ctx, cpPage, spec.In(dir))
		copied, err := os.ReadFile(filepath.Join(dir, "kiamol", "ch02", "index.html"))
		Expect(err).NotTo(HaveOccurred(), "kubectl cp wrote kiamol/ch02/index.html in %s", dir)
		Expect(string(copied)).To(ContainSubstring(heading))

		served := t.PageMustBeServed(ctx, t.Forward(ctx, forwardPod), "/", heading)
		Expect(served.Body).To(Equal(string(copied)), "the file in the container is the page it serves")
	},
}
