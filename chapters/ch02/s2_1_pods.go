package ch02

import (
	"context"
	"fmt"
	"net"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 2.1: how Kubernetes runs and manages containers. The claims that only
// read a Pod share one (onePod, with 2.4's); the two that change theirs
// each have their own.

// onePod is the chapter's `kubectl run hello-kiamol` Pod, read by the
// claims of 2.1 and 2.4 that only read it (a request adds a log line, which
// no other claim counts on), and by the check that its image pulls untagged.
var onePod = &spec.Fixture{
	Name: "2.1 and 2.4: one Pod, read by each claim", Namespace: "pods", Priority: 80,
	Steps: []book.Step{runHello},
	Setup: func(ctx SpecContext, t *spec.T) any { return runHelloKiamol(ctx, t) },
	Images: []spec.ImageCheck{{Ref: HelloKiamol, Of: func(ctx context.Context, t *spec.T) *corev1.Pod {
		return t.PodMustBeReady(ctx, "hello-kiamol")
	}}},
}

// runHelloKiamol is the chapter's first command, then its wait; it checks
// that kubectl made what the book says: a bare Pod labelled run=hello-kiamol
// whose one container, also hello-kiamol, runs the chapter's image.
func runHelloKiamol(ctx context.Context, t *spec.T) *corev1.Pod {
	GinkgoHelper()
	out := t.Run(ctx, runHello)
	Expect(strings.TrimSpace(out.Stdout)).To(Equal("pod/hello-kiamol created"))
	pod := t.PodMustBeReady(ctx, "hello-kiamol")
	Expect(pod.Labels).To(HaveKeyWithValue("run", "hello-kiamol"), "kubectl run labels the Pod run=NAME")
	Expect(metav1.GetControllerOf(pod)).To(BeNil(), "kubectl run makes a bare Pod, owned by nothing")
	Expect(pod.Spec.Containers).To(ConsistOf(And(HaveField("Name", "hello-kiamol"), HaveField("Image", t.Image(HelloKiamol)))))
	return pod
}

var (
	getPodIPs = book.Kubectl("kubectl get pod hello-kiamol --output custom-columns=NAME:metadata.name,NODE_IP:status.hostIP,POD_IP:status.podIP")
	getPods   = book.Kubectl("kubectl get pods")
	getID     = book.Kubectl("kubectl get pod hello-kiamol -o jsonpath='{.status.containerStatuses[0].containerID}'")
)

var podReady = spec.Claim{
	Claim: book.Claim{ID: "2.1/pod-ready", Labels: []string{"pods"},
		Says:  "kubectl run makes a bare Pod that becomes Ready, with a pod IP distinct from its node's, listed by kubectl get pods",
		Steps: []book.Step{getPodIPs, getPods}},
	Shares: onePod,
	Body: func(ctx SpecContext, t *spec.T) {
		pod := t.Shared().(*corev1.Pod)
		podIP, hostIP := net.ParseIP(pod.Status.PodIP), net.ParseIP(pod.Status.HostIP)
		Expect(podIP).NotTo(BeNil(), "status.podIP %q is an IP", pod.Status.PodIP)
		Expect(hostIP).NotTo(BeNil(), "status.hostIP %q is an IP", pod.Status.HostIP)
		Expect(podIP.Equal(hostIP)).To(BeFalse(), "the pod has its own virtual IP, not its node's (%s)", hostIP)

		columns := t.Run(ctx, getPodIPs)
		rows := spec.Lines(columns.Stdout)
		Expect(rows).To(HaveLen(2), "a header and one row:\n%s", columns.Stdout)
		Expect(strings.Fields(rows[1])).To(Equal([]string{"hello-kiamol", pod.Status.HostIP, pod.Status.PodIP}), "kubectl prints the IPs the API has")

		list := t.Run(ctx, getPods)
		Expect(list.Stdout).To(MatchRegexp(`(?m)^hello-kiamol\s+1/1\s+Running\s`), "kubectl get pods lists it, 1/1 Running")
	},
}

var containerID = spec.Claim{
	Claim: book.Claim{ID: "2.1/container-id", Labels: []string{"pods"},
		Says:  "kubectl prints the Pod's containerID as the API has it, <runtime>://<hex id>, naming the runtime its node reports; the node's runtime, where the run asks it (from this machine, or with --self-heal=node from a privileged Pod on the node; always on the suite's own clusters), holds a container with exactly that ID",
		Steps: []book.Step{getID}},
	Shares: onePod,
	Body: func(ctx SpecContext, t *spec.T) {
		pod := t.Shared().(*corev1.Pod)
		out := t.Run(ctx, getID)
		t.ContainerIDMustBeHeld(ctx, pod, "hello-kiamol", strings.TrimSpace(out.Stdout))
	},
}

var portForwardPod = spec.Claim{
	Claim: book.Claim{ID: "2.1/port-forward-pod", Labels: []string{"pods", "port-forward"},
		Says:  "kubectl port-forward pod/hello-kiamol serves the app's page on localhost",
		Steps: []book.Step{forwardPod}},
	Shares: onePod,
	Body: func(ctx SpecContext, t *spec.T) {
		t.PageMustBeServed(ctx, t.Forward(ctx, forwardPod), "/", heading)
	},
}

var selfHealing = spec.Claim{
	Claim: book.Claim{ID: "2.1/self-healing", Labels: []string{"pods", "self-healing"},
		Says:  "removing the container through the runtime leaves the same Pod (same UID) with a new container, Ready",
		Needs: []book.Need{book.NodeRuntime},
		Steps: []book.Step{runHello, removeHelloKiamol}},
	Priority: 70,
	Body: func(ctx SpecContext, t *spec.T) {
		pod := runHelloKiamol(ctx, t)
		before := spec.ViewOf(pod)
		healed := t.RemoveContainerAndWaitHealed(ctx, removeHelloKiamol, pod)
		// restartCount is not part of the claim: after `crictl rm -f` it
		// stays as it was when the kubelet never saw the old container
		// exited (its record went with it), and rises by one when it did
		// (measured here: both, the latter under load).
		AddReportEntry("restartCount", fmt.Sprintf("%d before, %d after", before.RestartCount, healed.RestartCount))
	},
}

var selfHealingForward = spec.Claim{
	Claim: book.Claim{ID: "2.1/self-healing-forward", Labels: []string{"pods", "port-forward", "self-healing"},
		Says:  "the same port-forward keeps serving the page after the container is replaced",
		Needs: []book.Need{book.NodeRuntime},
		Steps: []book.Step{runHello, forwardPod, removeHelloKiamol}},
	Priority: 70,
	Body: func(ctx SpecContext, t *spec.T) {
		pod := runHelloKiamol(ctx, t)
		session := t.Forward(ctx, forwardPod)
		t.PageMustBeServed(ctx, session, "/", heading)
		t.RemoveContainerAndWaitHealed(ctx, removeHelloKiamol, pod)
		t.AppMustListen(ctx, forwardPod)
		t.PageMustBeServed(ctx, session, "/", heading)
	},
}
