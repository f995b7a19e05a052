package e2e

import (
	"context"
	"fmt"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
)

// applied is one chapter's manifests, applied in a namespace of their own.
type applied struct {
	ns string
	kc kubectl.Kubectl
}

// chapterManifests applies every manifest of each chapter in one namespace
// and lets the claims that only read what they made share it
// (manifestReaders); the last claim applies them all again and proves that
// nothing changes ("the same deployment, repeatable"). A new chapter's
// manifests are applied and re-applied here without a line of spec.
func (k *Suite) chapterManifests() {
	for _, ch := range fixtures.Chapters {
		if len(ch.Objects) == 0 || ch.ReapplyClaim == "" {
			continue // no manifests: nothing to claim
		}
		Describe(ch.ID+": every manifest applied in one namespace, read by each claim", Ordered, ContinueOnFailure, SpecPriority(90), func() {
			a := &applied{}
			BeforeAll(func(ctx SpecContext) {
				a.ns, a.kc = k.namespace(ctx, "manifests")
				for _, o := range ch.Objects {
					out := mustRun(ctx, a.kc, "apply", "-f", k.manifestPath(ctx, ch, o.File))
					Expect(lines(out.Stdout)).To(ContainElement(MatchRegexp(`^[a-z.]+/`+regexp.QuoteMeta(o.Name)+` created$`)), "kubectl apply -f %s", o.File)
				}
				// Let the controllers and the kubelet finish their own
				// writes, so any later change could only come from the
				// second apply.
				for _, o := range ch.Objects {
					k.settled(ctx, a.ns, o)
				}
			}, NodeTimeout(k.timeouts.Chapter))

			k.manifestReaders(ch, a)

			claim(ch.ReapplyClaim, func(ctx SpecContext) {
				for _, o := range ch.Objects {
					before := k.storedVersion(ctx, a.ns, o)
					out := mustRun(ctx, a.kc, "apply", "-f", k.manifestPath(ctx, ch, o.File))
					Expect(lines(out.Stdout)).To(ContainElement(MatchRegexp(`^[a-z.]+/`+regexp.QuoteMeta(o.Name)+` unchanged$`)), "kubectl apply -f %s a second time", o.File)
					Expect(k.storedVersion(ctx, a.ns, o)).To(Equal(before), "%s %s as stored after the second apply", o.Kind, o.Name)
				}
			}, SpecTimeout(k.timeouts.Chapter))
		})
	}
}

// manifestReaders registers a chapter's claims that only read what its
// manifests made.
func (k *Suite) manifestReaders(ch *fixtures.Chapter, a *applied) {
	if ch == fixtures.Chapter2 {
		k.chapter2Manifests(a)
	}
}

// settled waits until an object has reached its steady state: a Pod Ready;
// a Deployment running its replicas, observed and available
// (e2e-framework's ResourceMatch).
func (k *Suite) settled(ctx context.Context, ns string, o fixtures.Object) {
	GinkgoHelper()
	switch o.Kind {
	case "Pod":
		k.podMustBeReady(ctx, ns, o.Name)
	case "Deployment":
		d := &appsv1.Deployment{}
		Expect(k.klient.Get(ctx, o.Name, ns, d)).To(Succeed())
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		k.deploymentMustRun(ctx, ns, o.Name, int(replicas))
		steady := conditions.New(k.klient).ResourceMatch(d, func(obj k8s.Object) bool {
			d := obj.(*appsv1.Deployment)
			return d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == replicas
		})
		what := fmt.Sprintf("deployment %s/%s cannot settle", ns, o.Name)
		if err := k.await(ctx, k.timeouts.Controller, k.unlessBroken(what, steady)); err != nil {
			failWait(err, func() string {
				return fmt.Sprintf("deployment %s does not settle within %s: %s", o.Name, k.timeouts.Controller, k.health.Deployment(context.WithoutCancel(ctx), ns, o.Name).Why)
			})
		}
	}
}

// storedVersion reads an object's resourceVersion and generation.
func (k *Suite) storedVersion(ctx context.Context, ns string, o fixtures.Object) string {
	GinkgoHelper()
	var obj k8s.Object
	switch o.Kind {
	case "Pod":
		obj = &corev1.Pod{}
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "Service":
		obj = &corev1.Service{}
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	default:
		Fail(fmt.Sprintf("no typed read for kind %s (manifest %s): add one to storedVersion", o.Kind, o.File))
	}
	Expect(k.klient.Get(ctx, o.Name, ns, obj)).To(Succeed())
	return fmt.Sprintf("%s/%s resourceVersion=%s generation=%d", o.Kind, o.Name, obj.GetResourceVersion(), obj.GetGeneration())
}
