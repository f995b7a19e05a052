package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	apimachinerywait "k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/yaml"

	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/internal/forward"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
	"github.com/kiamol-e2e/kiamol-e2e/internal/tempdir"
)

// The vocabulary the chapters' specs speak: each step is a command the
// reader types, run through kubectl; each check reads the API; each wait is
// e2e-framework's (klient/wait over its conditions), and stops as soon as
// the cluster shows a cause that waiting cannot change.

// namespace gives the current spec its own namespace and a kubectl in it.
// It is deleted when the spec ends, without a wait: measured here, a spec's
// namespace takes 4-5 s to go, which each process would spend idle.
func (k *Suite) namespace(ctx context.Context, prefix string) (string, kubectl.Kubectl) {
	GinkgoHelper()
	ns := k.spaces.Create(ctx, prefix)
	return ns, k.kube().In(ns)
}

// image is the image a chapter's step runs: the book's, unless
// E2E_REPLACE_IMAGES swaps it.
func (k *Suite) image(ref string) string {
	if r := k.settings.ReplaceImages[ref]; r != "" {
		return r
	}
	return ref
}

// await polls cond every Poll until it holds, within limit: e2e-framework's
// wait. A condition that returns an error ends the wait at once with it: the
// conditions below do so when the cluster shows a cause waiting cannot
// change.
func (k *Suite) await(ctx context.Context, limit time.Duration, cond apimachinerywait.ConditionWithContextFunc) error {
	return wait.For(cond, wait.WithContext(ctx), wait.WithTimeout(limit), wait.WithInterval(k.timeouts.Poll), wait.WithImmediate())
}

// final is a cause that waiting cannot change: it ends an await.
type final struct{ why string }

func (f final) Error() string { return f.why }

// failWait fails the spec with a wait's outcome: a final cause as it is,
// else what the cluster showed when time ran out.
func failWait(err error, timedOut func() string) {
	GinkgoHelper()
	var f final
	if errors.As(err, &f) {
		failBecause(LayerCluster, f.why)
	}
	failBecause(LayerCluster, timedOut())
}

// unlessBroken is a wait's condition that also stops, with the cluster's
// own cause, once the cluster shows it is broken (a node not reporting, a
// controller without a leader): a wait on what a controller does cannot end
// well then. what names the wait, to lead its line.
func (k *Suite) unlessBroken(what string, cond func(context.Context) (bool, error)) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		if ok, err := cond(ctx); err == nil && ok {
			return true, nil
		}
		if broken := k.health.Established(ctx); len(broken) > 0 {
			return false, final{fmt.Sprintf("%s: cluster: %s", what, broken)}
		}
		return false, nil
	}
}

// podMustBeReady waits until the Pod is Running and Ready (e2e-framework's
// PodReady condition). While it is not, it asks what is wrong (the
// kubelet's reason, the node, the controllers), stops at once when that is
// certain, and fails with it.
func (k *Suite) podMustBeReady(ctx context.Context, ns, name string) *corev1.Pod {
	GinkgoHelper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	ready := conditions.New(k.klient).PodReady(pod)
	err := k.await(ctx, k.timeouts.PodReady, func(ctx context.Context) (bool, error) {
		if ok, err := ready(ctx); err == nil && ok && diagnose.Ready(pod) {
			return true, nil
		}
		if c := k.health.Pod(ctx, pod); c.Final {
			return false, final{fmt.Sprintf("pod %s/%s cannot become Ready: %s", ns, name, c.Why)}
		}
		return false, nil
	})
	if err != nil {
		failWait(err, func() string {
			return fmt.Sprintf("pod %s/%s not Ready after %s: %s", ns, name, k.timeouts.PodReady, k.health.Pod(context.WithoutCancel(ctx), pod).Why)
		})
	}
	return pod
}

// live says a Pod is not being deleted: what `kubectl get pods` shows once
// deletion is done.
func live(p *corev1.Pod) bool { return p.DeletionTimestamp == nil }

// selected lists the Pods a selector picks that are not being deleted.
func (k *Suite) selected(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := k.in(ns).List(ctx, &list, resources.WithLabelSelector(selector)); err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if live(&p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// in is e2e-framework's client scoped to one namespace (for its lists): a
// copy, so specs never share a scope.
func (k *Suite) in(ns string) *resources.Resources {
	r := *k.klient
	return r.WithNamespace(ns)
}

// deploymentMustRun waits until the Deployment's selector picks exactly n
// Pods, all Running and Ready (e2e-framework's ResourceListMatchN over the
// selected Pods), and returns them; while it does not, the first unready
// Pod's cause, or its ReplicaSet's, leads the message.
func (k *Suite) deploymentMustRun(ctx context.Context, ns, name string, n int) (*appsv1.Deployment, []corev1.Pod) {
	GinkgoHelper()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	var pods []corev1.Pod
	err := k.await(ctx, k.timeouts.PodReady, func(ctx context.Context) (bool, error) {
		if err := k.klient.Get(ctx, name, ns, d); err == nil {
			if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
				var list corev1.PodList
				enough, err := conditions.New(k.in(ns)).ResourceListMatchN(&list, n, func(o k8s.Object) bool {
					p := o.(*corev1.Pod)
					return live(p) && diagnose.Ready(p)
				}, resources.WithLabelSelector(sel.String()))(ctx)
				pods = pods[:0]
				for _, p := range list.Items {
					if live(&p) {
						pods = append(pods, p)
					}
				}
				if err == nil && enough && len(pods) == n {
					return true, nil
				}
			}
		}
		if c := k.health.Deployment(ctx, ns, name); c.Final {
			// The cause first: the deployment's own name is context.
			return false, final{fmt.Sprintf("%s (deployment %s/%s cannot run %d Ready Pod(s))", c.Why, ns, name, n)}
		}
		return false, nil
	})
	if err != nil {
		failWait(err, func() string {
			return fmt.Sprintf("deployment %s/%s lacks %d Ready Pod(s) after %s: %s", ns, name, n, k.timeouts.PodReady, k.health.Deployment(context.WithoutCancel(ctx), ns, name).Why)
		})
	}
	return d, pods
}

// pageMustBeServed fetches path through the forward until it answers 200
// with a body holding want, and returns the page.
func (k *Suite) pageMustBeServed(ctx context.Context, s *forward.Session, path, want string) forward.Page {
	GinkgoHelper()
	var page forward.Page
	var last error
	Eventually(ctx, func() (forward.Page, error) {
		if s.Ended() {
			// kubectl gave up the forward: nothing more will come through it.
			stopBecause(LayerPortForward, fmt.Sprintf("%s: GET %s through `%s` cannot be served", s.Problem(), path, s.Command()))
		}
		page, last = forward.Get(ctx, s, path, k.timeouts.PortForward/4)
		if last == nil && page.Status == 200 && !strings.Contains(page.Body, want) {
			// The app answered, and not with the page: that will not change.
			stopBecause(LayerPortForward, fmt.Sprintf("GET %s through `%s` answered with another page: %.120q", path, s.Command(), page.Body))
		}
		return page, last
	}).WithTimeout(k.timeouts.PortForward).WithPolling(k.timeouts.Poll).Should(And(
		HaveField("Status", 200),
		HaveField("Body", ContainSubstring(want)),
	), because(LayerPortForward, func() string {
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
	}))
	return page
}

// tempDir is a folder of the spec's own, removed when the spec ends. One
// that cannot be removed is a cleanup line in the verdict: whatever the
// claim proved, it proved before its clean-up, and a file left in the
// temporary folder harms nothing of the cluster.
func tempDir() string {
	GinkgoHelper()
	dir, err := os.MkdirTemp("", "kiamol-e2e-spec-")
	Expect(err).NotTo(HaveOccurred(), "a temporary folder for the spec")
	DeferCleanup(func() {
		if err := tempdir.Remove(dir); err != nil {
			AddReportEntry(CleanupEntry, err.Error(), ReportEntryVisibilityAlways)
		}
	})
	return dir
}

// manifestDir is the chapter's folder as kubectl apply -f reads it, laid
// out as the book's: the user's (MANIFESTS), or the suite's copy written
// to a folder of the claim's own, with E2E_REPLACE_IMAGES applied to a
// decoded copy (klient's decoder: every document, typed).
func (t *T) manifestDir(ctx context.Context) string {
	GinkgoHelper()
	if t.dir != "" {
		return t.dir
	}
	s := t.settings
	if s.Manifests != "" && len(s.ReplaceImages) == 0 {
		t.dir = t.chapter.Folder(s.Manifests)
		return t.dir
	}
	dir := tempDir()
	for _, o := range t.chapter.Objects {
		raw, path, err := t.chapter.Manifest(s.Manifests, o.File)
		Expect(err).NotTo(HaveOccurred(), "read %s", path)
		if len(s.ReplaceImages) > 0 {
			raw, err = ReplaceImages(ctx, raw, s.ReplaceImages)
			Expect(err).NotTo(HaveOccurred(), "replace the images of %s", path)
		}
		out := filepath.Join(dir, filepath.FromSlash(o.File))
		Expect(os.MkdirAll(filepath.Dir(out), 0o755)).To(Succeed())
		Expect(os.WriteFile(out, raw, 0o644)).To(Succeed())
	}
	t.dir = dir
	return dir
}

// ManifestBytes is one of the chapter's manifests as kubectl apply -f reads
// it (manifestDir).
func (t *T) ManifestBytes(ctx context.Context, file string) []byte {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join(t.manifestDir(ctx), filepath.FromSlash(file)))
	Expect(err).NotTo(HaveOccurred())
	return raw
}

// ReplaceImages decodes a manifest's documents, gives every container of
// its Pods and Deployments the replacement for its image, and encodes them
// again, one document each.
func ReplaceImages(ctx context.Context, raw []byte, replace map[string]string) ([]byte, error) {
	objs, err := decoder.DecodeAll(ctx, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, o := range objs {
		var spec *corev1.PodSpec
		switch v := o.(type) {
		case *corev1.Pod:
			spec = &v.Spec
		case *appsv1.Deployment:
			spec = &v.Spec.Template.Spec
		}
		if spec != nil {
			for i := range spec.Containers {
				if to := replace[spec.Containers[i].Image]; to != "" {
					spec.Containers[i].Image = to
				}
			}
		}
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return bytes.Join(out, []byte("---\n")), nil
}

// Lines splits kubectl's output into its non-empty lines.
func Lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, " \r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}
