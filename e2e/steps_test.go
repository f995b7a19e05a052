package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/forward"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/kubectl"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/namespaces"
)

// The vocabulary the chapters' specs speak: each step is a command the
// reader types, run through kubectl; each check reads the API.

// claim declares the spec that proves one of a chapter's claims. Its text
// and labels come from the chapter's descriptor (fixtures): "[2.1/pod-ready]
// <the claim's sentence>", labelled with the chapter and the claim's own
// labels. The verdict finds each claim's spec by that ID and owes a line to
// every claim the descriptor lists; an ID the descriptor does not list stops
// the suite from building its tree at all.
func claim(id string, args ...any) bool {
	ch, c, err := fixtures.FindClaim(id)
	if err != nil {
		panic(fmt.Sprintf("a spec names claim %q: %v; list it in the chapter's descriptor (fixtures)", id, err))
	}
	decorations := []any{Label(append([]string{ch.ID}, c.Labels...)...), Offset(1)}
	return It(fixtures.ClaimPrefix(id)+c.Says, append(decorations, args...)...)
}

// namespace gives the current spec its own namespace and a kubectl in it.
func namespace(ctx context.Context, prefix string) (string, kubectl.Kubectl) {
	GinkgoHelper()
	ns := namespaces.Create(ctx, namespaces.Input{
		Clientset: clientset, Prefix: prefix, Owner: the.Owner, Artifacts: the.Artifacts,
		// No wait per spec: measured here, a spec's namespace takes 4-5 s to
		// go, which each process would spend idle; the run waits once, at
		// its end, for all its namespaces at a time (SynchronizedAfterSuite).
		Gone: 0, Poll: timeouts.Poll, Stuck: namespacesStuck,
	})
	return ns, kube().In(ns)
}

// namespacesStuck says why no namespace can be deleted: the namespace
// controller runs in kube-controller-manager.
func namespacesStuck(ctx context.Context) string {
	if p := health.Established(ctx); diagnose.ControllerDown(p, "kube-controller-manager") {
		return "cluster: " + p
	}
	return ""
}

// mustRun runs a reader's command and fails the spec, with kubectl's own
// words, if it fails.
func mustRun(ctx context.Context, k kubectl.Kubectl, args ...string) kubectl.Result {
	GinkgoHelper()
	By(kubectl.Line(args...))
	r, err := k.Run(ctx, args...)
	var e *kubectl.Error
	if errors.As(err, &e) {
		// kubectl's reason first, then the command: one line that says why.
		Fail(fmt.Sprintf("%s (%s, exit %d)", e.Said(), kubectl.Line(args...), e.ExitCode))
	}
	Expect(err).NotTo(HaveOccurred(), "%s", kubectl.Line(args...))
	return r
}

// image is the image a chapter's step runs: the book's, unless
// E2E_REPLACE_IMAGES swaps it.
func image(ref string) string {
	if r := replace[ref]; r != "" {
		return r
	}
	return ref
}

// podMustBeReady waits until the Pod is Running and Ready. While it is not,
// it asks what is wrong (the kubelet's reason, the node, the controllers),
// stops at once when that is certain, and fails with it.
func podMustBeReady(ctx context.Context, ns, name string) *corev1.Pod {
	GinkgoHelper()
	var seen *corev1.Pod
	Eventually(ctx, func(g Gomega) *corev1.Pod {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		seen = p
		if !isReady(p) {
			if c := health.Pod(ctx, p); c.Final {
				StopTrying(fmt.Sprintf("pod %s/%s cannot become Ready: %s", ns, name, c.Why)).Now()
			}
		}
		return p
	}).WithTimeout(timeouts.PodReady).WithPolling(timeouts.Poll).Should(beRunningAndReady(), func() string {
		return fmt.Sprintf("pod %s/%s not Ready: %s", ns, name, health.Pod(ctx, seen).Why)
	})
	return seen
}

func isReady(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && diagnose.PodReady(p) }

// selected lists the Pods a selector picks that are not being deleted, as
// `kubectl get pods -l ...` shows them once deletion is done.
func selected(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	list, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// deploymentMustRun waits until the Deployment's selector picks exactly n
// Pods, all Running and Ready, and returns them; while it does not, the
// first unready Pod's cause leads the message.
func deploymentMustRun(ctx context.Context, ns, name string, n int) (*appsv1.Deployment, []corev1.Pod) {
	GinkgoHelper()
	var d *appsv1.Deployment
	var pods []corev1.Pod
	Eventually(ctx, func(g Gomega) []corev1.Pod {
		var err error
		d, err = clientset.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		g.Expect(err).NotTo(HaveOccurred())
		pods, err = selected(ctx, ns, sel.String())
		g.Expect(err).NotTo(HaveOccurred())
		if len(pods) != n || !everyReady(pods) {
			if c := health.Deployment(ctx, ns, name); c.Final {
				StopTrying(fmt.Sprintf("deployment %s/%s cannot run %d Ready Pod(s): %s", ns, name, n, c.Why)).Now()
			}
		}
		return pods
	}).WithTimeout(timeouts.PodReady).WithPolling(timeouts.Poll).Should(And(HaveLen(n), allRunningAndReady()), func() string {
		return fmt.Sprintf("deployment %s/%s lacks %d Ready Pod(s): %s", ns, name, n, health.Deployment(ctx, ns, name).Why)
	})
	return d, pods
}

func everyReady(pods []corev1.Pod) bool {
	for i := range pods {
		if !isReady(&pods[i]) {
			return false
		}
	}
	return true
}

// forwardTo runs `kubectl port-forward TARGET :80` for the rest of the spec.
func forwardTo(ctx context.Context, k kubectl.Kubectl, target string) *forward.Session {
	GinkgoHelper()
	By(kubectl.Line("port-forward", target, ":80"))
	s, err := forward.Start(ctx, k, target, 80, timeouts.PortForward)
	if err != nil {
		// kubectl's own words lead: the API server's or the kubelet's.
		Fail(err.Error())
	}
	DeferCleanup(s.Close)
	return s
}

// pageMustBeServed fetches path through the forward until it answers 200
// with a body holding want, and returns the page.
func pageMustBeServed(ctx context.Context, s *forward.Session, path, want string) forward.Page {
	GinkgoHelper()
	var page forward.Page
	var last error
	Eventually(ctx, func() (forward.Page, error) {
		if s.Ended() {
			// kubectl gave up the forward: nothing more will come through it.
			StopTrying(fmt.Sprintf("%s: GET %s through `%s` cannot be served", s.Problem(), path, s.Command())).Now()
		}
		page, last = forward.Get(ctx, s, path, timeouts.PortForward/4)
		if last == nil && page.Status == 200 && !strings.Contains(page.Body, want) {
			// The app answered, and not with the page: that will not change.
			StopTrying(fmt.Sprintf("GET %s through `%s` answered with another page: %.120q", path, s.Command(), page.Body)).Now()
		}
		return page, last
	}).WithTimeout(timeouts.PortForward).WithPolling(timeouts.Poll).Should(And(
		HaveField("Status", 200),
		HaveField("Body", ContainSubstring(want)),
	), func() string {
		// What the forwarder said comes first: the cause is usually on
		// the pod's side of the tunnel.
		seen := fmt.Sprintf("HTTP %d %.60q", page.Status, page.Body)
		if last != nil {
			seen = last.Error()
		}
		if p := s.Problem(); p != "" {
			return fmt.Sprintf("%s: GET %s through `%s` did not serve %q (%s)", p, path, s.Command(), want, seen)
		}
		return fmt.Sprintf("GET %s through `%s` did not serve %q: %s", path, s.Command(), want, seen)
	})
	return page
}

// manifestPath is where kubectl apply -f reads a chapter's manifest from:
// the user's file (MANIFESTS) or the suite's copy, with E2E_REPLACE_IMAGES
// applied, written to a folder of the spec's own.
func manifestPath(ch *fixtures.Chapter, file string) string {
	GinkgoHelper()
	raw, path, err := ch.Manifest(the.Manifests, file)
	Expect(err).NotTo(HaveOccurred(), "read %s", path)
	if the.Manifests != "" && len(replace) == 0 {
		return path
	}
	text := string(raw)
	for from, to := range replace {
		text = strings.ReplaceAll(text, "image: "+from+"\n", "image: "+to+"\n")
	}
	out := filepath.Join(GinkgoT().TempDir(), filepath.FromSlash(file))
	Expect(os.MkdirAll(filepath.Dir(out), 0o755)).To(Succeed())
	Expect(os.WriteFile(out, []byte(text), 0o644)).To(Succeed())
	return out
}

// chapterManifest is a manifest's bytes, as manifestPath would apply them.
func chapterManifest(ch *fixtures.Chapter, file string) []byte {
	GinkgoHelper()
	raw, err := os.ReadFile(manifestPath(ch, file))
	Expect(err).NotTo(HaveOccurred())
	return raw
}

// lines splits kubectl's output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, " \r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}
