package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/harness/settings"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
)

// PathEntry is the report entry saying how a claim that depends on the
// cluster's shape reached what it needed: the verdict shows it on the
// claim's line.
const PathEntry = "path"

// throughRuntime asks something of the Pod's node's container runtime the
// way the chapter reaches it: through this machine's access to it when it
// has some (a kind node here, a Docker Desktop engine), else, or when
// E2E_SELF_HEAL=node asks, from a privileged Pod on the node itself
// (`kubectl debug node/...`). what says what is asked, for the steps.
func throughRuntime[T any](ctx context.Context, k *Suite, pod *corev1.Pod, what string,
	fromHost func() (T, error), fromNode func(containerruntime.NodePod) (T, error)) (T, error) {
	GinkgoHelper()
	mode := k.settings.SelfHeal
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
	kc := k.kube().In(pod.Namespace)
	if _, lerr := kc.Run(ctx, "label", "namespace", pod.Namespace, "--overwrite",
		"pod-security.kubernetes.io/enforce=privileged"); lerr != nil {
		return zero, fmt.Errorf("%w: cannot allow privileged Pods in namespace %s: %v", containerruntime.ErrRefused, pod.Namespace, lerr)
	}
	return fromNode(containerruntime.NodePod{
		Kubectl: kc, Clientset: k.client, Image: k.image(fixtures.HelloKiamol),
		Done: k.timeouts.PodReady, Poll: k.timeouts.Poll,
	})
}

// unreachable skips a claim that needs the node's runtime on a cluster the
// suite did not make and cannot reach the runtime of; on its own cluster,
// not reaching it is a failure.
func (k *Suite) unreachable(err error) {
	GinkgoHelper()
	if (errors.Is(err, containerruntime.ErrUnreachable) || errors.Is(err, containerruntime.ErrRefused)) && !k.run.Own {
		Skip("needs the node's container runtime: " + err.Error())
	}
}

// inspectContainer asks the node's runtime about the Pod's container.
func (k *Suite) inspectContainer(ctx context.Context, pod *corev1.Pod) containerruntime.Held {
	GinkgoHelper()
	held, err := throughRuntime(ctx, k, pod, "ask for container hello-kiamol",
		func() (containerruntime.Held, error) {
			return containerruntime.Inspect(ctx, pod, "hello-kiamol", k.timeouts.RuntimeCall)
		},
		func(in containerruntime.NodePod) (containerruntime.Held, error) {
			return containerruntime.InspectThroughNode(ctx, in, pod, "hello-kiamol", k.timeouts.RuntimeCall)
		})
	k.unreachable(err)
	Expect(err).NotTo(HaveOccurred(), "ask the node's runtime for the container: %s", strings.Join(held.Commands, "; "))
	return held
}

// removeContainer removes the Pod's container the chapter's way.
func (k *Suite) removeContainer(ctx context.Context, pod *corev1.Pod) (containerruntime.Removal, error) {
	GinkgoHelper()
	return throughRuntime(ctx, k, pod, "remove container hello-kiamol, found by label io.kubernetes.container.name=hello-kiamol,",
		func() (containerruntime.Removal, error) {
			return containerruntime.Remove(ctx, pod, "hello-kiamol", k.timeouts.RuntimeCall)
		},
		func(in containerruntime.NodePod) (containerruntime.Removal, error) {
			return containerruntime.ThroughNode(ctx, in, pod, "hello-kiamol", k.timeouts.RuntimeCall)
		})
}

// podView is the part of a pod the self-healing claim is about.
type podView struct {
	UID          types.UID
	ContainerID  string
	RestartCount int32
	Ready        bool
}

func viewOf(p *corev1.Pod) podView {
	v := podView{UID: p.UID, Ready: diagnose.Ready(p)}
	if len(p.Status.ContainerStatuses) > 0 {
		v.ContainerID = p.Status.ContainerStatuses[0].ContainerID
		v.RestartCount = p.Status.ContainerStatuses[0].RestartCount
	}
	return v
}

// removeContainerAndWaitHealed removes the pod's container behind the
// kubelet's back, the chapter's way, and waits (e2e-framework's
// ResourceMatch on the Pod) for the same Pod to run a new one, Ready.
func (k *Suite) removeContainerAndWaitHealed(ctx context.Context, pod *corev1.Pod) podView {
	GinkgoHelper()
	before := viewOf(pod)
	removal, err := k.removeContainer(ctx, pod)
	k.unreachable(err)
	Expect(err).NotTo(HaveOccurred(), "remove the container through the runtime: %s", strings.Join(removal.Commands, "; "))
	// The removed container first: the verdict shortens a long path.
	AddReportEntry(PathEntry, fmt.Sprintf("%s: removed %s with %s", removal.Path, shortID(before.ContainerID), strings.Join(removal.Commands, " && ")))
	removed := time.Now()

	current := pod.DeepCopy()
	healed := conditions.New(k.klient).ResourceMatch(current, func(o k8s.Object) bool {
		v := viewOf(o.(*corev1.Pod))
		return v.UID == before.UID && v.ContainerID != before.ContainerID && v.Ready
	})
	err = k.await(ctx, k.timeouts.SelfHeal, func(ctx context.Context) (bool, error) {
		if ok, _ := healed(ctx); ok {
			return true, nil
		}
		if c := k.health.Pod(ctx, current); c.Final {
			return false, final{fmt.Sprintf("pod %s/%s cannot run a new container: %s", current.Namespace, current.Name, c.Why)}
		}
		return false, nil
	})
	if err != nil {
		failWait(err, func() string {
			ctx := context.WithoutCancel(ctx)
			why := k.health.Pod(ctx, current).Why
			switch v := viewOf(current); {
			case v.UID != before.UID:
				why = fmt.Sprintf("the Pod was replaced (UID %s, was %s); %s", v.UID, before.UID, why)
			case v.ContainerID == before.ContainerID:
				why = "the kubelet still reports the removed container as its current one; " + why
			}
			// What the kubelet logged about the Pod and the container says
			// whether it saw the container go.
			if log := containerruntime.KubeletLog(ctx, pod.Spec.NodeName, removed.Add(-5*time.Second), string(pod.UID), containerruntime.Short(before.ContainerID)); log != "" {
				AddReportEntry("kubelet log for the pod", log, ReportEntryVisibilityFailureOrVerbose)
			}
			return fmt.Sprintf("pod %s/%s did not replace container %s after %s: %s", pod.Namespace, pod.Name, before.ContainerID, strings.Join(removal.Commands, " && "), why)
		})
	}
	after := viewOf(current)
	report := fmt.Sprintf("%s -> new container Ready after %s", strings.Join(removal.Commands, " && "), time.Since(removed).Round(10*time.Millisecond))
	if removal.Note != "" {
		report += " (" + removal.Note + ")"
	}
	AddReportEntry("self-healing", report)
	AddReportEntry(PathEntry, fmt.Sprintf("replaced by %s in the same Pod (UID %s)", shortID(after.ContainerID), after.UID))
	return after
}

// shortID is a containerID as the runtime names it, shortened:
// docker://3c1b2a4d5e6f7.
func shortID(id string) string {
	return containerruntime.Scheme(id) + "://" + containerruntime.Short(id)
}
