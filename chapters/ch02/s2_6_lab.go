package ch02

import (
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 2.6, the lab: a Deployment of the whoami app whose Pods and selector
// carry two labels; the app names the Pod it runs in. It reads what the
// chapter's manifests made (applied).

var (
	getPodsWhoami = book.Kubectl("kubectl get pods -l app=whoami,version=ch02")
	forwardWhoami = book.Kubectl("kubectl port-forward deploy/whoami 8080:80").Sub("8080:80", "--address=127.0.0.1 :80", freePort)
	execWhoami    = book.Kubectl("kubectl exec deploy/whoami -- sh -c 'hostname'")
)

var labLabels = spec.Claim{
	Claim: book.Claim{ID: "2.6/lab-labels", Labels: []string{"lab"},
		Says:  "the lab's Deployment whoami runs from its manifest, labelled and selected by app=whoami and version=ch02",
		Steps: []book.Step{getPodsWhoami}},
	Shares: applied,
	Body: func(ctx SpecContext, t *spec.T) {
		d, pods := t.DeploymentMustRun(ctx, "whoami", 1)
		want := map[string]string{"app": "whoami", "version": "ch02"}
		Expect(d.Labels).To(Equal(want))
		Expect(d.Spec.Selector.MatchLabels).To(Equal(want), "the selector needs both labels")
		Expect(pods[0].Labels).To(And(HaveKeyWithValue("app", "whoami"), HaveKeyWithValue("version", "ch02")))
		byLabels := t.Run(ctx, getPodsWhoami)
		Expect(spec.Names(byLabels.Stdout)).To(Equal([]string{pods[0].Name}))
	},
}

var labWhoami = spec.Claim{
	Claim: book.Claim{ID: "2.6/lab-whoami", Labels: []string{"lab", "port-forward", "exec"},
		Says:  `the app answers "I'm <pod name> running on <OS>", naming the Pod kubectl exec deploy/whoami reaches`,
		Steps: []book.Step{forwardWhoami, execWhoami}},
	Shares: applied,
	Body: func(ctx SpecContext, t *spec.T) {
		_, pods := t.DeploymentMustRun(ctx, "whoami", 1)
		page := t.PageMustBeServed(ctx, t.Forward(ctx, forwardWhoami), "/", "I'm ")
		var answer string
		Expect(json.Unmarshal([]byte(page.Body), &answer)).To(Succeed(), "the app answers with a JSON string: %s", page.Body)
		Expect(answer).To(MatchRegexp(`^I'm \S+ running on \S.*`), "I'm <host> running on <OS>")
		host := strings.Fields(answer)[1]
		Expect(host).To(Equal(pods[0].Name), "the app's host name is its Pod's name")

		out := t.Run(ctx, execWhoami)
		Expect(strings.TrimSpace(out.Stdout)).To(Equal(host), "kubectl exec deploy/whoami reaches the same Pod")
	},
}
