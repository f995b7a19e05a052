package spec

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gtypes "github.com/onsi/gomega/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/forward"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// The vocabulary a claim's body speaks, in its own namespace: each wait is
// the Suite's, which stops as soon as the cluster shows a cause waiting
// cannot change, and fails with it.

// PodMustBeReady waits until the Pod is Running and Ready, and returns it.
func (t *T) PodMustBeReady(ctx context.Context, name string) *corev1.Pod {
	GinkgoHelper()
	return t.podMustBeReady(ctx, t.ns, name)
}

// DeploymentMustRun waits until the Deployment's selector picks exactly n
// Pods, all Running and Ready, and returns them.
func (t *T) DeploymentMustRun(ctx context.Context, name string, n int) (*appsv1.Deployment, []corev1.Pod) {
	GinkgoHelper()
	return t.deploymentMustRun(ctx, t.ns, name, n)
}

// PageMustBeServed fetches path through the forward until it answers 200
// with a body holding want, and returns the page.
func (t *T) PageMustBeServed(ctx context.Context, s *forward.Session, path, want string) forward.Page {
	GinkgoHelper()
	return t.pageMustBeServed(ctx, s, path, want)
}

// Selected lists the namespace's Pods a selector picks that are not being
// deleted ("" picks every Pod).
func (t *T) Selected(ctx context.Context, selector string) ([]corev1.Pod, error) {
	return t.selected(ctx, t.ns, selector)
}

// PodsNamed lists, for Eventually, the Pods whose names start with prefix
// and that are not being deleted, as `kubectl get pods` shows them once
// deletion is done.
func (t *T) PodsNamed(ctx context.Context, prefix string) func(Gomega) []corev1.Pod {
	return func(g Gomega) []corev1.Pod {
		pods, err := t.Selected(ctx, "")
		g.Expect(err).NotTo(HaveOccurred())
		var out []corev1.Pod
		for _, p := range pods {
			if strings.HasPrefix(p.Name, prefix) {
				out = append(out, p)
			}
		}
		return out
	}
}

// WaitUntil polls cond within limit; it stops early, with the cluster's
// own cause, once the cluster shows it is broken (what names the wait),
// and fails with timedOut's line when time runs out.
func (t *T) WaitUntil(ctx context.Context, limit time.Duration, what string, cond func(context.Context) (bool, error), timedOut func() string) {
	GinkgoHelper()
	if err := t.await(ctx, limit, t.unlessBroken(what, cond)); err != nil {
		failWait(err, timedOut)
	}
}

// Resources is e2e-framework's client in the claim's namespace.
func (t *T) Resources() *resources.Resources { return t.in(t.ns) }

// Client is client-go's typed client for the cluster.
func (t *T) Client() kubernetes.Interface { return t.client }

// Timeouts are the run's bounds.
func (t *T) Timeouts() settings.Timeouts { return t.timeouts }

// DeploymentCause is what the cluster shows of why the Deployment does not
// run as asked, for a claim's own wait's message.
func (t *T) DeploymentCause(ctx context.Context, name string) string {
	return t.health.Deployment(context.WithoutCancel(ctx), t.ns, name).Why
}

// Image is the image a step runs for one of the chapter's: the book's,
// unless E2E_REPLACE_IMAGES swaps it.
func (t *T) Image(ref string) string { return t.image(ref) }

// TempDir is a folder of the claim's own, removed when it ends.
func (t *T) TempDir() string {
	GinkgoHelper()
	return tempDir()
}

// PodLog is the Pod's container log as the API serves it.
func (t *T) PodLog(ctx context.Context, pod string) (string, error) {
	raw, err := t.client.CoreV1().Pods(t.ns).GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("logs of pod %s/%s: %w", t.ns, pod, err)
	}
	return string(raw), nil
}

// Names are the first column of a kubectl table's rows (the NAME column
// of `kubectl get pods`), its header left out.
func Names(table string) []string {
	var out []string
	for i, l := range Lines(table) {
		if i == 0 {
			continue
		}
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}

// AllRunningAndReady matches a non-empty list of Pods all Running and
// Ready, describing each when it does not.
func AllRunningAndReady() gtypes.GomegaMatcher { return allRunningAndReady() }

// Deleted matches kubectl delete's line for one object; newer kubectl
// versions add the namespace it was deleted from.
func Deleted(kind, name string) gtypes.GomegaMatcher {
	return Or(Equal(kind+` "`+name+`" deleted`), And(HavePrefix(kind+` "`+name+`" deleted from `), HaveSuffix(" namespace")))
}

// lists says the step is one the T may run.
func (t *T) lists(step book.Step) bool {
	return slices.ContainsFunc(t.steps, func(s book.Step) bool { return s.Book == step.Book })
}
