package diagnose

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"

	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
)

// Cause is why an object does not get where a claim waits for it to be,
// deepest cause first. Final says the cause is certain and will not go away
// by waiting (an image that does not exist, a node that stopped reporting,
// a controller with no leader), so the claim can stop and say so at once.
type Cause struct {
	Why   string
	Final bool
}

// Pod explains a Pod that is not Running and Ready.
func (h *Health) Pod(ctx context.Context, p *corev1.Pod) Cause {
	if p == nil {
		return Cause{Why: "no pod"}
	}
	var parts []string
	final := false
	cluster := h.Established(ctx)
	var node *corev1.Node
	if p.Spec.NodeName != "" {
		if n, err := h.cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{}); err == nil {
			node = n
		}
	}
	// A node that runs nothing explains everything else its Pods show
	// (kwok marks them Running and Ready): it leads, and will not change.
	lead := ""
	if node != nil {
		if why := clusterinfo.NotReal(node); why != "" {
			lead, final = "node "+node.Name+" is not a real node: "+why, true
		}
	}
	if none := NoContainer(p); none != "" {
		parts = append(parts, none)
		final = true
	}

	// A Pod waiting for its images while the registry is gone will wait
	// for ever: the chapter's images are untagged, so always pulled.
	if cluster.Has(RegistryDown, "") && p.Spec.NodeName != "" && p.Status.Phase == corev1.PodPending {
		final = true
	}
	// The kubelet's own words first: they name images, crashes, configs.
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			line := fmt.Sprintf("container %s: %s %s", cs.Name, w.Reason, strings.TrimSpace(w.Message))
			switch {
			case cannotClear[w.Reason]:
				final = true
			case isPull(w.Reason):
				// A pull may fail once and pass on the kubelet's next try
				// (a registry's hiccup); the same failure again after the
				// kubelet's back-off will not pass.
				if msg, n := h.pullFailures(ctx, p); n >= 2 {
					final = true
					line = fmt.Sprintf("container %s cannot pull %s: %s (%s: the same failure %d times, before and after the kubelet's back-off)",
						cs.Name, imageOf(p, cs), PullCause(msg), w.Reason, n)
				}
				if cluster.Has(RegistryDown, "") {
					final = true
				}
			}
			parts = append(parts, line)
		}
	}
	if p.Spec.NodeName == "" {
		looked, unschedulable := false, false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled {
				looked = true
				if c.Status != corev1.ConditionTrue {
					parts = append(parts, fmt.Sprintf("not scheduled: %s %s", c.Reason, c.Message))
					unschedulable = c.Reason == corev1.PodReasonUnschedulable
				}
			}
		}
		if !looked {
			parts = append(parts, "no scheduler has looked at it (it has no PodScheduled condition)")
		}
		// The scheduler answered no, and every node says the same by its
		// own spec: the scheduler looks again only when a node changes, and
		// none has since the refusal was first seen.
		if unschedulable {
			if why, stands := h.refusedEverywhere(ctx, p); why != "" {
				// The nodes' refusal is the cause; the scheduler's
				// words follow it.
				parts = append([]string{why}, parts...)
				final = final || stands
			}
		}
		if cluster.Has(NoLeader, "kube-scheduler") || cluster.Has(NodeDown, "") {
			final = true
		}
	} else if n := node; n != nil {
		if nr := NodeNotReady(n); nr != "" {
			parts = append(parts, "its "+nr)
			if cluster.Has(NodeDown, n.Name) {
				final = true
			}
		}
	}
	for _, e := range podEvents(ctx, h, p, "FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox") {
		if strings.Contains(e, `configmap "kube-root-ca.crt" not found`) {
			// The kubelet names the volume; the layer that failed is the
			// controller that should have published the configmap.
			e = fmt.Sprintf("kube-controller-manager has not published configmap kube-root-ca.crt into namespace %s (it does so for every namespace as it is made), so the Pod's service-account volume cannot mount (FailedMount)", p.Namespace)
		}
		parts = append(parts, e)
		if cluster.Has(NoLeader, "kube-controller-manager") {
			// e.g. configmap kube-root-ca.crt, which that controller
			// publishes into every namespace, will never come
			final = true
		}
	}
	if len(parts) == 0 {
		parts = append(parts, DescribePod(p))
	} else {
		parts = append(parts, fmt.Sprintf("pod %s/%s phase=%s", p.Namespace, p.Name, p.Status.Phase))
	}
	if len(cluster) > 0 {
		parts = append([]string{"cluster: " + cluster.String()}, parts...)
	}
	if lead != "" {
		parts = append([]string{lead}, parts...)
	}
	return Cause{Why: strings.Join(parts, "; "), Final: final}
}

// cannotClear are the kubelet's waiting reasons that no wait can clear: the
// Pod's own spec is what is wrong, and the kubelet will not try otherwise.
// InvalidImageName: the image reference does not parse. ErrImageNeverPull:
// imagePullPolicy Never and the node lacks the image; nothing will put it
// there. CreateContainerConfigError: the container's configuration cannot be
// made (a missing ConfigMap or Secret key, runAsNonRoot against a root
// image); nothing in a chapter creates what it lacks.
var cannotClear = map[string]bool{"InvalidImageName": true, "ErrImageNeverPull": true, "CreateContainerConfigError": true}

// imageOf is the image a container runs, as its status or its spec says.
func imageOf(p *corev1.Pod, cs corev1.ContainerStatus) string {
	if cs.Image != "" {
		return cs.Image
	}
	for _, c := range p.Spec.Containers {
		if c.Name == cs.Name {
			return c.Image
		}
	}
	return "its image"
}

func isPull(reason string) bool { return reason == "ErrImagePull" || reason == "ImagePullBackOff" }

// pullWrappers are the links of a kubelet's pull error that only say where
// it passed (CRI, containerd's resolver, the HTTP request).
var pullWrappers = regexp.MustCompile(`^Failed to pull image "[^"]*": |rpc error: code = \w+ desc = |failed to pull and unpack image "[^"]*": |failed to resolve reference "[^"]*": |failed to do request: |(Head|GET) "[^"]*": `)

// PullCause is a kubelet's pull error without its wrappers: `dial tcp
// 172.18.0.2:5999: connect: connection refused`, `docker.io/kiamol/x:latest:
// not found`.
func PullCause(msg string) string {
	for {
		out := pullWrappers.ReplaceAllString(msg, "")
		if out == msg {
			return strings.TrimSpace(out)
		}
		msg = out
	}
}

// pullFailures is the kubelet's latest pull failure for the Pod, in its own
// words, and how many times it has reported that same failure (an event
// repeated counts each time).
func (h *Health) pullFailures(ctx context.Context, p *corev1.Pod) (string, int) {
	sel := fields.Set{"involvedObject.name": p.Name, "involvedObject.kind": "Pod"}.AsSelector().String()
	list, err := h.cs.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return "", 0
	}
	times := map[string]int{}
	var latest string
	var at time.Time
	for _, e := range list.Items {
		if e.InvolvedObject.UID != "" && e.InvolvedObject.UID != p.UID || !strings.HasPrefix(e.Message, "Failed to pull image") {
			continue
		}
		times[e.Message] += max(int(e.Count), 1)
		if t := eventTime(e); latest == "" || t.After(at) {
			latest, at = e.Message, t
		}
	}
	return latest, times[latest]
}

// podEvents are the pod's latest events of the given reasons, one line
// each, newest last.
func podEvents(ctx context.Context, h *Health, p *corev1.Pod, reasons ...string) []string {
	sel := fields.Set{"involvedObject.name": p.Name, "involvedObject.kind": "Pod"}.AsSelector().String()
	list, err := h.cs.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool { return eventTime(items[i]).Before(eventTime(items[j])) })
	seen := map[string]bool{}
	var out []string
	for _, e := range items {
		if e.InvolvedObject.UID != "" && e.InvolvedObject.UID != p.UID {
			continue // an earlier pod of the same name
		}
		for _, r := range reasons {
			if e.Reason == r && !seen[e.Message] {
				seen[e.Message] = true
				out = append(out, e.Reason+": "+strings.TrimSpace(e.Message))
			}
		}
	}
	if len(out) > 2 {
		out = out[len(out)-2:]
	}
	return out
}

// Deployment explains a Deployment whose Pods are not there or not Ready:
// a Pod's own cause first (ErrImagePull says more than "minimum
// availability"), then how far the controllers got.
func (h *Health) Deployment(ctx context.Context, ns, name string) Cause {
	d, err := h.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Cause{Why: fmt.Sprintf("deployment %s/%s: %v", ns, name, err)}
	}
	state := DescribeDeployment(d)
	cluster := h.Established(ctx)
	if d.Status.ObservedGeneration < d.Generation {
		why := "no Deployment controller (kube-controller-manager runs it) has acted on it"
		if cluster.Has(NoLeader, "kube-controller-manager") {
			return Cause{Why: "cluster: " + cluster.String() + "; " + why + "; " + state, Final: true}
		}
		why += " yet"
		if len(cluster) > 0 {
			why = "cluster: " + cluster.String() + "; " + why
		}
		return Cause{Why: why + "; " + state}
	}
	// No Pods at all, or fewer than wanted: the ReplicaSet says why it
	// could not make them (admission, quota, Pod Security, a service
	// account), which the Deployment's own status does not.
	if why, final := replicaSetFailure(ctx, h, d); why != "" {
		if len(cluster) > 0 {
			why = "cluster: " + cluster.String() + "; " + why
		}
		return Cause{Why: why + "; " + state, Final: final}
	}
	if pod := notReadyPod(ctx, h, d); pod != nil {
		c := h.Pod(ctx, pod)
		c.Why += "; " + state
		return c
	}
	why := state
	if len(cluster) > 0 {
		why = "cluster: " + cluster.String() + "; " + why
	}
	return Cause{Why: why, Final: cluster.Has(NoLeader, "kube-controller-manager")}
}

// notReadyPod is one of the Deployment's Pods that is not Running and
// Ready, the oldest first.
func notReadyPod(ctx context.Context, h *Health, d *appsv1.Deployment) *corev1.Pod {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || sel.Empty() {
		return nil
	}
	pods, err := h.cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil
	}
	items := pods.Items
	sort.Slice(items, func(i, j int) bool { return items[i].CreationTimestamp.Before(&items[j].CreationTimestamp) })
	for i := range items {
		p := &items[i]
		if p.DeletionTimestamp == nil && !Ready(p) {
			return p
		}
	}
	return nil
}

// DescribeDeployment says how far the controllers got with a Deployment.
func DescribeDeployment(d *appsv1.Deployment) string {
	s := fmt.Sprintf("deployment %s/%s: generation %d, observedGeneration %d, %d/%d replicas ready",
		d.Namespace, d.Name, d.Generation, d.Status.ObservedGeneration, d.Status.ReadyReplicas, d.Status.Replicas)
	for _, c := range d.Status.Conditions {
		s += fmt.Sprintf(", %s=%s (%s)", c.Type, c.Status, c.Message)
	}
	return s
}

// replicaSetFailure is why the Deployment's newest ReplicaSet could not
// create Pods: its ReplicaFailure condition, or its latest FailedCreate
// event. final when the API server refused the Pod by policy (an admission
// webhook or policy, Pod Security, a quota): the ReplicaSet will keep
// asking, and keep being refused.
func replicaSetFailure(ctx context.Context, h *Health, d *appsv1.Deployment) (string, bool) {
	list, err := h.cs.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", false
	}
	var newest *appsv1.ReplicaSet
	for i := range list.Items {
		rs := &list.Items[i]
		if ref := metav1.GetControllerOf(rs); ref == nil || ref.UID != d.UID {
			continue
		}
		if newest == nil || newest.CreationTimestamp.Before(&rs.CreationTimestamp) {
			newest = rs
		}
	}
	if newest == nil {
		return "", false
	}
	msg := ""
	for _, c := range newest.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
			msg = c.Message
		}
	}
	sel := fields.Set{"involvedObject.name": newest.Name, "involvedObject.kind": "ReplicaSet"}.AsSelector().String()
	if events, err := h.cs.CoreV1().Events(d.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel}); err == nil {
		var at time.Time
		for _, e := range events.Items {
			if e.Reason == "FailedCreate" && (at.IsZero() || eventTime(e).After(at)) {
				msg, at = e.Message, eventTime(e)
			}
		}
	}
	if msg == "" {
		return "", false
	}
	// "Error creating: pods "<the Pod's generated name>" is" says nothing
	// the line does not: the reason after it is what matters.
	said := errorCreating.ReplaceAllString(strings.TrimSpace(msg), "")
	return fmt.Sprintf("replicaset %s cannot create Pods: %s", newest.Name, said), refusedByPolicy(msg)
}

var errorCreating = regexp.MustCompile(`^(Error creating: )?pods "[^"]*" is `)

// refusedByPolicy says the API server refused a Pod by a rule that stays:
// admission (a webhook, a ValidatingAdmissionPolicy, Pod Security) or a
// quota. A service account that is not there yet may come.
func refusedByPolicy(msg string) bool {
	m := strings.ToLower(msg)
	if strings.Contains(m, "error looking up service account") {
		return false
	}
	return strings.Contains(m, "forbidden") || strings.Contains(m, "denied") || strings.Contains(m, "admission webhook") ||
		strings.Contains(m, "violates podsecurity") || strings.Contains(m, "exceeded quota")
}

// refusalStands: how long every node must refuse a Pod, unchanged, before
// the scheduler's Unschedulable is its answer rather than a moment's (a
// node's not-ready or pressure taint comes and goes within seconds).
// refusalGap: a refusal not looked at for this long may have lifted and
// come back meanwhile, so its clock starts again.
const (
	refusalStands = 15 * time.Second
	refusalGap    = 5 * time.Second
)

// refusal is one refusal by every node, as watched: what each node said,
// when it was first seen so, and when last.
type refusal struct {
	nodes       string
	first, last time.Time
}

// refusedEverywhere says that every node refuses the Pod by its own spec:
// cordoned, or tainted NoSchedule or NoExecute with a taint the Pod does
// not tolerate (the scheduler's TaintToleration and NodeUnschedulable
// rules, read off the nodes). stands says the same refusal, of Pods that
// tolerate what this one does, has held for refusalStands: no node has
// changed in that time. A refusal by a not-ready or unreachable taint
// never stands by itself: the node's NotReady does, as NodeDown. Keyed by
// the tolerations rather than the Pod, a second Pod of the same kind is
// answered by what the first one saw. "" when some node would take the
// Pod, or the nodes cannot be listed.
func (h *Health) refusedEverywhere(ctx context.Context, p *corev1.Pod) (why string, stands bool) {
	nodes, err := h.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		return "", false
	}
	var refusals []string
	tainted, cordoned := 0, 0
	derived := false
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Spec.Unschedulable {
			refusals = append(refusals, "node "+n.Name+" is cordoned")
			cordoned++
			continue
		}
		taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, p.Spec.Tolerations, func(t *corev1.Taint) bool {
			return t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute
		}, true)
		if !untolerated {
			// A node takes it: any refusal seen before has lifted.
			h.forgetRefusal(p)
			return "", false
		}
		said := "node " + n.Name + " has taint " + taint.ToString()
		if followsReady(taint) {
			// The node's own words say why, and its NotReady is judged
			// where a node's is: a new node carries not-ready until its
			// network is up, which on a loaded machine outlasts
			// refusalStands.
			if nr := NodeNotReady(n); nr != "" {
				said += ": " + strings.TrimPrefix(nr, "node "+n.Name+" ")
			}
			derived = true
		}
		refusals = append(refusals, said)
		tainted++
	}
	sort.Strings(refusals)
	nodesSaid := strings.Join(refusals, ", ")
	h.mu.Lock()
	now := h.now()
	r, seen := h.refusals[tolerationsKey(p)]
	if !seen || r.nodes != nodesSaid || now.Sub(r.last) > refusalGap {
		r = refusal{nodes: nodesSaid, first: now}
	}
	r.last = now
	h.refusals[tolerationsKey(p)] = r
	held := now.Sub(r.first)
	h.mu.Unlock()
	lead := "every node cordoned or with an untolerated taint"
	switch {
	case cordoned == 0:
		lead = "untolerated taint on every node"
	case tainted == 0:
		lead = "every node cordoned"
	}
	why = lead + ": " + nodesSaid
	if derived {
		return why, false
	}
	if held >= refusalStands {
		why += fmt.Sprintf(" (unchanged for %s)", roundAge(held))
	}
	return why, held >= refusalStands
}

// followsReady says the node lifecycle controller put the taint there for
// the node's Ready condition, and takes it off when the node is Ready: it
// stands only as long as the node's NotReady does.
func followsReady(t corev1.Taint) bool {
	return t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable
}

// forgetRefusal drops what was seen of every node refusing Pods like p.
func (h *Health) forgetRefusal(p *corev1.Pod) {
	h.mu.Lock()
	delete(h.refusals, tolerationsKey(p))
	h.mu.Unlock()
}

// tolerationsKey names the kind of Pod a refusal is about: what it
// tolerates decides which taints refuse it.
func tolerationsKey(p *corev1.Pod) string {
	tolerations := make([]string, len(p.Spec.Tolerations))
	for i, t := range p.Spec.Tolerations {
		tolerations[i] = fmt.Sprintf("%s/%s/%s/%s", t.Key, t.Operator, t.Value, t.Effect)
	}
	sort.Strings(tolerations)
	return strings.Join(tolerations, ",")
}

// ScaledToZero says why no Pod that selector picks will come in ns: every
// Deployment whose Pods it would pick asks for zero replicas (kubectl scale
// --replicas=0), so its controller makes none however long one waits. ""
// when some Deployment asks for Pods, or none makes such Pods at all.
func ScaledToZero(ctx context.Context, cs kubernetes.Interface, ns, selector string) string {
	sel, err := labels.Parse(selector)
	if err != nil {
		return ""
	}
	list, err := cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var zero []string
	for _, d := range list.Items {
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
			return ""
		}
		zero = append(zero, fmt.Sprintf("deployment %s/%s is scaled to zero (spec.replicas 0): its controller makes no Pods", ns, d.Name))
	}
	return strings.Join(zero, "; ")
}
