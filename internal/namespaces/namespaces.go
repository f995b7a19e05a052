// Package namespaces gives each spec a namespace of its own: created before
// the spec, labelled with the run and its owner, and deleted after it with
// DeferCleanup. When the spec failed, the namespace's events, pods and
// container logs are put in the report and the artifacts folder first.
package namespaces

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/internal/sweep"
)

// Keeper makes one run's spec namespaces and renews the heartbeat Lease in
// those not yet deleted, so no other run takes them for abandoned.
type Keeper struct {
	Clientset kubernetes.Interface
	Owner     sweep.Owner // the run, for a later run's sweep
	Artifacts string      // where a failed spec's evidence goes

	mu   sync.Mutex
	live map[string]bool
	beat sync.Once
}

func (k *Keeper) liveNames() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for n := range k.live {
		out = append(out, n)
	}
	return out
}

func (k *Keeper) track(name string, live bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.live == nil {
		k.live = map[string]bool{}
	}
	if live {
		k.live[name] = true
	} else {
		delete(k.live, name)
	}
}

// Create makes a namespace "<prefix>-<random>" and schedules, for the end
// of the spec, its evidence dump (if the spec failed) and its deletion,
// without waiting for it to go: the run's end deals with what is still
// terminating then. The namespace carries the run's labels and owner, so a
// later run can sweep it should this one be killed first.
func (k *Keeper) Create(ctx context.Context, prefix string) string {
	GinkgoHelper()
	cs := k.Clientset
	k.beat.Do(func() { go sweep.Heartbeat(context.Background(), cs, k.liveNames) })
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: prefix + "-",
		Labels:       map[string]string{sweep.RunLabel: k.Owner.RunID, sweep.SpecLabel: "true"},
		Annotations:  k.Owner.Annotations(time.Now()),
	}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "create a namespace for the spec")
	name := ns.Name
	k.track(name, true)
	// Cleanup first: whatever fails or is interrupted after this line, the
	// namespace is still deleted.
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			evidence := Dump(ctx, cs, name)
			AddReportEntry("namespace "+name+" at failure", evidence, ReportEntryVisibilityFailureOrVerbose)
			if k.Artifacts != "" {
				dir := filepath.Join(k.Artifacts, "failures", safe(CurrentSpecReport().FullText()))
				if os.MkdirAll(dir, 0o755) == nil {
					_ = os.WriteFile(filepath.Join(dir, name+".txt"), []byte(evidence), 0o644)
				}
			}
		}
		Expect(StartDelete(ctx, cs, name)).To(Succeed())
		k.track(name, false)
	}, NodeTimeout(30*time.Second))
	// Pods are refused until the namespace's default ServiceAccount exists.
	// kube-controller-manager makes it, but Pods themselves do not need that
	// controller: making it here keeps a Pod spec's outcome about Pods.
	_, err = cs.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred(), "create the default ServiceAccount in %s", name)
	}
	// The heartbeat a run elsewhere judges the namespace by, renewed while
	// the spec runs.
	_, err = cs.CoordinationV1().Leases(name).Create(ctx, k.Owner.Lease(time.Now()), metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "create the run's heartbeat Lease in %s", name)
	return name
}

// ErrNotOurs says a namespace is not one this run created for a spec: what
// the run would change there is not its to change.
var ErrNotOurs = errors.New("not this run's namespace")

// PodSecurityEnforce is the Pod Security admission label that sets which
// Pods a namespace admits.
const PodSecurityEnforce = "pod-security.kubernetes.io/enforce"

// AllowPrivileged labels one of this run's own spec namespaces to admit
// privileged Pods (pod-security.kubernetes.io/enforce=privileged), and
// returns what the label was before ("" for none). It refuses any other
// namespace: one this Keeper did not create and still holds, or one whose
// labels do not name this run, whatever its name. The update carries the
// resourceVersion read, so the labels checked are the labels changed.
func (k *Keeper) AllowPrivileged(ctx context.Context, name string) (was string, err error) {
	k.mu.Lock()
	live := k.live[name]
	k.mu.Unlock()
	if !live {
		return "", fmt.Errorf("%w: namespace %s is not one this run created for a spec: its Pod Security level is not the run's to change", ErrNotOurs, name)
	}
	ns, err := k.Clientset.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if err := Owned(ns, k.Owner); err != nil {
		return "", fmt.Errorf("%w: %v", ErrNotOurs, err)
	}
	was = ns.Labels[PodSecurityEnforce]
	// A merge patch, which is what kiamol-e2e-node grants (patch, not
	// update), carrying the version just read: the API server refuses it
	// with a conflict if the namespace changed since it was checked.
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": ns.ResourceVersion,
		"labels":          map[string]string{PodSecurityEnforce: "privileged"},
	}})
	if err != nil {
		return "", err
	}
	if _, err := k.Clientset.CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return "", fmt.Errorf("label namespace %s %s=privileged: %w", name, PodSecurityEnforce, err)
	}
	return was, nil
}

// Owned says whether ns carries the ownership labels this run puts on each
// namespace it creates for a spec (internal/sweep's RunLabel with this run's
// ID, and SpecLabel), and if not, which is missing.
func Owned(ns *corev1.Namespace, owner sweep.Owner) error {
	switch {
	case owner.RunID == "":
		return fmt.Errorf("namespace %s: no run to own it", ns.Name)
	case ns.Labels[sweep.SpecLabel] != "true":
		return fmt.Errorf("namespace %s has no %s=true label: the suite did not create it for a spec, so its Pod Security level is not the run's to change", ns.Name, sweep.SpecLabel)
	case ns.Labels[sweep.RunLabel] != owner.RunID:
		return fmt.Errorf("namespace %s is labelled %s=%q, not this run's %q: its Pod Security level is not this run's to change", ns.Name, sweep.RunLabel, ns.Labels[sweep.RunLabel], owner.RunID)
	case ns.DeletionTimestamp != nil:
		return fmt.Errorf("namespace %s is being deleted", ns.Name)
	}
	return nil
}

// Dump gathers what a stranger needs to see why a spec failed.
func Dump(ctx context.Context, cs kubernetes.Interface, ns string) string {
	var b strings.Builder
	events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	fmt.Fprintf(&b, "== events in %s\n", ns)
	if err != nil {
		fmt.Fprintf(&b, "(cannot list events: %v)\n", err)
	} else {
		items := events.Items
		sort.Slice(items, func(i, j int) bool { return items[i].CreationTimestamp.Before(&items[j].CreationTimestamp) })
		for _, e := range items {
			fmt.Fprintf(&b, "%s %s %s/%s %s: %s\n", e.CreationTimestamp.Format(time.RFC3339), e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "(cannot list pods: %v)\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "== pods in %s\n%s\n", ns, diagnose.DescribePods(pods.Items))
	for i := range pods.Items {
		p := &pods.Items[i]
		p.ManagedFields = nil
		if raw, err := yaml.Marshal(p); err == nil {
			fmt.Fprintf(&b, "== pod %s\n%s", p.Name, raw)
		}
		for _, c := range p.Spec.Containers {
			for _, previous := range []bool{false, true} {
				tail := int64(50)
				logs, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name, Previous: previous, TailLines: &tail}).DoRaw(ctx)
				if err != nil {
					if !previous {
						fmt.Fprintf(&b, "== logs %s/%s: (%v)\n", p.Name, c.Name, err)
					}
					continue
				}
				fmt.Fprintf(&b, "== logs %s/%s (previous=%v)\n%s\n", p.Name, c.Name, previous, logs)
			}
		}
	}
	return b.String()
}

// StartDelete deletes a spec's namespace without waiting for it to go: its
// Pods first, with no grace period (the spec is over, and nothing in them
// needs time to shut down), so the namespace does not wait on the kubelet.
//
// The controllers that would replace those Pods go before them. A
// replacement made as the namespace starts terminating cannot get its
// service-account token; a kubelet before v1.25 then holds it for the
// volume wait's full two minutes before it lets the namespace go.
func StartDelete(ctx context.Context, cs kubernetes.Interface, name string) error {
	all := metav1.ListOptions{}
	if err := cs.AppsV1().Deployments(name).DeleteCollection(ctx, metav1.DeleteOptions{}, all); ignoreNotFound(err) != nil {
		return fmt.Errorf("delete the Deployments of namespace %s: %w", name, err)
	}
	if err := cs.AppsV1().ReplicaSets(name).DeleteCollection(ctx, metav1.DeleteOptions{}, all); ignoreNotFound(err) != nil {
		return fmt.Errorf("delete the ReplicaSets of namespace %s: %w", name, err)
	}
	zero := int64(0)
	if err := cs.CoreV1().Pods(name).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, all); ignoreNotFound(err) != nil {
		return fmt.Errorf("delete the pods of namespace %s: %w", name, err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); ignoreNotFound(err) != nil {
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safe(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
