package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
)

// manifests is chapter 2, section 2.3: defining Deployments in application
// manifests. What the chapter's manifests make is read by the claims of
// chapter2Manifests; a manifest from a URL needs a namespace of its own (it
// makes hello-kiamol-3 again).
func (k *Suite) manifests() {
	ch := fixtures.Chapter2
	Describe("2.3 Manifests: from a URL", SpecPriority(50), func() {
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

// chapter2Manifests are the claims that read what pod.yaml, deployment.yaml
// and lab/solution/deployment.yaml made in one namespace: 2.3's shapes, 2.4's
// logs by label, the lab (2.6), and the check that the lab's image pulls
// untagged.
func (k *Suite) chapter2Manifests(a *applied) {
	claim("2.3/apply", func(ctx SpecContext) {
		k.podMustBeReady(ctx, a.ns, "hello-kiamol-3")
		_, pods := k.deploymentMustRun(ctx, a.ns, "hello-kiamol-4", 1)
		Expect(pods[0].Labels).To(HaveKeyWithValue("app", "hello-kiamol-4"))
		byLabel := mustRun(ctx, a.kc, "get", "pods", "-l", "app=hello-kiamol-4", "-o", "name")
		Expect(lines(byLabel.Stdout)).To(Equal([]string{"pod/" + pods[0].Name}), "kubectl get pods -l app=hello-kiamol-4")
	}, SpecTimeout(k.timeouts.Chapter))

	claim("2.4/logs-by-label", func(ctx SpecContext) {
		k.pageMustBeServed(ctx, k.forwardTo(ctx, a.kc, "deploy/hello-kiamol-4"), "/?from=label", fixtures.HelloKiamolHeading)
		Eventually(ctx, func() (string, error) {
			r, err := a.kc.Run(ctx, "logs", "--tail=1", "-l", "app=hello-kiamol-4")
			return r.Stdout, err
		}).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).Should(ContainSubstring(`"GET /?from=label HTTP/1.1" 200`),
			"the Deployment's Pod's last log line is the request")
	}, SpecTimeout(k.timeouts.Chapter))

	// 2.6, the lab: a Deployment of the whoami app whose Pods and selector
	// carry two labels; the app names the Pod it runs in.
	claim("2.6/lab-labels", func(ctx SpecContext) {
		d, pods := k.deploymentMustRun(ctx, a.ns, "whoami", 1)
		want := map[string]string{"app": "whoami", "version": "ch02"}
		Expect(d.Labels).To(Equal(want))
		Expect(d.Spec.Selector.MatchLabels).To(Equal(want), "the selector needs both labels")
		Expect(pods[0].Labels).To(And(HaveKeyWithValue("app", "whoami"), HaveKeyWithValue("version", "ch02")))
		byLabels := mustRun(ctx, a.kc, "get", "pods", "-l", "app=whoami,version=ch02", "-o", "custom-columns=NAME:metadata.name", "--no-headers")
		Expect(lines(byLabels.Stdout)).To(Equal([]string{pods[0].Name}))
	}, SpecTimeout(k.timeouts.Chapter))

	claim("2.6/lab-whoami", func(ctx SpecContext) {
		_, pods := k.deploymentMustRun(ctx, a.ns, "whoami", 1)
		page := k.pageMustBeServed(ctx, k.forwardTo(ctx, a.kc, "deploy/whoami"), "/", "I'm ")
		var answer string
		Expect(json.Unmarshal([]byte(page.Body), &answer)).To(Succeed(), "the app answers with a JSON string: %s", page.Body)
		Expect(answer).To(MatchRegexp(`^I'm \S+ running on \S.*`), "I'm <host> running on <OS>")
		host := strings.Fields(answer)[1]
		Expect(host).To(Equal(pods[0].Name), "the app's host name is its Pod's name")

		out := mustRun(ctx, a.kc, "exec", "deploy/whoami", "--", "sh", "-c", "hostname")
		Expect(strings.TrimSpace(out.Stdout)).To(Equal(host), "kubectl exec deploy/whoami reaches the same Pod")
	}, SpecTimeout(k.timeouts.Chapter))

	k.imageCheck(fixtures.Whoami, func(ctx context.Context) *corev1.Pod {
		_, pods := k.deploymentMustRun(ctx, a.ns, "whoami", 1)
		return &pods[0]
	})
}
