package e2e

import (
	"errors"
	"fmt"
	"net"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/helpers/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/imperative"
)

var _ = Describe("Chapter 2, Pods: kubectl run hello-kiamol --image=kiamol/ch02-hello-kiamol", Label("pods"), func() {
	It("gives a Pod that becomes Ready, with a pod IP and a host IP that differ, listed in the namespace", func(ctx SpecContext) {
		ns := namespace(ctx, "pods")
		pod := createPod(ctx, ns, imperative.Run("hello-kiamol", chapterImage))

		podIP, hostIP := net.ParseIP(pod.Status.PodIP), net.ParseIP(pod.Status.HostIP)
		Expect(podIP).NotTo(BeNil(), "status.podIP %q is an IP", pod.Status.PodIP)
		Expect(hostIP).NotTo(BeNil(), "status.hostIP %q is an IP", pod.Status.HostIP)
		Expect(podIP.Equal(hostIP)).To(BeFalse(), "the pod has its own virtual IP, not its node's (%s)", hostIP)

		list, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(list.Items).To(ContainElement(HaveField("ObjectMeta.Name", "hello-kiamol")), "kubectl get pods lists it")
	}, SpecTimeout(timeouts.Chapter))

	It("names its container by the runtime that runs it: the containerID scheme matches the node's runtime", func(ctx SpecContext) {
		ns := namespace(ctx, "pods")
		pod := createPod(ctx, ns, imperative.Run("hello-kiamol", chapterImage))

		id := pod.Status.ContainerStatuses[0].ContainerID
		Expect(id).To(MatchRegexp(`^[a-z]+://[0-9a-f]+$`), "containerID is <runtime>://<id>")
		node, err := clientset.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		runtime := node.Status.NodeInfo.ContainerRuntimeVersion
		Expect(containerruntime.Scheme(id)).To(Equal(containerruntime.Scheme(runtime)),
			"containerID %s and node %s's runtime %s", id, node.Name, runtime)
	}, SpecTimeout(timeouts.Chapter))

	It("heals itself: removing its container through the runtime leaves the same Pod with a new container, Ready again", Label("self-healing"), func(ctx SpecContext) {
		ns := namespace(ctx, "pods")
		pod := createPod(ctx, ns, imperative.Run("hello-kiamol", chapterImage))
		before := viewOf(pod)

		healed := removeContainerAndWaitHealed(ctx, ns, pod)
		// crictl rm -f deletes the container's record with it, so the kubelet
		// starts attempt 0 again and restartCount does not rise (containerd).
		if containerruntime.Scheme(before.ContainerID) == "containerd" {
			Expect(healed.RestartCount).To(Equal(before.RestartCount), "restartCount after crictl rm -f")
		}
	}, SpecTimeout(timeouts.Chapter))

	It("serves the app's page through port-forward pod/hello-kiamol :80", Label("port-forward"), func(ctx SpecContext) {
		ns := namespace(ctx, "pods")
		pod := createPod(ctx, ns, imperative.Run("hello-kiamol", chapterImage))
		expectPageThrough(ctx, forwardToPod(ctx, ns, pod.Name))
	}, SpecTimeout(timeouts.Chapter))

	It("keeps serving through the same port-forward after its container is replaced", Label("port-forward", "self-healing"), func(ctx SpecContext) {
		ns := namespace(ctx, "pods")
		pod := createPod(ctx, ns, imperative.Run("hello-kiamol", chapterImage))
		session := forwardToPod(ctx, ns, pod.Name)
		expectPageThrough(ctx, session)

		removeContainerAndWaitHealed(ctx, ns, pod)
		expectPageThrough(ctx, session)
	}, SpecTimeout(timeouts.Chapter))
})

// removeContainerAndWaitHealed removes the pod's container behind the
// kubelet's back and waits for the same pod to run a new one, Ready.
func removeContainerAndWaitHealed(ctx SpecContext, ns string, pod *corev1.Pod) podView {
	GinkgoHelper()
	before := viewOf(pod)
	removal, err := containerruntime.RemoveContainer(ctx, pod)
	if errors.Is(err, containerruntime.ErrUnreachable) {
		Skip("self-healing needs the node's container runtime: " + err.Error())
	}
	Expect(err).NotTo(HaveOccurred(), "remove the container through the runtime")
	removed := time.Now()

	var healed podView
	Eventually(ctx, func(g Gomega) podView {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred(), "the Pod itself is still there")
		healed = viewOf(p)
		return healed
	}).WithTimeout(timeouts.SelfHeal).WithPolling(timeouts.Poll).Should(And(
		HaveField("UID", before.UID),
		HaveField("ContainerID", Not(Equal(before.ContainerID))),
		HaveField("Ready", BeTrue()),
	), "pod %s/%s replaces container %s after `%s`", ns, pod.Name, before.ContainerID, removal.Command)
	AddReportEntry("self-healing", fmt.Sprintf("%s -> new container Ready after %s", removal.Command, time.Since(removed).Round(10*time.Millisecond)))
	return healed
}
