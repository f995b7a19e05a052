package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/internal/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
)

// pods is chapter 2, section 2.1: how Kubernetes runs and manages
// containers. The claims that only read a Pod share one (onePod); these two
// change theirs, so each has its own.
func (k *Suite) pods() {
	Describe("2.1 Pods: self-healing", SpecPriority(70), func() {
		claim("2.1/self-healing", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "pods")
			pod := k.runHelloKiamol(ctx, kc, ns)
			before := viewOf(pod)

			healed := k.removeContainerAndWaitHealed(ctx, pod)
			// restartCount is not part of the claim: after `crictl rm -f` it
			// stays as it was when the kubelet never saw the old container
			// exited (its record went with it), and rises by one when it did
			// (measured here: both, the latter under load).
			AddReportEntry("restartCount", fmt.Sprintf("%d before, %d after", before.RestartCount, healed.RestartCount))
		}, SpecTimeout(k.timeouts.Chapter))

		claim("2.1/self-healing-forward", func(ctx SpecContext) {
			ns, kc := k.namespace(ctx, "pods")
			pod := k.runHelloKiamol(ctx, kc, ns)
			session := k.forwardTo(ctx, kc, "pod/hello-kiamol")
			k.pageMustBeServed(ctx, session, "/", fixtures.HelloKiamolHeading)

			k.removeContainerAndWaitHealed(ctx, pod)
			k.pageMustBeServed(ctx, session, "/", fixtures.HelloKiamolHeading)
		}, SpecTimeout(k.timeouts.Chapter))
	})
}

// podReadyClaim is 2.1/pod-ready on a Pod kubectl run made: its own IP,
// and kubectl lists it as the API has it.
func (k *Suite) podReadyClaim(ctx context.Context, kc kubectl.Kubectl, pod *corev1.Pod) {
	GinkgoHelper()
	podIP, hostIP := net.ParseIP(pod.Status.PodIP), net.ParseIP(pod.Status.HostIP)
	Expect(podIP).NotTo(BeNil(), "status.podIP %q is an IP", pod.Status.PodIP)
	Expect(hostIP).NotTo(BeNil(), "status.hostIP %q is an IP", pod.Status.HostIP)
	Expect(podIP.Equal(hostIP)).To(BeFalse(), "the pod has its own virtual IP, not its node's (%s)", hostIP)

	columns := mustRun(ctx, kc, "get", "pod", "hello-kiamol", "--output", "custom-columns=NAME:metadata.name,NODE_IP:status.hostIP,POD_IP:status.podIP")
	Expect(lines(columns.Stdout)).To(HaveLen(2), "a header and one row:\n%s", columns.Stdout)
	Expect(strings.Fields(lines(columns.Stdout)[1])).To(Equal([]string{"hello-kiamol", pod.Status.HostIP, pod.Status.PodIP}), "kubectl prints the IPs the API has")

	list := mustRun(ctx, kc, "get", "pods")
	Expect(list.Stdout).To(MatchRegexp(`(?m)^hello-kiamol\s+1/1\s+Running\s`), "kubectl get pods lists it, 1/1 Running")
}

// containerIDClaim is 2.1/container-id: kubectl prints the ID the API
// has, in the kubelet's <runtime>://<id> form, naming the runtime the node
// reports; the node's runtime, asked directly where the run reaches it,
// answers for it.
func (k *Suite) containerIDClaim(ctx context.Context, kc kubectl.Kubectl, pod *corev1.Pod) {
	GinkgoHelper()
	out := mustRun(ctx, kc, "get", "pod", "hello-kiamol", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	id := strings.TrimSpace(out.Stdout)
	Expect(id).To(Equal(pod.Status.ContainerStatuses[0].ContainerID), "kubectl prints the ID the API has")
	node, err := k.client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "read the Pod's node %s", pod.Spec.NodeName)
	reported := node.Status.NodeInfo.ContainerRuntimeVersion
	Expect(containerruntime.CheckContainerID(id, reported)).To(Succeed(), "containerID is <runtime>://<hex id>, naming the runtime its node reports")
	scheme, raw, _ := strings.Cut(id, "://")
	// The reason first: the verdict shortens a long path line at its end.
	apiOnly := func(why string) string {
		return fmt.Sprintf("API only, the node's runtime not asked: %s; %s on node %s, whose kubelet reports %s", why, shortID(id), node.Name, reported)
	}

	held, path, err := k.inspectContainer(ctx, pod)
	if path.Way == containerruntime.NotAsked {
		AddReportEntry(PathEntry, apiOnly(path.Why))
		return
	}
	if err != nil && !k.run.Own && (errors.Is(err, containerruntime.ErrRefused) || errors.Is(err, containerruntime.ErrUnreachable)) {
		// The way the reader allowed did not reach it (admission refused the
		// node Pod, the node has no runtime tool): what the API shows holds.
		AddReportEntry(PathEntry, apiOnly(err.Error()))
		return
	}
	Expect(err).NotTo(HaveOccurred(), "ask the node's runtime for the container: %s", strings.Join(held.Commands, "; "))
	AddReportEntry(PathEntry, fmt.Sprintf("%s: %s %s holds %s (%s)", held.Path, held.Runtime, held.Version, shortID(id), strings.Join(held.Commands, " && ")))
	Expect(held.ID).To(Equal(raw), "the node's runtime holds a container under exactly the containerID's ID")
	Expect(held.Runtime).To(Equal(scheme), "the runtime that holds it is the one the containerID's scheme names")
}

// runHelloKiamol is the chapter's first command, then its wait; it checks
// that kubectl made what the book says: a bare Pod labelled run=hello-kiamol
// whose one container, also hello-kiamol, runs the chapter's image.
func (k *Suite) runHelloKiamol(ctx context.Context, kc kubectl.Kubectl, ns string) *corev1.Pod {
	GinkgoHelper()
	img := k.image(fixtures.HelloKiamol)
	out := mustRun(ctx, kc, "run", "hello-kiamol", "--image="+img)
	Expect(strings.TrimSpace(out.Stdout)).To(Equal("pod/hello-kiamol created"))
	pod := k.podMustBeReady(ctx, ns, "hello-kiamol")
	Expect(pod.Labels).To(HaveKeyWithValue("run", "hello-kiamol"), "kubectl run labels the Pod run=NAME")
	Expect(metav1.GetControllerOf(pod)).To(BeNil(), "kubectl run makes a bare Pod, owned by nothing")
	Expect(pod.Spec.Containers).To(ConsistOf(And(HaveField("Name", "hello-kiamol"), HaveField("Image", img))))
	return pod
}
