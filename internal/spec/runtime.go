package spec

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/internal/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/internal/namespaces"
	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// PathEntry says how a claim reached the node's runtime (report.PathEntry).
const PathEntry = report.PathEntry

// runtimePath decides how a claim reaches the runtime of the Pod's node
// (containerruntime.Decide): this machine's access where it has some; a
// privileged Pod on the node only where the reader asked for one
// (--self-heal=node) or on the suite's own cluster, where the runtime must
// be reached; else not at all, and the claim says why.
func (k *Suite) runtimePath(ctx context.Context, pod *corev1.Pod, container string) (containerruntime.Local, containerruntime.Path, error) {
	var local containerruntime.Local
	if k.settings.SelfHeal == settings.SelfHealNode {
		// Asked for the node: this machine's Docker is not even asked.
		id := containerruntime.RunningID(pod, container)
		if id == "" {
			return local, containerruntime.Path{}, fmt.Errorf("pod %s/%s has no running container %s yet", pod.Namespace, pod.Name, container)
		}
		local.Scheme = containerruntime.Scheme(id)
	} else {
		var err error
		if local, err = containerruntime.Probe(ctx, pod, container, k.timeouts.RuntimeCall); err != nil {
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
func throughRuntime[R any](ctx context.Context, k *Suite, pod *corev1.Pod, container, what string,
	fromHost func(containerruntime.Local, containerruntime.Path) (R, error), fromNode func(containerruntime.NodePod) (R, error)) (R, containerruntime.Path, error) {
	GinkgoHelper()
	var zero R
	local, path, err := k.runtimePath(ctx, pod, container)
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
		// The Pod's own image: one the cluster pulls, with busybox's chroot.
		Kubectl: k.kube().In(pod.Namespace), Clientset: k.client, Image: pod.Spec.Containers[0].Image,
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
func (t *T) unreachable(err error) {
	GinkgoHelper()
	if (errors.Is(err, containerruntime.ErrUnreachable) || errors.Is(err, containerruntime.ErrRefused)) && !t.run.Own {
		t.Lacks(book.NodeRuntime, err.Error())
	}
}

// InspectContainer asks the node's runtime about the Pod's container, or
// says (path NotAsked) why it does not.
func (t *T) InspectContainer(ctx context.Context, pod *corev1.Pod, container string) (containerruntime.Held, containerruntime.Path, error) {
	GinkgoHelper()
	return throughRuntime(ctx, t.Suite, pod, container, "ask for container "+container,
		func(l containerruntime.Local, p containerruntime.Path) (containerruntime.Held, error) {
			return l.Inspect(ctx, p, t.timeouts.RuntimeCall)
		},
		func(in containerruntime.NodePod) (containerruntime.Held, error) {
			return containerruntime.InspectThroughNode(ctx, in, pod, container, t.timeouts.RuntimeCall)
		})
}

// removeContainer removes the Pod's container the book's way.
func (t *T) removeContainer(ctx context.Context, pod *corev1.Pod, container string) (containerruntime.Removal, containerruntime.Path, error) {
	GinkgoHelper()
	return throughRuntime(ctx, t.Suite, pod, container, "remove container "+container+", found by label io.kubernetes.container.name="+container+",",
		func(l containerruntime.Local, p containerruntime.Path) (containerruntime.Removal, error) {
			return l.Remove(ctx, pod, container, p, t.timeouts.RuntimeCall)
		},
		func(in containerruntime.NodePod) (containerruntime.Removal, error) {
			return containerruntime.ThroughNode(ctx, in, pod, container, t.timeouts.RuntimeCall)
		})
}

// podView is the part of a pod the self-healing claim is about.
type podView struct {
	UID          types.UID
	ContainerID  string
	RestartCount int32
	Ready        bool
}

// PodView is the part of a Pod the self-healing claims compare.
type PodView = podView

// ViewOf is that part of p.
func ViewOf(p *corev1.Pod) PodView { return viewOf(p) }

func viewOf(p *corev1.Pod) podView {
	v := podView{UID: p.UID, Ready: diagnose.Ready(p)}
	if len(p.Status.ContainerStatuses) > 0 {
		v.ContainerID = p.Status.ContainerStatuses[0].ContainerID
		v.RestartCount = p.Status.ContainerStatuses[0].RestartCount
	}
	return v
}

// RemoveContainerAndWaitHealed runs the claim's runtime step: it removes
// the Pod's container behind the kubelet's back, the book's way, along the
// way the run reaches the node's runtime, and waits (e2e-framework's
// ResourceMatch on the Pod) for the same Pod to run a new one, Ready.
func (t *T) RemoveContainerAndWaitHealed(ctx context.Context, step book.Step, pod *corev1.Pod) PodView {
	GinkgoHelper()
	k := t.Suite
	if !step.IsRuntime() || !t.lists(step) {
		failBecause(LayerSuite, fmt.Sprintf("step `%s` is not a runtime step the claim lists", step.Book))
	}
	container := step.Container()
	before := viewOf(pod)
	removal, path, err := t.removeContainer(ctx, pod, container)
	if path.Way == containerruntime.NotAsked {
		t.Lacks(book.NodeRuntime, path.Why)
	}
	t.unreachable(err)
	if err != nil {
		failBecause(LayerRuntime, "remove the container through the runtime: "+oneline.Tidy(err.Error()))
	}
	t.record(Ran{Book: step.Book, Ran: strings.Join(removal.Commands, " && "), Why: step.Subs[0].Why + ": " + removal.Path})
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

// ContainerIDMustBeHeld checks what kubectl printed of a Pod's container
// (id) against the API and the node: the ID the API has, in the kubelet's
// <runtime>://<id> form, naming the runtime the node reports; and the
// node's runtime, asked directly where the run reaches it, holds a
// container with exactly that ID. Where the run does not reach it (a
// cluster the suite did not make, no way allowed), what the API shows holds
// and the claim's line says why the runtime was not asked.
func (t *T) ContainerIDMustBeHeld(ctx context.Context, pod *corev1.Pod, container, id string) {
	GinkgoHelper()
	Expect(id).To(Equal(containerStatus(pod, container).ContainerID), "kubectl prints the ID the API has")
	node, err := t.client.CoreV1().Nodes().Get(ctx, pod.Spec.NodeName, metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred(), "read the Pod's node %s", pod.Spec.NodeName)
	reported := node.Status.NodeInfo.ContainerRuntimeVersion
	Expect(containerruntime.CheckContainerID(id, reported)).To(Succeed(), "containerID is <runtime>://<hex id>, naming the runtime its node reports")
	scheme, raw, _ := strings.Cut(id, "://")
	// The reason first: the verdict shortens a long path line at its end.
	apiOnly := func(why string) string {
		return fmt.Sprintf("API only, the node's runtime not asked: %s; %s on node %s, whose kubelet reports %s", why, shortID(id), node.Name, reported)
	}

	held, path, err := t.InspectContainer(ctx, pod, container)
	if path.Way == containerruntime.NotAsked {
		AddReportEntry(PathEntry, apiOnly(path.Why))
		return
	}
	if err != nil && !t.run.Own && (errors.Is(err, containerruntime.ErrRefused) || errors.Is(err, containerruntime.ErrUnreachable)) {
		// The way the reader allowed did not reach it (admission refused the
		// node Pod, the node has no runtime tool): what the API shows holds.
		AddReportEntry(PathEntry, apiOnly(err.Error()))
		return
	}
	if err != nil {
		failBecause(LayerRuntime, "ask the node's runtime for the container: "+oneline.Tidy(err.Error()))
	}
	AddReportEntry(PathEntry, fmt.Sprintf("%s: %s %s holds %s (%s)", held.Path, held.Runtime, held.Version, shortID(id), strings.Join(held.Commands, " && ")))
	Expect(held.ID).To(Equal(raw), "the node's runtime holds a container under exactly the containerID's ID")
	Expect(held.Runtime).To(Equal(scheme), "the runtime that holds it is the one the containerID's scheme names")
}
