// Package diagnose describes what the specs poll (pods, deployments, nodes,
// events, the cluster's own health) in words a failure message can carry.
package diagnose

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubectl/pkg/util/podutils"
)

// Ready says whether a Pod is Running and Ready, as kubectl judges
// readiness (podutils.IsPodReady: its Ready condition is True), with a
// container behind each of its containers: a kubelet reports a container
// only once its runtime made it, by the ID the runtime gave it
// (containerID), so a Pod Ready without one was marked Ready by something
// that runs nothing (kwok's fake nodes do so).
func Ready(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && podutils.IsPodReady(p) && NoContainer(p) == ""
}

// NoContainer says, of a Pod whose status says it is Running and Ready,
// which of its containers has no container behind it (no containerID, or
// no status at all): "" when each has one, or when the Pod does not claim
// to run. No kubelet reports that; a stand-in for one does.
func NoContainer(p *corev1.Pod) string {
	if p.Status.Phase != corev1.PodRunning || !podutils.IsPodReady(p) {
		return ""
	}
	ids := map[string]string{}
	for _, cs := range p.Status.ContainerStatuses {
		ids[cs.Name] = cs.ContainerID
	}
	var none []string
	for _, c := range p.Spec.Containers {
		if ids[c.Name] == "" {
			none = append(none, c.Name)
		}
	}
	if len(none) == 0 {
		return ""
	}
	return fmt.Sprintf("pod %s/%s is Running and Ready with no container behind container %s (no containerID): no kubelet reports that",
		p.Namespace, p.Name, strings.Join(none, ", "))
}

// DescribePod is one line with what explains a pod that is not Ready: its
// phase, readiness and each container's state with its reason.
func DescribePod(p *corev1.Pod) string {
	if p == nil {
		return "<no pod>"
	}
	var parts []string
	parts = append(parts, fmt.Sprintf("pod %s/%s phase=%s ready=%v", p.Namespace, p.Name, p.Status.Phase, podutils.IsPodReady(p)))
	// Containers first: their waiting reason (ErrImagePull, CrashLoopBackOff)
	// is the cause, and a one-line summary may keep only the beginning.
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		parts = append(parts, "container "+cs.Name+": "+describeState(cs))
	}
	for _, c := range p.Status.Conditions {
		// ContainersNotReady only repeats what the container states say.
		if c.Status != corev1.ConditionTrue && c.Reason != "" && c.Reason != "ContainersNotReady" {
			parts = append(parts, fmt.Sprintf("%s=%s(%s)", c.Type, c.Status, c.Reason))
		}
	}
	if p.Status.Message != "" {
		parts = append(parts, "message: "+p.Status.Message)
	}
	return strings.Join(parts, "; ")
}

func describeState(cs corev1.ContainerStatus) string {
	s := cs.State
	switch {
	case s.Waiting != nil:
		return fmt.Sprintf("waiting %s %s (restarts %d)", s.Waiting.Reason, s.Waiting.Message, cs.RestartCount)
	case s.Terminated != nil:
		return fmt.Sprintf("terminated %s exit %d (restarts %d)", s.Terminated.Reason, s.Terminated.ExitCode, cs.RestartCount)
	case s.Running != nil:
		return fmt.Sprintf("running ready=%v (restarts %d)", cs.Ready, cs.RestartCount)
	}
	return "unknown"
}

// DescribePods describes each pod, sorted by name.
func DescribePods(pods []corev1.Pod) string {
	if len(pods) == 0 {
		return "no pods"
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	var lines []string
	for i := range pods {
		lines = append(lines, DescribePod(&pods[i]))
	}
	return strings.Join(lines, "\n")
}

func eventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
