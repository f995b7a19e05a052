package e2e

import (
	"context"
	"fmt"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gtypes "github.com/onsi/gomega/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
)

// deleting is chapter 2, section 2.5: how Kubernetes manages resources.
// What a controller owns comes back when deleted; what nothing owns does
// not; and deleting the controller takes what it owns with it.
func (k *Suite) deleting() {
	Describe("2.5 Resource management", SpecPriority(100), func() {
		claim("2.5/delete-pods", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "delete")
			// The chapter's four objects so far, all made before any wait.
			mustRun(ctx, kc, "run", "hello-kiamol", "--image="+k.image(fixtures.HelloKiamol))
			mustRun(ctx, kc, "create", "deployment", "hello-kiamol-2", "--image="+k.image(fixtures.HelloKiamol))
			mustRun(ctx, kc, "apply", "-f", k.manifestPath(ctx, fixtures.Chapter2, "pod.yaml"))
			mustRun(ctx, kc, "apply", "-f", k.manifestPath(ctx, fixtures.Chapter2, "deployment.yaml"))
			k.podMustBeReady(ctx, ns, "hello-kiamol")
			k.podMustBeReady(ctx, ns, "hello-kiamol-3")
			_, owned2 := k.deploymentMustRun(ctx, ns, "hello-kiamol-2", 1)
			_, owned4 := k.deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)

			out := mustRun(ctx, kc, "delete", "pods", "--all")
			Expect(lines(out.Stdout)).To(ConsistOf(
				deleted("pod", "hello-kiamol"), deleted("pod", "hello-kiamol-3"),
				deleted("pod", owned2[0].Name), deleted("pod", owned4[0].Name),
			))

			// The controllers act: each Deployment runs one Pod again, a new one.
			old := map[string]types.UID{owned2[0].Name: owned2[0].UID, owned4[0].Name: owned4[0].UID}
			for _, d := range []string{"hello-kiamol-2", "hello-kiamol-4"} {
				_, pods := k.deploymentMustRun(ctx, ns, d, 1)
				Expect(old).NotTo(HaveKey(pods[0].Name), "deployment %s's Pod has a new name", d)
				for _, uid := range old {
					Expect(pods[0].UID).NotTo(Equal(uid), "deployment %s's Pod is a new object", d)
				}
			}
			// With the controllers done, nothing brought the bare Pods back.
			for _, bare := range []string{"hello-kiamol", "hello-kiamol-3"} {
				err := k.klient.Get(ctx, bare, ns, &corev1.Pod{})
				Expect(apierrors.IsNotFound(err)).To(BeTrue(), "pod %s, which no controller owns, is gone for good (got %v)", bare, err)
			}
			list := mustRun(ctx, kc, "get", "pods", "-o", "name")
			Expect(lines(list.Stdout)).To(HaveLen(2), "kubectl get pods lists the two Deployments' new Pods")
		}, SpecTimeout(k.timeouts.Chapter))

		claim("2.5/delete-deployments", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "delete")
			mustRun(ctx, kc, "create", "deployment", "hello-kiamol-2", "--image="+k.image(fixtures.HelloKiamol))
			mustRun(ctx, kc, "apply", "-f", k.manifestPath(ctx, fixtures.Chapter2, "deployment.yaml"))
			k.deploymentMustRun(ctx, ns, "hello-kiamol-2", 1)
			k.deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)
			var owned appsv1.ReplicaSetList
			Expect(k.in(ns).List(ctx, &owned)).To(Succeed())
			var pods corev1.PodList
			Expect(k.in(ns).List(ctx, &pods)).To(Succeed())

			out := mustRun(ctx, kc, "delete", "deploy", "--all")
			Expect(lines(out.Stdout)).To(ConsistOf(deleted("deployment.apps", "hello-kiamol-2"), deleted("deployment.apps", "hello-kiamol-4")))
			// The garbage collector removes what they owned: e2e-framework's
			// ResourcesDeleted over the ReplicaSets and Pods seen before,
			// then nothing new in their place.
			rsGone, podsGone := conditions.New(k.klient).ResourcesDeleted(&owned), conditions.New(k.klient).ResourcesDeleted(&pods)
			err := k.await(ctx, k.timeouts.Controller, k.unlessBroken("the garbage collector cannot remove what the Deployments owned", func(ctx context.Context) (bool, error) {
				if ok, err := rsGone(ctx); err != nil || !ok {
					return false, nil
				}
				if ok, err := podsGone(ctx); err != nil || !ok {
					return false, nil
				}
				left, err := k.left(ctx, ns)
				return err == nil && len(left) == 0, nil
			}))
			if err != nil {
				failWait(err, func() string {
					left, _ := k.left(context.WithoutCancel(ctx), ns)
					return fmt.Sprintf("the garbage collector did not remove what the Deployments owned within %s: %v left", k.timeouts.Controller, left)
				})
			}
			// kubectl lists a Pod until its deletion completes on the node.
			Eventually(ctx, func() ([]string, error) {
				all, err := kc.Run(ctx, "get", "all", "-o", "name")
				return lines(all.Stdout), err
			}).WithTimeout(k.timeouts.Controller).WithPolling(k.timeouts.Poll).ShouldNot(ContainElement(MatchRegexp(`^(pod|deployment\.apps|replicaset\.apps)/`)),
				"kubectl get all lists no Pod, Deployment or ReplicaSet")
		}, SpecTimeout(k.timeouts.Chapter))
	})
}

// left lists the namespace's ReplicaSets and live Pods.
func (k *Suite) left(ctx context.Context, ns string) ([]string, error) {
	var out []string
	var rs appsv1.ReplicaSetList
	if err := k.in(ns).List(ctx, &rs); err != nil {
		return nil, err
	}
	for _, r := range rs.Items {
		out = append(out, "replicaset/"+r.Name)
	}
	pods, err := k.selected(ctx, ns, "")
	if err != nil {
		return nil, err
	}
	for _, p := range pods {
		out = append(out, "pod/"+p.Name)
	}
	return out, nil
}

// deleted matches kubectl delete's line for one object; newer kubectl
// versions add the namespace it was deleted from.
func deleted(kind, name string) gtypes.GomegaMatcher {
	return MatchRegexp(`^` + regexp.QuoteMeta(kind+` "`+name+`" deleted`) + `( from \S+ namespace)?$`)
}
