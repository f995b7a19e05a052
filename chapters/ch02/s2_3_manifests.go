package ch02

import (
	"context"
	"net/http"
	"net/http/httptest"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 2.3: defining Deployments in application manifests. Every manifest of
// the chapter is applied in one namespace (applied), read by 2.3's, 2.4's
// and the lab's claims; a manifest from a URL makes hello-kiamol-3 again,
// so it has a namespace of its own.

var applied = withImageChecks(spec.Manifests("ch02: every manifest applied in one namespace, read by each claim",
	applyPod, applyDeployment, applyLab))

// withImageChecks adds the check that the lab's image pulls untagged, read
// off the lab's Pod.
func withImageChecks(f *spec.Fixture) *spec.Fixture {
	f.Images = []spec.ImageCheck{{Ref: Whoami, Of: func(ctx context.Context, t *spec.T) *corev1.Pod {
		_, pods := t.DeploymentMustRun(ctx, "whoami", 1)
		return &pods[0]
	}}}
	return f
}

var getPodsByApp4 = book.Kubectl("kubectl get pods -l app=hello-kiamol-4")

var apply = spec.Claim{
	Claim: book.Claim{ID: "2.3/apply", Labels: []string{"manifests"},
		Says:  "kubectl apply -f of pod.yaml and deployment.yaml gives the same shapes: a Ready Pod hello-kiamol-3, one Ready Pod labelled app=hello-kiamol-4",
		Steps: []book.Step{getPodsByApp4}},
	Shares: applied,
	Body: func(ctx SpecContext, t *spec.T) {
		t.PodMustBeReady(ctx, "hello-kiamol-3")
		_, pods := t.DeploymentMustRun(ctx, "hello-kiamol-4", 1)
		Expect(pods[0].Labels).To(HaveKeyWithValue("app", "hello-kiamol-4"))
		byLabel := t.Run(ctx, getPodsByApp4)
		Expect(spec.Names(byLabel.Stdout)).To(Equal([]string{pods[0].Name}), "kubectl get pods -l app=hello-kiamol-4")
	},
}

// applyFromURL: a server on this machine stands in for GitHub; kubectl
// fetches the manifest itself, as it would the book's URL.
var applyFromURL = book.Kubectl("kubectl apply -f https://raw.githubusercontent.com/sixeyed/kiamol/master/ch02/pod.yaml").
	SubAtRun("https://raw.githubusercontent.com/sixeyed/kiamol/master/ch02/pod.yaml", "a server on this machine serves the chapter's pod.yaml in GitHub's place")

var applyURL = spec.Claim{
	Claim: book.Claim{ID: "2.3/apply-url", Labels: []string{"manifests"},
		Says:  "a manifest can be applied from a URL",
		Steps: []book.Step{applyFromURL}},
	Priority: 50,
	Body: func(ctx SpecContext, t *spec.T) {
		page := t.ManifestBytes(ctx, "pod.yaml")
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/ch02/pod.yaml" {
				http.NotFound(w, r)
				return
			}
			_, _ = w.Write(page)
		}))
		DeferCleanup(server.Close)

		out := t.Run(ctx, applyFromURL, spec.Put(applyFromURL.Subs[0].Word, server.URL+"/ch02/pod.yaml"))
		Expect(out.Stdout).To(Equal("pod/hello-kiamol-3 created\n"))
		t.PodMustBeReady(ctx, "hello-kiamol-3")
	},
}

var applyAgain = spec.Claim{
	Claim: book.Claim{ID: "2.3/apply-again", Labels: []string{"manifests"},
		Says:  "every manifest of the chapter applies, and applying it again changes nothing (unchanged; resourceVersion and generation as before)",
		Steps: []book.Step{applyPod, applyDeployment, applyLab}},
	Shares: applied,
	Body:   spec.ApplyAgain,
}
