// Package specns gives each spec a namespace of its own: created before the
// spec, labelled with the run, and deleted after it with DeferCleanup. When
// the spec failed, the namespace's events, pods and container logs are put in
// the report and the artifacts folder first.
package namespaces

import (
	"context"
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
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kiamol-e2e/kiamol-e2e/harness/sweep"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
)

// Input says how to make a spec's namespace.
type Input struct {
	Clientset kubernetes.Interface
	Prefix    string      // the namespace is "<prefix>-<random>"
	Owner     sweep.Owner // the run, for a later run's sweep
	Artifacts string      // where a failed spec's evidence goes
	// Gone bounds the wait, in the spec's cleanup, for the namespace to
	// leave Terminating; Poll is how often it looks. Gone 0 waits not at
	// all: the run then waits once, at its end, for all its namespaces.
	Gone, Poll time.Duration
	// Stuck says why a namespace cannot go at all ("" when it can): a
	// cluster whose kube-controller-manager is gone never deletes one, and
	// waiting out Gone for each spec would only hide that.
	Stuck func(context.Context) string
}

// live are this process's namespaces not yet deleted, whose heartbeat it
// renews so no other run takes them for abandoned.
var (
	liveMu    sync.Mutex
	live      = map[string]bool{}
	heartbeat sync.Once
)

func liveNames() []string {
	liveMu.Lock()
	defer liveMu.Unlock()
	var out []string
	for n := range live {
		out = append(out, n)
	}
	return out
}

// Create makes a namespace "<prefix>-<random>" and schedules, for the end
// of the spec, its evidence dump (if the spec failed), its deletion, and a
// wait until it is gone: while other specs run, so the run's end has
// nothing left to wait for. The namespace carries the run's labels and
// owner, so a later run can sweep it should this one be killed first.
func Create(ctx context.Context, in Input) string {
	GinkgoHelper()
	cs := in.Clientset
	heartbeat.Do(func() { go sweep.Heartbeat(context.Background(), cs, liveNames) })
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: in.Prefix + "-",
		Labels:       map[string]string{sweep.RunLabel: in.Owner.RunID, sweep.SpecLabel: "true"},
		Annotations:  in.Owner.Annotations(time.Now()),
	}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "create a namespace for the spec")
	name := ns.Name
	liveMu.Lock()
	live[name] = true
	liveMu.Unlock()
	// Cleanup first: whatever fails or is interrupted after this line, the
	// namespace is still deleted.
	DeferCleanup(func(ctx SpecContext) {
		if CurrentSpecReport().Failed() {
			evidence := Dump(ctx, cs, name)
			AddReportEntry("namespace "+name+" at failure", evidence, ReportEntryVisibilityFailureOrVerbose)
			if in.Artifacts != "" {
				dir := filepath.Join(in.Artifacts, "failures", safe(CurrentSpecReport().FullText()))
				if os.MkdirAll(dir, 0o755) == nil {
					_ = os.WriteFile(filepath.Join(dir, name+".txt"), []byte(evidence), 0o644)
				}
			}
		}
		if in.Gone > 0 {
			Expect(Delete(ctx, cs, name, in.Gone, in.Poll, in.Stuck)).To(Succeed())
		} else {
			Expect(StartDelete(ctx, cs, name)).To(Succeed())
		}
		liveMu.Lock()
		delete(live, name)
		liveMu.Unlock()
	}, NodeTimeout(in.Gone+30*time.Second))
	// Pods are refused until the namespace's default ServiceAccount exists.
	// kube-controller-manager makes it, but Pods themselves do not need that
	// controller: making it here keeps a Pod spec's outcome about Pods.
	_, err = cs.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred(), "create the default ServiceAccount in %s", name)
	}
	return name
}

// Delete removes a spec's namespace (StartDelete) and waits until it is
// gone.
func Delete(ctx context.Context, cs kubernetes.Interface, name string, within, poll time.Duration, stuck func(context.Context) string) error {
	if err := StartDelete(ctx, cs, name); err != nil {
		return err
	}
	deadline := time.Now().Add(within)
	for {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if stuck != nil {
			if why := stuck(ctx); why != "" {
				return fmt.Errorf("namespace %s cannot be deleted: %s", name, why)
			}
		}
		if time.Now().After(deadline) {
			state := "?"
			if err == nil {
				state = string(ns.Status.Phase)
				for _, c := range ns.Status.Conditions {
					if c.Status == corev1.ConditionTrue {
						state += "; " + c.Message
					}
				}
			}
			return fmt.Errorf("namespace %s still there %s after its deletion (%s)", name, within, state)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
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
