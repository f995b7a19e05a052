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
	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/internal/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/internal/namespaces"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// PathEntry is the report entry saying how a claim that depends on the
// cluster's shape reached what it needed: the verdict shows it on the
// claim's line.
const PathEntry = "path"

// runtimePath decides how a claim reaches the runtime of the Pod's node
// (containerruntime.Decide): this machine's access where it has some; a
// privileged Pod on the node only where the reader asked for one
// (--self-heal=node) or on the suite's own cluster, where the runtime must
// be reached; else not at all, and the claim says why.
func (k *Suite) runtimePath(ctx context.Context, pod *corev1.Pod) (containerruntime.Local, containerruntime.Path, error) {
	var local containerruntime.Local
	if k.settings.SelfHeal == settings.SelfHealNode {
		// Asked for the node: this machine's Docker is not even asked.
		id := containerruntime.RunningID(pod, "hello-kiamol")
		if id == "" {
			return local, containerruntime.Path{}, fmt.Errorf("pod %s/%s has no running container hello-kiamol yet", pod.Namespace, pod.Name)
		}
		local.Scheme = containerruntime.Scheme(id)
	} else {
		var err error
		if local, err = containerruntime.Probe(ctx, pod, "hello-kiamol", k.timeouts.RuntimeCall); err != nil {
			return local, containerruntime.Path{}, err
		}
	}
	return local, containerruntime.Decide(containerruntime.Situation{Mode: k.settings.SelfHeal, Own: k.run.Own,
		Node: pod.Spec.NodeName, Scheme: local.Scheme, Reach: local.Reach}), nil
}

// throughRuntime asks something of the Pod's node's container runtime along
// the path runtimePath chooses. On NotAsked it asks nothing and returns the
// path, for the claim to say why; on Unreachable the error says why. what
// says what is asked, for the steps.
func throughRuntime[T any](ctx context.Context, k *Suite, pod *corev1.Pod, what string,
	fromHost func(containerruntime.Local, containerruntime.Path) (T, error), fromNode func(containerruntime.NodePod) (T, error)) (T, containerruntime.Path, error) {
	GinkgoHelper()
	var zero T
	local, path, err := k.runtimePath(ctx, pod)
	if err != nil {
		return zero, path, err
	}
	switch path.Way {
	case containerruntime.FromHost:
		By(what + " through the node's runtime, from this machine")
		got, err := fromHost(local, path)
		return got, path, err
	case containerruntime.NotAsked:
		By(what + ": not asked, " + path.Why)
		return zero, path, nil
	case containerruntime.Unreachable:
		return zero, path, fmt.Errorf("%w: %s", containerruntime.ErrUnreachable, path.Why)
	}
	By(what + " from its node (" + path.Why + "): kubectl debug node/" + pod.Spec.NodeName + " --profile=sysadmin, the node's runtime under chroot")
	// The spec's own namespace, and only it, admits the privileged Pod.
	was, lerr := k.spaces.AllowPrivileged(ctx, pod.Namespace)
	switch {
	case errors.Is(lerr, namespaces.ErrNotOurs):
		return zero, path, lerr
	case lerr != nil:
		return zero, path, fmt.Errorf("%w: cannot allow privileged Pods in namespace %s: %v", containerruntime.ErrRefused, pod.Namespace, lerr)
	}
	AddReportEntry(clusterinfo.PrivilegedEntryName, clusterinfo.Privileged{Namespace: pod.Namespace,
		Label: namespaces.PodSecurityEnforce + "=privileged", Was: was}.JSON())
	got, err := fromNode(containerruntime.NodePod{
		Kubectl: k.kube().In(pod.Namespace), Clientset: k.client, Image: k.image(fixtures.HelloKiamol),
		Done: k.timeouts.PodReady, Poll: k.timeouts.Poll,
		Started: func(namespace, name, node string) {
			AddReportEntry(clusterinfo.PrivilegedEntryName, clusterinfo.Privileged{Pod: namespace + "/" + name, Node: node}.JSON())
		},
	})
	return got, path, err
}

// unreachable skips a claim that needs the node's runtime on a cluster the
// suite did not make when the way the reader allowed does not reach it (the
// cluster refuses the privileged Pod, the node has no runtime tool); on its
// own cluster, not reaching it is a failure.
func (k *Suite) unreachable(err error) {
	GinkgoHelper()
	if (errors.Is(err, containerruntime.ErrUnreachable) || errors.Is(err, containerruntime.ErrRefused)) && !k.run.Own {
		Skip("needs the node's container runtime: " + err.Error())
	}
}

// inspectContainer asks the node's runtime about the Pod's container, or
// says (path NotAsked) why it does not.
func (k *Suite) inspectContainer(ctx context.Context, pod *corev1.Pod) (containerruntime.Held, containerruntime.Path, error) {
	GinkgoHelper()
	return throughRuntime(ctx, k, pod, "ask for container hello-kiamol",
		func(l containerruntime.Local, p containerruntime.Path) (containerruntime.Held, error) {
			return l.Inspect(ctx, p, k.timeouts.RuntimeCall)
		},
		func(in containerruntime.NodePod) (containerruntime.Held, error) {
			return containerruntime.InspectThroughNode(ctx, in, pod, "hello-kiamol", k.timeouts.RuntimeCall)
		})
}

// removeContainer removes the Pod's container the chapter's way.
func (k *Suite) removeContainer(ctx context.Context, pod *corev1.Pod) (containerruntime.Removal, containerruntime.Path, error) {
	GinkgoHelper()
	return throughRuntime(ctx, k, pod, "remove container hello-kiamol, found by label io.kubernetes.container.name=hello-kiamol,",
		func(l containerruntime.Local, p containerruntime.Path) (containerruntime.Removal, error) {
			return l.Remove(ctx, pod, "hello-kiamol", p, k.timeouts.RuntimeCall)
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
	removal, path, err := k.removeContainer(ctx, pod)
	if path.Way == containerruntime.NotAsked {
		Skip(path.Why)
	}
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
