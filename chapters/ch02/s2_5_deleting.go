package ch02

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 2.5: how Kubernetes manages resources. What a controller owns comes back
// when deleted; what nothing owns does not; and deleting the controller
// takes what it owns with it.

var (
	deleteAllPods        = book.Kubectl("kubectl delete pods --all")
	deleteAllDeployments = book.Kubectl("kubectl delete deploy --all")
	getAll               = book.Kubectl("kubectl get all")
)

var deletePods = spec.Claim{
	Claim: book.Claim{ID: "2.5/delete-pods", Labels: []string{"delete"},
		Says:  "kubectl delete pods --all: the Deployments' Pods come back with new names and UIDs, the bare Pods stay gone",
		Steps: []book.Step{runHello, createDeployment, applyPod, applyDeployment, deleteAllPods, getPods}},
	Priority: 100,
	Body: func(ctx SpecContext, t *spec.T) {
		// The chapter's four objects so far, all made before any wait.
		for _, st := range []book.Step{runHello, createDeployment, applyPod, applyDeployment} {
			t.Run(ctx, st)
		}
		t.PodMustBeReady(ctx, "hello-kiamol")
		t.PodMustBeReady(ctx, "hello-kiamol-3")
		_, owned2 := t.DeploymentMustRun(ctx, "hello-kiamol-2", 1)
		_, owned4 := t.DeploymentMustRun(ctx, "hello-kiamol-4", 1)

		out := t.Run(ctx, deleteAllPods)
		Expect(spec.Lines(out.Stdout)).To(ConsistOf(
			spec.Deleted("pod", "hello-kiamol"), spec.Deleted("pod", "hello-kiamol-3"),
			spec.Deleted("pod", owned2[0].Name), spec.Deleted("pod", owned4[0].Name),
		))

		// The controllers act: each Deployment runs one Pod again, a new one.
		old := map[string]types.UID{owned2[0].Name: owned2[0].UID, owned4[0].Name: owned4[0].UID}
		for _, d := range []string{"hello-kiamol-2", "hello-kiamol-4"} {
			_, pods := t.DeploymentMustRun(ctx, d, 1)
			Expect(old).NotTo(HaveKey(pods[0].Name), "deployment %s's Pod has a new name", d)
			for _, uid := range old {
				Expect(pods[0].UID).NotTo(Equal(uid), "deployment %s's Pod is a new object", d)
			}
		}
		// With the controllers done, nothing brought the bare Pods back.
		for _, bare := range []string{"hello-kiamol", "hello-kiamol-3"} {
			err := t.Resources().Get(ctx, bare, t.Namespace(), &corev1.Pod{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "pod %s, which no controller owns, is gone for good (got %v)", bare, err)
		}
		// kubectl lists a Pod until its deletion completes on the node.
		t.RunUntil(ctx, getPods, t.Timeouts().Controller, "kubectl get pods does not list just the two Deployments' new Pods", HaveLen(3)) // a header and two rows
	},
}

var deleteDeployments = spec.Claim{
	Claim: book.Claim{ID: "2.5/delete-deployments", Labels: []string{"delete"},
		Says:  "kubectl delete deploy --all: the Deployments' ReplicaSets and Pods go with them",
		Steps: []book.Step{createDeployment, applyDeployment, deleteAllDeployments, getAll}},
	Priority: 100,
	Body: func(ctx SpecContext, t *spec.T) {
		t.Run(ctx, createDeployment)
		t.Run(ctx, applyDeployment)
		t.DeploymentMustRun(ctx, "hello-kiamol-2", 1)
		t.DeploymentMustRun(ctx, "hello-kiamol-4", 1)
		var owned appsv1.ReplicaSetList
		Expect(t.Resources().List(ctx, &owned)).To(Succeed())
		var pods corev1.PodList
		Expect(t.Resources().List(ctx, &pods)).To(Succeed())

		out := t.Run(ctx, deleteAllDeployments)
		Expect(spec.Lines(out.Stdout)).To(ConsistOf(spec.Deleted("deployment.apps", "hello-kiamol-2"), spec.Deleted("deployment.apps", "hello-kiamol-4")))
		// The garbage collector removes what they owned: e2e-framework's
		// ResourcesDeleted over the ReplicaSets and Pods seen before, then
		// nothing new in their place.
		rsGone, podsGone := conditions.New(t.Resources()).ResourcesDeleted(&owned), conditions.New(t.Resources()).ResourcesDeleted(&pods)
		t.WaitUntil(ctx, t.Timeouts().Controller, "the garbage collector cannot remove what the Deployments owned", func(ctx context.Context) (bool, error) {
			if ok, err := rsGone(ctx); err != nil || !ok {
				return false, nil
			}
			if ok, err := podsGone(ctx); err != nil || !ok {
				return false, nil
			}
			left, err := leftOf(ctx, t)
			return err == nil && len(left) == 0, nil
		}, func() string {
			left, _ := leftOf(context.WithoutCancel(ctx), t)
			return fmt.Sprintf("the garbage collector did not remove what the Deployments owned within %s: %v left", t.Timeouts().Controller, left)
		})
		// kubectl lists a Pod until its deletion completes on the node.
		t.RunUntil(ctx, getAll, t.Timeouts().Controller, "kubectl get all still lists what the Deployments owned",
			Not(ContainElement(Or(HavePrefix("pod/"), HavePrefix("deployment.apps/"), HavePrefix("replicaset.apps/")))))
	},
}

// leftOf lists the namespace's ReplicaSets and live Pods.
func leftOf(ctx context.Context, t *spec.T) ([]string, error) {
	var out []string
	var rs appsv1.ReplicaSetList
	if err := t.Resources().List(ctx, &rs); err != nil {
		return nil, err
	}
	for _, r := range rs.Items {
		out = append(out, "replicaset/"+r.Name)
	}
	pods, err := t.Selected(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		out = append(out, "pod/"+p.Name)
	}
	return out, nil
}
