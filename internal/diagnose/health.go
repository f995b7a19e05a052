package diagnose

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Health watches what the cluster itself shows of being broken: nodes that
// stopped being Ready, and control-plane controllers that stopped renewing
// their leader lease (so nothing schedules Pods or acts for Deployments).
// A claim whose object does not progress asks it for an Established
// problem: one that is certain, so the claim can stop waiting and say why,
// and that a healthy cluster never shows.
type Health struct {
	cs  kubernetes.Interface
	now func() time.Time
	// Registry checks what only the harness can see, the local registry's
	// container: it says why no image can be pulled, "" when all is well.
	Registry func(context.Context) string

	mu     sync.Mutex
	leases map[string]leaseSeen
	cached Problems
	at     time.Time
	// refusals: each kind of Pod's refusal by every node (see
	// refusedEverywhere), keyed by the Pods' tolerations.
	refusals map[string]refusal
}

// leaseSeen is a lease's renew time and when the suite first saw it:
// judging staleness by the suite's own clock, from its own observations,
// keeps a cluster whose clock differs from this machine's from looking dead.
type leaseSeen struct {
	renew     time.Time
	firstSeen time.Time
}

// Thresholds for an established problem.
const (
	// nodeNotReadyFor: a node NotReady this long is not starting up.
	nodeNotReadyFor = time.Minute
	// leaseStaleFor: a leader lease unrenewed this long means no leader:
	// kube-controller-manager or kube-scheduler is gone or restarting again
	// and again. The leaders renew every 2 s and give up after 10; a lease
	// unrenewed past its own duration (15 s for both) is free for any
	// candidate to take, so a restarted leader holds it again within about
	// that. Twice the lease's duration, and never less than this.
	leaseStaleFor = 30 * time.Second
	// leaseAncient: a lease already this old at first sight is stale
	// without waiting, whatever the clocks' skew.
	leaseAncient = 5 * time.Minute
	// cacheFor: how long one look serves every caller in this process.
	cacheFor = 3 * time.Second
)

// Controllers whose leader leases the health check reads (kube-system).
var Controllers = []string{"kube-controller-manager", "kube-scheduler"}

// NewHealth watches cs.
func NewHealth(cs kubernetes.Interface) *Health {
	return &Health{cs: cs, now: time.Now, leases: map[string]leaseSeen{}, refusals: map[string]refusal{}}
}

// ProblemKind is which layer of the cluster a Problem is in.
type ProblemKind int

const (
	// NodeDown: a node stopped reporting, or has been NotReady a while.
	NodeDown ProblemKind = iota + 1
	// NoLeader: a control-plane controller holds no leader lease.
	NoLeader
	// RegistryDown: the suite's local registry is not running.
	RegistryDown
)

// Problem is one thing certainly wrong with the cluster: its kind, the
// node or controller it is about, and the line that says it.
type Problem struct {
	Kind ProblemKind
	Name string
	Text string
}

// Problems is what is certainly wrong with the cluster, sorted by text;
// empty when nothing is. Decisions read its fields; String is for people.
type Problems []Problem

// String is every problem's line, joined: "" when there are none.
func (ps Problems) String() string {
	texts := make([]string, len(ps))
	for i, p := range ps {
		texts[i] = p.Text
	}
	return strings.Join(texts, "; ")
}

// Has says whether a problem of that kind is about name ("" for any).
func (ps Problems) Has(kind ProblemKind, name string) bool {
	for _, p := range ps {
		if p.Kind == kind && (name == "" || p.Name == name) {
			return true
		}
	}
	return false
}

// Established is what is certainly wrong with the cluster right now (none
// when nothing is): every NotReady node with its own condition message,
// every controller without a leader, the local registry gone.
func (h *Health) Established(ctx context.Context) Problems {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if !h.at.IsZero() && now.Sub(h.at) < cacheFor {
		return h.cached
	}
	var problems Problems
	if nodes, err := h.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil {
		for i := range nodes.Items {
			if p := nodeProblem(&nodes.Items[i], now); p != "" {
				problems = append(problems, Problem{Kind: NodeDown, Name: nodes.Items[i].Name, Text: p})
			}
		}
	}
	clusterNow := h.clusterNow(ctx)
	for _, name := range Controllers {
		if p := h.leaseProblem(ctx, name, now, clusterNow); p != "" {
			problems = append(problems, Problem{Kind: NoLeader, Name: name, Text: p})
		}
	}
	if h.Registry != nil {
		if p := h.Registry(ctx); p != "" {
			problems = append(problems, Problem{Kind: RegistryDown, Text: p})
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problems[i].Text < problems[j].Text })
	h.cached, h.at = problems, now
	return problems
}

// nodeProblem says a node is certainly not Ready: its kubelet stopped
// reporting, or it has been NotReady for a while.
func nodeProblem(n *corev1.Node, now time.Time) string {
	for _, c := range n.Status.Conditions {
		if c.Type != corev1.NodeReady || c.Status == corev1.ConditionTrue {
			continue
		}
		if c.Reason == "NodeStatusUnknown" || now.Sub(c.LastTransitionTime.Time) >= nodeNotReadyFor {
			return NodeNotReady(n)
		}
	}
	return ""
}

// NodeNotReady describes a node that is not Ready in its own words, or ""
// when it is Ready.
func NodeNotReady(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
			s := fmt.Sprintf("node %s NotReady (Ready=%s", n.Name, c.Status)
			if c.Reason != "" {
				s += ", " + c.Reason
			}
			if c.Message != "" {
				s += ": " + c.Message
			}
			return s + ")"
		}
	}
	return ""
}

// leaseProblem says a controller has had no leader for leaseStaleFor. A
// cluster whose controllers hold no lease in kube-system (some managed
// control planes) shows no problem.
func (h *Health) leaseProblem(ctx context.Context, name string, now, clusterNow time.Time) string {
	l, err := h.cs.CoordinationV1().Leases("kube-system").Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || err != nil {
		return ""
	}
	renew := renewTime(l)
	if renew.IsZero() {
		return ""
	}
	seen, ok := h.leases[name]
	if !ok || !seen.renew.Equal(renew) {
		seen = leaseSeen{renew: renew, firstSeen: now}
		h.leases[name] = seen
	}
	age, watched := now.Sub(renew), now.Sub(seen.firstSeen)
	if !clusterNow.IsZero() {
		// By the cluster's own clock: no skew with this machine's.
		age = clusterNow.Sub(renew)
	}
	stale := leaseStaleFor
	if d := l.Spec.LeaseDurationSeconds; d != nil && 2*time.Duration(*d)*time.Second > stale {
		stale = 2 * time.Duration(*d) * time.Second
	}
	if watched >= stale || (!clusterNow.IsZero() && age >= stale) || now.Sub(renew) >= leaseAncient {
		return fmt.Sprintf("%s is not running: its leader lease kube-system/%s was last renewed %s ago", name, name, roundAge(max(age, watched)))
	}
	return ""
}

// clusterNow is the cluster's own idea of the time, to within the API
// servers' renew period (10 s): the newest renewal of their identity
// leases. Zero when the cluster has none.
func (h *Health) clusterNow(ctx context.Context) time.Time {
	list, err := h.cs.CoordinationV1().Leases("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "apiserver.kubernetes.io/identity=kube-apiserver"})
	if err != nil {
		return time.Time{}
	}
	var newest time.Time
	for i := range list.Items {
		if r := renewTime(&list.Items[i]); r.After(newest) {
			newest = r
		}
	}
	return newest
}

func renewTime(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime != nil {
		return l.Spec.RenewTime.Time
	}
	if l.Spec.AcquireTime != nil {
		return l.Spec.AcquireTime.Time
	}
	return time.Time{}
}

func roundAge(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
