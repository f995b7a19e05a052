package e2e

import (
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gtypes "github.com/onsi/gomega/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
)

// Chapter 2, section 2.5: how Kubernetes manages resources. What a
// controller owns comes back when deleted; what nothing owns does not; and
// deleting the controller takes what it owns with it.
var _ = Describe("2.5 Resource management", func() {
	claim("2.5/delete-pods", func(ctx SpecContext) {
		ns, k := namespace(ctx, "delete")
		// The chapter's four objects so far, all made before any wait.
		mustRun(ctx, k, "run", "hello-kiamol", "--image="+image(fixtures.HelloKiamol))
		mustRun(ctx, k, "create", "deployment", "hello-kiamol-2", "--image="+image(fixtures.HelloKiamol))
		mustRun(ctx, k, "apply", "-f", manifestPath(fixtures.Chapter2, "pod.yaml"))
		mustRun(ctx, k, "apply", "-f", manifestPath(fixtures.Chapter2, "deployment.yaml"))
		podMustBeReady(ctx, ns, "hello-kiamol")
		podMustBeReady(ctx, ns, "hello-kiamol-3")
		_, owned2 := deploymentMustRun(ctx, ns, "hello-kiamol-2", 1)
		_, owned4 := deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)

		out := mustRun(ctx, k, "delete", "pods", "--all")
		Expect(lines(out.Stdout)).To(ConsistOf(
			deleted("pod", "hello-kiamol"), deleted("pod", "hello-kiamol-3"),
			deleted("pod", owned2[0].Name), deleted("pod", owned4[0].Name),
		))

		// The controllers act: each Deployment runs one Pod again, a new one.
		old := map[string]types.UID{owned2[0].Name: owned2[0].UID, owned4[0].Name: owned4[0].UID}
		for _, d := range []string{"hello-kiamol-2", "hello-kiamol-4"} {
			_, pods := deploymentMustRun(ctx, ns, d, 1)
			Expect(old).NotTo(HaveKey(pods[0].Name), "deployment %s's Pod has a new name", d)
			for _, uid := range old {
				Expect(pods[0].UID).NotTo(Equal(uid), "deployment %s's Pod is a new object", d)
			}
		}
		// With the controllers done, nothing brought the bare Pods back.
		for _, bare := range []string{"hello-kiamol", "hello-kiamol-3"} {
			_, err := clientset.CoreV1().Pods(ns).Get(ctx, bare, metav1.GetOptions{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "pod %s, which no controller owns, is gone for good (got %v)", bare, err)
		}
		list := mustRun(ctx, k, "get", "pods", "-o", "name")
		Expect(lines(list.Stdout)).To(HaveLen(2), "kubectl get pods lists the two Deployments' new Pods")
	}, SpecTimeout(timeouts.Chapter))

	claim("2.5/delete-deployments", func(ctx SpecContext) {
		ns, k := namespace(ctx, "delete")
		mustRun(ctx, k, "create", "deployment", "hello-kiamol-2", "--image="+image(fixtures.HelloKiamol))
		mustRun(ctx, k, "apply", "-f", manifestPath(fixtures.Chapter2, "deployment.yaml"))
		deploymentMustRun(ctx, ns, "hello-kiamol-2", 1)
		deploymentMustRun(ctx, ns, "hello-kiamol-4", 1)

		out := mustRun(ctx, k, "delete", "deploy", "--all")
		Expect(lines(out.Stdout)).To(ConsistOf(deleted("deployment.apps", "hello-kiamol-2"), deleted("deployment.apps", "hello-kiamol-4")))
		Eventually(ctx, func(g Gomega) []string {
			var left []string
			rs, err := clientset.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			for _, r := range rs.Items {
				left = append(left, "replicaset/"+r.Name)
			}
			pods, err := selected(ctx, ns, "")
			g.Expect(err).NotTo(HaveOccurred())
			for _, p := range pods {
				left = append(left, "pod/"+p.Name)
			}
			return left
		}).WithTimeout(timeouts.Controller).WithPolling(timeouts.Poll).Should(BeEmpty(), func() string {
			return "the garbage collector removes what the Deployments owned; " + strings.TrimSpace(health.Established(ctx))
		})
		// kubectl lists a Pod until its deletion completes on the node.
		Eventually(ctx, func() ([]string, error) {
			all, err := k.Run(ctx, "get", "all", "-o", "name")
			return lines(all.Stdout), err
		}).WithTimeout(timeouts.Controller).WithPolling(timeouts.Poll).ShouldNot(ContainElement(MatchRegexp(`^(pod|deployment\.apps|replicaset\.apps)/`)),
			"kubectl get all lists no Pod, Deployment or ReplicaSet")
	}, SpecTimeout(timeouts.Chapter))
})

// deleted matches kubectl delete's line for one object; newer kubectl
// versions add the namespace it was deleted from.
func deleted(kind, name string) gtypes.GomegaMatcher {
	return MatchRegexp(`^` + regexp.QuoteMeta(kind+` "`+name+`" deleted`) + `( from \S+ namespace)?$`)
}
