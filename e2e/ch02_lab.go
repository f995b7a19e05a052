package e2e

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/kubectl"
)

// lab is chapter 2, section 2.6: a Deployment of the whoami app whose Pods
// and selector carry two labels; the app names the Pod it runs in.
func (k *Suite) lab() {
	Describe("2.6 Lab", Ordered, ContinueOnFailure, func() {
		// Both claims only read the lab's Deployment: they share it.
		var (
			kc   kubectl.Kubectl
			d    *appsv1.Deployment
			pods []corev1.Pod
		)
		BeforeAll(func(ctx SpecContext) {
			var ns string
			ns, kc = k.namespace(ctx, "lab")
			Expect(mustRun(ctx, kc, "apply", "-f", k.manifestPath(ctx, fixtures.Chapter2, "lab/solution/deployment.yaml")).Stdout).To(Equal("deployment.apps/whoami created\n"))
			d, pods = k.deploymentMustRun(ctx, ns, "whoami", 1)
		}, NodeTimeout(k.timeouts.Chapter))

		claim("2.6/lab-labels", func(ctx SpecContext) {
			want := map[string]string{"app": "whoami", "version": "ch02"}
			Expect(d.Labels).To(Equal(want))
			Expect(d.Spec.Selector.MatchLabels).To(Equal(want), "the selector needs both labels")
			Expect(pods[0].Labels).To(And(HaveKeyWithValue("app", "whoami"), HaveKeyWithValue("version", "ch02")))
			byLabels := mustRun(ctx, kc, "get", "pods", "-l", "app=whoami,version=ch02", "-o", "custom-columns=NAME:metadata.name", "--no-headers")
			Expect(lines(byLabels.Stdout)).To(Equal([]string{pods[0].Name}))
		}, SpecTimeout(k.timeouts.Chapter))

		claim("2.6/lab-whoami", func(ctx SpecContext) {
			page := k.pageMustBeServed(ctx, k.forwardTo(ctx, kc, "deploy/whoami"), "/", "I'm ")
			var answer string
			Expect(json.Unmarshal([]byte(page.Body), &answer)).To(Succeed(), "the app answers with a JSON string: %s", page.Body)
			Expect(answer).To(MatchRegexp(`^I'm \S+ running on \S.*`), "I'm <host> running on <OS>")
			host := strings.Fields(answer)[1]
			Expect(host).To(Equal(pods[0].Name), "the app's host name is its Pod's name")

			out := mustRun(ctx, kc, "exec", "deploy/whoami", "--", "sh", "-c", "hostname")
			Expect(strings.TrimSpace(out.Stdout)).To(Equal(host), "kubectl exec deploy/whoami reaches the same Pod")
		}, SpecTimeout(k.timeouts.Chapter))
	})
}
