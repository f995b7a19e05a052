package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/harness/settings"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/kubectl"
)

// Chapter 2, section 2.1: how Kubernetes runs and manages containers.
var _ = Describe("2.1 Pods", func() {
	// Claims that only read share one Pod; each still passes or fails on
	// its own (ContinueOnFailure), with its own time in the verdict.
	Describe("one Pod, read by each claim", Ordered, ContinueOnFailure, func() {
		var (
			ns  string
			k   kubectl.Kubectl
			pod *corev1.Pod
		)
		BeforeAll(func(ctx SpecContext) {
			ns, k = namespace(ctx, "pods")
			pod = runHelloKiamol(ctx, k, ns)
		}, NodeTimeout(timeouts.Chapter))

		claim("2.1/pod-ready", func(ctx SpecContext) {
			podIP, hostIP := net.ParseIP(pod.Status.PodIP), net.ParseIP(pod.Status.HostIP)
			Expect(podIP).NotTo(BeNil(), "status.podIP %q is an IP", pod.Status.PodIP)
			Expect(hostIP).NotTo(BeNil(), "status.hostIP %q is an IP", pod.Status.HostIP)
			Expect(podIP.Equal(hostIP)).To(BeFalse(), "the pod has its own virtual IP, not its node's (%s)", hostIP)

			columns := mustRun(ctx, k, "get", "pod", "hello-kiamol", "--output", "custom-columns=NAME:metadata.name,NODE_IP:status.hostIP,POD_IP:status.podIP")
			Expect(lines(columns.Stdout)).To(HaveLen(2), "a header and one row:\n%s", columns.Stdout)
			Expect(strings.Fields(lines(columns.Stdout)[1])).To(Equal([]string{"hello-kiamol", pod.Status.HostIP, pod.Status.PodIP}), "kubectl prints the IPs the API has")

			list := mustRun(ctx, k, "get", "pods")
			Expect(list.Stdout).To(MatchRegexp(`(?m)^hello-kiamol\s+1/1\s+Running\s`), "kubectl get pods lists it, 1/1 Running")
		}, SpecTimeout(timeouts.Chapter))

		claim("2.1/container-id", func(ctx SpecContext) {
			out := mustRun(ctx, k, "get", "pod", "hello-kiamol", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
			id := strings.TrimSpace(out.Stdout)
			Expect(id).To(MatchRegexp(`^[a-z]+://[0-9a-f]+$`), "containerID is <runtime>://<id>")
			Expect(id).To(Equal(pod.Status.ContainerStatuses[0].ContainerID), "kubectl prints the ID the API has")
			// The kubelet wrote that ID; the runtime on the node, asked
			// directly, answers for it.
			scheme, raw, _ := strings.Cut(id, "://")
			held := inspectContainer(ctx, pod)
			AddReportEntry(PathEntry, fmt.Sprintf("%s: %s %s holds %s (%s)", held.Path, held.Runtime, held.Version, shortID(id), strings.Join(held.Commands, " && ")))
			Expect(held.ID).To(Equal(raw), "the node's runtime holds a container under exactly the containerID's ID")
			Expect(held.Runtime).To(Equal(scheme), "the runtime that holds it is the one the containerID's scheme names")
		}, SpecTimeout(timeouts.Chapter))

		claim("2.1/port-forward-pod", func(ctx SpecContext) {
			pageMustBeServed(ctx, forwardTo(ctx, k, "pod/hello-kiamol"), "/", fixtures.HelloKiamolHeading)
		}, SpecTimeout(timeouts.Chapter))
	})

	// Claims that change the Pod get their own.
	claim("2.1/self-healing", func(ctx SpecContext) {
		ns, k := namespace(ctx, "pods")
		pod := runHelloKiamol(ctx, k, ns)
		before := viewOf(pod)

		healed := removeContainerAndWaitHealed(ctx, pod)
		// restartCount is not part of the claim: after `crictl rm -f` it
		// stays as it was when the kubelet never saw the old container
		// exited (its record went with it), and rises by one when it did
		// (measured here: both, the latter under load).
		AddReportEntry("restartCount", fmt.Sprintf("%d before, %d after", before.RestartCount, healed.RestartCount))
	}, SpecTimeout(timeouts.Chapter))

	claim("2.1/self-healing-forward", func(ctx SpecContext) {
		ns, k := namespace(ctx, "pods")
		pod := runHelloKiamol(ctx, k, ns)
		session := forwardTo(ctx, k, "pod/hello-kiamol")
		pageMustBeServed(ctx, session, "/", fixtures.HelloKiamolHeading)

		removeContainerAndWaitHealed(ctx, pod)
		pageMustBeServed(ctx, session, "/", fixtures.HelloKiamolHeading)
	}, SpecTimeout(timeouts.Chapter))
})

// runHelloKiamol is the chapter's first command, then its wait; it checks
// that kubectl made what the book says: a bare Pod labelled run=hello-kiamol
// whose one container, also hello-kiamol, runs the chapter's image.
func runHelloKiamol(ctx SpecContext, k kubectl.Kubectl, ns string) *corev1.Pod {
	GinkgoHelper()
	img := image(fixtures.HelloKiamol)
	out := mustRun(ctx, k, "run", "hello-kiamol", "--image="+img)
	Expect(strings.TrimSpace(out.Stdout)).To(Equal("pod/hello-kiamol created"))
	pod := podMustBeReady(ctx, ns, "hello-kiamol")
	Expect(pod.Labels).To(HaveKeyWithValue("run", "hello-kiamol"), "kubectl run labels the Pod run=NAME")
	Expect(metav1.GetControllerOf(pod)).To(BeNil(), "kubectl run makes a bare Pod, owned by nothing")
	Expect(pod.Spec.Containers).To(ConsistOf(And(HaveField("Name", "hello-kiamol"), HaveField("Image", img))))
	return pod
}

// podView is the part of a pod the self-healing claim is about; polls
// return it so a timeout prints these few fields, not the whole object.
type podView struct {
	UID          types.UID
	ContainerID  string
	RestartCount int32
	Ready        bool
}

func viewOf(p *corev1.Pod) podView {
	v := podView{UID: p.UID, Ready: isReady(p)}
	if len(p.Status.ContainerStatuses) > 0 {
		v.ContainerID = p.Status.ContainerStatuses[0].ContainerID
		v.RestartCount = p.Status.ContainerStatuses[0].RestartCount
	}
	return v
}

// PathEntry is the report entry saying how a claim that depends on the
// cluster's shape reached what it needed: the verdict shows it on the
// claim's line.
const PathEntry = "path"

// throughRuntime asks something of the Pod's node's container runtime the
// way the chapter reaches it: through this machine's access to it when it
// has some (a kind node here, a Docker Desktop engine), else, or when
// E2E_SELF_HEAL=node asks, from a privileged Pod on the node itself
// (`kubectl debug node/...`). what says what is asked, for the steps.
func throughRuntime[T any](ctx SpecContext, pod *corev1.Pod, what string,
	fromHost func() (T, error), fromNode func(containerruntime.NodePod) (T, error)) (T, error) {
	GinkgoHelper()
	mode := settings.FromEnv().SelfHeal
	var zero T
	if mode != settings.SelfHealNode {
		By(what + " through the node's runtime")
		got, err := fromHost()
		if err == nil || mode == settings.SelfHealHost || !errors.Is(err, containerruntime.ErrUnreachable) {
			return got, err
		}
	}
	By(what + " from its node: kubectl debug node/" + pod.Spec.NodeName + " --profile=sysadmin, the node's runtime under chroot")
	// The spec's own namespace admits the privileged debugging Pod.
	k := kube().In(pod.Namespace)
	if _, lerr := k.Run(ctx, "label", "namespace", pod.Namespace, "--overwrite",
		"pod-security.kubernetes.io/enforce=privileged"); lerr != nil {
		return zero, fmt.Errorf("%w: cannot allow privileged Pods in namespace %s: %v", containerruntime.ErrRefused, pod.Namespace, lerr)
	}
	return fromNode(containerruntime.NodePod{
		Kubectl: k, Clientset: clientset, Image: image(fixtures.HelloKiamol),
		Done: timeouts.PodReady, Poll: timeouts.Poll,
	})
}

// unreachable skips a claim that needs the node's runtime on a cluster the
// suite did not make and cannot reach the runtime of; on its own cluster,
// not reaching it is a failure.
func unreachable(err error) {
	GinkgoHelper()
	if (errors.Is(err, containerruntime.ErrUnreachable) || errors.Is(err, containerruntime.ErrRefused)) && !the.Own {
		Skip("needs the node's container runtime: " + err.Error())
	}
}

// inspectContainer asks the node's runtime about the Pod's container.
func inspectContainer(ctx SpecContext, pod *corev1.Pod) containerruntime.Held {
	GinkgoHelper()
	held, err := throughRuntime(ctx, pod, "ask for container hello-kiamol",
		func() (containerruntime.Held, error) {
			return containerruntime.Inspect(ctx, pod, "hello-kiamol", timeouts.RuntimeCall)
		},
		func(in containerruntime.NodePod) (containerruntime.Held, error) {
			return containerruntime.InspectThroughNode(ctx, in, pod, "hello-kiamol", timeouts.RuntimeCall)
		})
	unreachable(err)
	Expect(err).NotTo(HaveOccurred(), "ask the node's runtime for the container: %s", strings.Join(held.Commands, "; "))
	return held
}

// removeContainer removes the Pod's container the chapter's way.
func removeContainer(ctx SpecContext, pod *corev1.Pod) (containerruntime.Removal, error) {
	GinkgoHelper()
	return throughRuntime(ctx, pod, "remove container hello-kiamol, found by label io.kubernetes.container.name=hello-kiamol,",
		func() (containerruntime.Removal, error) {
			return containerruntime.Remove(ctx, pod, "hello-kiamol", timeouts.RuntimeCall)
		},
		func(in containerruntime.NodePod) (containerruntime.Removal, error) {
			return containerruntime.ThroughNode(ctx, in, pod, "hello-kiamol", timeouts.RuntimeCall)
		})
}

// removeContainerAndWaitHealed removes the pod's container behind the
// kubelet's back, the chapter's way, and waits for the same pod to run a new
// one, Ready.
func removeContainerAndWaitHealed(ctx SpecContext, pod *corev1.Pod) podView {
	GinkgoHelper()
	before := viewOf(pod)
	removal, err := removeContainer(ctx, pod)
	unreachable(err)
	Expect(err).NotTo(HaveOccurred(), "remove the container through the runtime: %s", strings.Join(removal.Commands, "; "))
	// The removed container first: the verdict shortens a long path.
	AddReportEntry(PathEntry, fmt.Sprintf("%s: removed %s with %s", removal.Path, shortID(before.ContainerID), strings.Join(removal.Commands, " && ")))
	removed := time.Now()

	var healed podView
	var last *corev1.Pod
	Eventually(ctx, func(g Gomega) podView {
		p, err := clientset.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred(), "the Pod itself is still there")
		last, healed = p, viewOf(p)
		if !healed.Ready {
			if c := health.Pod(ctx, p); c.Final {
				StopTrying(fmt.Sprintf("pod %s/%s cannot run a new container: %s", p.Namespace, p.Name, c.Why)).Now()
			}
		}
		return healed
	}).WithTimeout(timeouts.SelfHeal).WithPolling(timeouts.Poll).Should(And(
		HaveField("UID", before.UID),
		HaveField("ContainerID", Not(Equal(before.ContainerID))),
		HaveField("Ready", BeTrue()),
	), func() string {
		why := health.Pod(ctx, last).Why
		if last != nil && viewOf(last).ContainerID == before.ContainerID {
			why = "the kubelet still reports the removed container as its current one; " + why
		}
		// What the kubelet logged about the Pod and the container says
		// whether it saw the container go.
		if log := containerruntime.KubeletLog(context.WithoutCancel(ctx), pod.Spec.NodeName, removed.Add(-5*time.Second), string(pod.UID), containerruntime.Short(before.ContainerID)); log != "" {
			AddReportEntry("kubelet log for the pod", log, ReportEntryVisibilityFailureOrVerbose)
		}
		return fmt.Sprintf("pod %s/%s did not replace container %s after %s: %s", pod.Namespace, pod.Name, before.ContainerID, strings.Join(removal.Commands, " && "), why)
	})
	report := fmt.Sprintf("%s -> new container Ready after %s", strings.Join(removal.Commands, " && "), time.Since(removed).Round(10*time.Millisecond))
	if removal.Note != "" {
		report += " (" + removal.Note + ")"
	}
	AddReportEntry("self-healing", report)
	AddReportEntry(PathEntry, fmt.Sprintf("replaced by %s in the same Pod (UID %s)", shortID(healed.ContainerID), healed.UID))
	return healed
}

// shortID is a containerID as the runtime names it, shortened:
// docker://3c1b2a4d5e6f7.
func shortID(id string) string {
	return containerruntime.Scheme(id) + "://" + containerruntime.Short(id)
}
