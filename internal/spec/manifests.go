package spec

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

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
)

// Manifests is the fixture of the claims that read what a chapter's
// manifests make: each step (kubectl apply -f FILE..., each FILE one of the
// chapter's Objects) runs in one namespace, and every object it makes is
// left to settle, so that any later change could only come from a second
// apply (ApplyAgain).
func Manifests(name string, steps ...book.Step) *Fixture {
	return &Fixture{Name: name, Namespace: "manifests", Steps: steps, Priority: 90,
		Setup: func(ctx SpecContext, t *T) any {
			for _, st := range steps {
				t.Apply(ctx, st)
			}
			return nil
		}}
}

// Apply runs one of the claim's `kubectl apply -f FILE...` steps (each FILE
// one of the chapter's Objects): kubectl says it created each object, and
// each is left to settle (a Pod Ready, a Deployment's Pods Ready and
// available).
func (t *T) Apply(ctx context.Context, st book.Step) {
	GinkgoHelper()
	objs := t.objectsOf(st)
	out := t.Run(ctx, st)
	for _, o := range objs {
		Expect(Lines(out.Stdout)).To(ContainElement(MatchRegexp(`^[a-z.]+/`+regexp.QuoteMeta(o.Name)+` created$`)), "%s", st.Book)
	}
	// Let the controllers and the kubelet finish their own writes.
	for _, o := range objs {
		t.settled(ctx, t.ns, o)
	}
}

// ApplyAgain is the body of a chapter's claim that applying its manifests
// again changes nothing: each of the claim's steps (the fixture's applies)
// runs a second time, kubectl says unchanged, and the object's
// resourceVersion and generation are as before.
func ApplyAgain(ctx SpecContext, t *T) {
	GinkgoHelper()
	for _, st := range t.claim.Steps {
		objs := t.objectsOf(st)
		var before []string
		for _, o := range objs {
			before = append(before, t.storedVersion(ctx, t.ns, o))
		}
		out := t.Run(ctx, st)
		for i, o := range objs {
			Expect(Lines(out.Stdout)).To(ContainElement(MatchRegexp(`^[a-z.]+/`+regexp.QuoteMeta(o.Name)+` unchanged$`)), "%s a second time", st.Book)
			Expect(t.storedVersion(ctx, t.ns, o)).To(Equal(before[i]), "%s %s as stored after the second apply", o.Kind, o.Name)
		}
	}
}

// objectsOf are the chapter's objects a `kubectl apply -f FILE...` step
// applies, in its order.
func (t *T) objectsOf(st book.Step) []book.Object {
	GinkgoHelper()
	words, _ := book.Words(st.Book)
	var out []book.Object
	for i, w := range words {
		if w != "-f" || i+1 >= len(words) {
			continue
		}
		found := false
		for _, o := range t.chapter.Objects {
			if o.File == words[i+1] {
				out, found = append(out, o), true
			}
		}
		if !found {
			failBecause(LayerSuite, fmt.Sprintf("step `%s` applies %s, which is none of the chapter's manifests", st.Book, words[i+1]))
		}
	}
	if len(out) == 0 {
		failBecause(LayerSuite, fmt.Sprintf("step `%s` applies none of the chapter's manifests", st.Book))
	}
	return out
}

// settled waits until an object has reached its steady state: a Pod Ready;
// a Deployment running its replicas, observed and available
// (e2e-framework's ResourceMatch).
func (k *Suite) settled(ctx context.Context, ns string, o book.Object) {
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
func (k *Suite) storedVersion(ctx context.Context, ns string, o book.Object) string {
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
		failBecause(LayerSuite, fmt.Sprintf("no typed read for kind %s (manifest %s): add one to storedVersion", o.Kind, o.File))
	}
	Expect(k.klient.Get(ctx, o.Name, ns, obj)).To(Succeed())
	return fmt.Sprintf("%s/%s resourceVersion=%s generation=%d", o.Kind, o.Name, obj.GetResourceVersion(), obj.GetGeneration())
}
