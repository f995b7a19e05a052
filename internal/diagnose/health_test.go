package diagnose

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

var t0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func node(name string, status corev1.ConditionStatus, reason, message string, since time.Time) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: status, Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(since),
	}}}}
}

func lease(name string, renewed time.Time) *coordinationv1.Lease {
	r := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "kube-system"}, Spec: coordinationv1.LeaseSpec{RenewTime: &r}}
}

// clock is a health check's clock the test moves.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newTestHealth(objs ...runtime.Object) (*Health, *clock, *fake.Clientset) {
	cs := fake.NewClientset(objs...)
	c := &clock{now: t0}
	h := NewHealth(cs)
	h.now = c.Now
	return h, c, cs
}

func TestEstablishedOnAHealthyCluster(t *testing.T) {
	h, c, _ := newTestHealth(
		node("n1", corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status", t0.Add(-time.Hour)),
		lease("kube-controller-manager", t0.Add(-time.Second)), lease("kube-scheduler", t0.Add(-2*time.Second)),
	)
	if p := h.Established(context.Background()).String(); p != "" {
		t.Fatalf("healthy cluster: %q", p)
	}
	// A lease that keeps being renewed is never stale, however long we watch.
	for i := 0; i < 10; i++ {
		c.now = c.now.Add(time.Minute)
		_ = h.cs.CoordinationV1().Leases("kube-system").Delete(context.Background(), "kube-scheduler", metav1.DeleteOptions{})
		_, _ = h.cs.CoordinationV1().Leases("kube-system").Create(context.Background(), lease("kube-scheduler", c.now.Add(-time.Second)), metav1.CreateOptions{})
		_ = h.cs.CoordinationV1().Leases("kube-system").Delete(context.Background(), "kube-controller-manager", metav1.DeleteOptions{})
		_, _ = h.cs.CoordinationV1().Leases("kube-system").Create(context.Background(), lease("kube-controller-manager", c.now.Add(-time.Second)), metav1.CreateOptions{})
		if p := h.Established(context.Background()).String(); p != "" {
			t.Fatalf("renewed leases, minute %d: %q", i, p)
		}
	}
}

func TestEstablishedNodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		node *corev1.Node
		want string
	}{
		{"kubelet stopped posting", node("n1", corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status.", t0.Add(-10*time.Second)),
			"node n1 NotReady (Ready=Unknown, NodeStatusUnknown: Kubelet stopped posting node status.)"},
		{"NotReady for long", node("n1", corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready", t0.Add(-2*time.Minute)),
			"node n1 NotReady (Ready=False, KubeletNotReady: container runtime network not ready)"},
		{"just started, not Ready yet", node("n1", corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready", t0.Add(-5*time.Second)), ""},
	} {
		h, _, _ := newTestHealth(tc.node)
		if got := h.Established(context.Background()).String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEstablishedControllers(t *testing.T) {
	// Already ancient at first sight: stale at once.
	h, _, _ := newTestHealth(lease("kube-controller-manager", t0.Add(-10*time.Minute)), lease("kube-scheduler", t0))
	if p := h.Established(context.Background()); !p.Has(NoLeader, "kube-controller-manager") || p.Has(NoLeader, "kube-scheduler") {
		t.Errorf("ancient lease: %q", p)
	}
	// Recent but never renewed while watched: stale after leaseStaleFor,
	// whatever this machine's clock says of its age.
	h, c, _ := newTestHealth(lease("kube-scheduler", t0.Add(time.Hour))) // the cluster's clock is an hour ahead
	if p := h.Established(context.Background()).String(); p != "" {
		t.Fatalf("first sight: %q", p)
	}
	c.now = c.now.Add(leaseStaleFor - time.Second)
	if p := h.Established(context.Background()).String(); p != "" {
		t.Fatalf("before the threshold: %q", p)
	}
	c.now = c.now.Add(cacheFor + time.Second) // past the threshold, and past the cache
	if p := h.Established(context.Background()); !p.Has(NoLeader, "kube-scheduler") {
		t.Errorf("unrenewed for %s: %q", leaseStaleFor, p)
	}
	// No lease at all (a managed control plane): nothing to say.
	h, _, _ = newTestHealth()
	if p := h.Established(context.Background()).String(); p != "" {
		t.Errorf("no leases: %q", p)
	}
}

func pod(ns, name, nodeName string, waiting *corev1.ContainerStateWaiting) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: "uid-" + "1", Labels: map[string]string{"app": "a"}, CreationTimestamp: metav1.NewTime(t0)},
		Spec:   corev1.PodSpec{NodeName: nodeName, Containers: []corev1.Container{{Name: "web", Image: "kiamol/x"}}},
		Status: corev1.PodStatus{Phase: corev1.PodPending}}
	if waiting != nil {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", Image: "kiamol/x", State: corev1.ContainerState{Waiting: waiting}}}
	}
	return p
}

func TestPodCause(t *testing.T) {
	ctx := context.Background()
	healthy := node("n1", corev1.ConditionTrue, "", "", t0.Add(-time.Hour))

	// A pull that failed once may pass on the kubelet's next try: wait.
	h, _, _ := newTestHealth(healthy)
	notFound := pod("ns", "p", "n1", &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: `failed to pull "docker.io/kiamol/x:latest": not found`})
	pulled := func(count int32) *corev1.Event {
		return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p.pull"}, Reason: "Failed", Type: "Warning", Count: count,
			Message:        `Failed to pull image "kiamol/x": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/kiamol/x:latest": failed to resolve reference "docker.io/kiamol/x:latest": docker.io/kiamol/x:latest: not found`,
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "ns", UID: notFound.UID}, LastTimestamp: metav1.NewTime(t0)}
	}
	h, _, _ = newTestHealth(healthy, pulled(1))
	if c := h.Pod(ctx, notFound); c.Final || !strings.HasPrefix(c.Why, "container web: ErrImagePull") {
		t.Errorf("one pull failure is not final: %+v", c)
	}
	// The same failure again after the back-off: final, in the kubelet's
	// words.
	h, _, _ = newTestHealth(healthy, pulled(2))
	c := h.Pod(ctx, notFound)
	if want := "container web cannot pull kiamol/x: docker.io/kiamol/x:latest: not found (ErrImagePull: the same failure 2 times, before and after the kubelet's back-off)"; !c.Final || !strings.HasPrefix(c.Why, want) {
		t.Errorf("a repeated pull failure: %+v", c)
	}
	// What the Pod's own spec gets wrong cannot clear: final at once.
	for _, reason := range []string{"InvalidImageName", "CreateContainerConfigError", "ErrImageNeverPull"} {
		if c := h.Pod(ctx, pod("ns", "p", "n1", &corev1.ContainerStateWaiting{Reason: reason, Message: "x"})); !c.Final {
			t.Errorf("%s is final: %+v", reason, c)
		}
	}

	// The Pod's node stopped reporting: final, with the node's own message.
	h, _, _ = newTestHealth(node("n1", corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status.", t0.Add(-time.Minute)))
	c = h.Pod(ctx, pod("ns", "p", "n1", &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}))
	if !c.Final || !strings.Contains(c.Why, "Kubelet stopped posting node status.") || !strings.HasPrefix(c.Why, "cluster: node n1 NotReady") {
		t.Errorf("node gone: %+v", c)
	}

	// Unschedulable while every node is NotReady: final, and says both.
	unsched := pod("ns", "p", "", nil)
	unsched.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }"}}
	c = h.Pod(ctx, unsched)
	if !c.Final || !strings.Contains(c.Why, "not scheduled: Unschedulable") || !strings.Contains(c.Why, "node n1 NotReady") {
		t.Errorf("unschedulable: %+v", c)
	}

	// A volume the kubelet cannot mount because kube-controller-manager,
	// which publishes kube-root-ca.crt, is gone: final, naming both.
	p := pod("ns", "p", "n1", &corev1.ContainerStateWaiting{Reason: "ContainerCreating"})
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p.1"}, Reason: "FailedMount", Type: "Warning",
		Message:        `MountVolume.SetUp failed for volume "kube-api-access-abcde" : configmap "kube-root-ca.crt" not found`,
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: "ns", UID: p.UID}, LastTimestamp: metav1.NewTime(t0)}
	h, _, _ = newTestHealth(healthy, lease("kube-controller-manager", t0.Add(-10*time.Minute)), ev)
	c = h.Pod(ctx, p)
	if !c.Final || !strings.Contains(c.Why, "kube-controller-manager has not published configmap kube-root-ca.crt into namespace ns") || !strings.Contains(c.Why, "kube-controller-manager is not running") {
		t.Errorf("mount: %+v", c)
	}
	// The same event on a healthy cluster (the configmap comes a moment
	// after the namespace) is not final, and names the controller first.
	h, _, _ = newTestHealth(healthy, lease("kube-controller-manager", t0), ev)
	if c = h.Pod(ctx, p); c.Final || !strings.HasPrefix(c.Why, "kube-controller-manager has not published configmap kube-root-ca.crt") {
		t.Errorf("mount on a healthy cluster: %+v", c)
	}
}

func TestDeploymentCause(t *testing.T) {
	ctx := context.Background()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d", Generation: 1},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}}}
	healthy := node("n1", corev1.ConditionTrue, "", "", t0.Add(-time.Hour))

	// Nothing acted on it and kube-controller-manager has no leader: final.
	h, _, _ := newTestHealth(healthy, d, lease("kube-controller-manager", t0.Add(-10*time.Minute)))
	c := h.Deployment(ctx, "ns", "d")
	if !c.Final || !strings.Contains(c.Why, "no Deployment controller (kube-controller-manager runs it) has acted on it") || !strings.Contains(c.Why, "kube-controller-manager is not running") {
		t.Errorf("no controller: %+v", c)
	}
	// Not acted on yet, controller alive: wait.
	h, _, _ = newTestHealth(healthy, d, lease("kube-controller-manager", t0))
	if c = h.Deployment(ctx, "ns", "d"); c.Final {
		t.Errorf("controller alive: %+v", c)
	}

	// Its Pod cannot pull: the Pod's reason comes before the controller's
	// "minimum availability", which says less.
	acted := d.DeepCopy()
	acted.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, Conditions: []appsv1.DeploymentCondition{
		{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse, Message: "Deployment does not have minimum availability."},
		{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Message: `ReplicaSet "d-5f6" is progressing.`},
	}}
	h, _, _ = newTestHealth(healthy, acted, pod("ns", "d-5f6-abcde", "n1", &corev1.ContainerStateWaiting{Reason: "InvalidImageName", Message: "couldn't parse image name"}))
	c = h.Deployment(ctx, "ns", "d")
	if !c.Final || !strings.HasPrefix(c.Why, "container web: InvalidImageName") || !strings.Contains(c.Why, "minimum availability") {
		t.Errorf("pull: %+v", c)
	}
	if i, j := strings.Index(c.Why, "InvalidImageName"), strings.Index(c.Why, "Available=False"); i > j {
		t.Errorf("the controller state comes first: %q", c.Why)
	}
}

// Judged by the cluster's own clock (its API servers' identity leases), a
// controller's lease is stale as soon as it is leaseStaleFor behind, even
// when this machine's clock is far off.
func TestEstablishedByTheClustersClock(t *testing.T) {
	skew := 3 * time.Hour
	api := lease("apiserver-abc", t0.Add(skew))
	api.Labels = map[string]string{"apiserver.kubernetes.io/identity": "kube-apiserver"}
	h, _, _ := newTestHealth(api, lease("kube-controller-manager", t0.Add(skew-2*time.Minute)), lease("kube-scheduler", t0.Add(skew-time.Second)))
	p := h.Established(context.Background())
	if !p.Has(NoLeader, "kube-controller-manager") || p.Has(NoLeader, "kube-scheduler") {
		t.Errorf("%q", p)
	}
}

// A Deployment whose ReplicaSet the API server refuses Pods (an admission
// policy here): the policy's words lead, and no wait will change them.
func TestDeploymentRefusedPodsByAdmission(t *testing.T) {
	ctx := context.Background()
	healthy := node("n1", corev1.ConditionTrue, "", "", t0.Add(-time.Hour))
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d", UID: "d-uid", Generation: 1},
		Spec:   appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Message: `Created new replica set "d-5f6"`}}}}
	yes := true
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d-5f6", CreationTimestamp: metav1.NewTime(t0),
		OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "d", UID: "d-uid", Controller: &yes}}}}
	refused := `Error creating: pods "d-5f6-x" is forbidden: ValidatingAdmissionPolicy 'no-kiamol' with binding 'no-kiamol' denied request: the chapter's images are not allowed here`
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d-5f6.1"}, Reason: "FailedCreate", Type: "Warning", Message: refused,
		InvolvedObject: corev1.ObjectReference{Kind: "ReplicaSet", Name: "d-5f6", Namespace: "ns"}, LastTimestamp: metav1.NewTime(t0)}
	h, _, _ := newTestHealth(healthy, d, rs, ev)
	c := h.Deployment(ctx, "ns", "d")
	if !c.Final || !strings.HasPrefix(c.Why, "replicaset d-5f6 cannot create Pods: forbidden: ValidatingAdmissionPolicy 'no-kiamol'") {
		t.Errorf("refused: %+v", c)
	}
	// A service account that is not there yet may come: wait.
	ev.Message = `Error creating: pods "d-5f6-x" is forbidden: error looking up service account ns/default: serviceaccount "default" not found`
	h, _, _ = newTestHealth(healthy, d, rs, ev)
	if c := h.Deployment(ctx, "ns", "d"); c.Final || !strings.Contains(c.Why, "error looking up service account") {
		t.Errorf("service account: %+v", c)
	}
}

func TestPullCauseDropsTheWrappers(t *testing.T) {
	msg := `Failed to pull image "kiamol/ch02-hello-kiamol": failed to pull and unpack image "docker.io/kiamol/ch02-hello-kiamol:latest": failed to resolve reference "docker.io/kiamol/ch02-hello-kiamol:latest": failed to do request: Head "http://kiamol-e2e-registry:5999/v2/kiamol/ch02-hello-kiamol/manifests/latest?ns=docker.io": dial tcp 172.18.0.2:5999: connect: connection refused`
	if got := PullCause(msg); got != "dial tcp 172.18.0.2:5999: connect: connection refused" {
		t.Errorf("%q", got)
	}
}

// kwokRunning is a Pod as kwok's pod-ready stage leaves it: Running and
// Ready, its container "running" with no containerID and no imageID.
func kwokRunning(ns, name, nodeName string) *corev1.Pod {
	p := pod(ns, name, nodeName, nil)
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Image: "kiamol/x", Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(t0)}}}}}
	return p
}

// kwokNode is a node as kwokctl makes it: Ready, and fake.
func kwokNode(name string) *corev1.Node {
	n := node(name, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status", t0.Add(-time.Hour))
	n.Annotations = map[string]string{"kwok.x-k8s.io/node": "fake"}
	n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "kwok-0.8.0", ContainerRuntimeVersion: "kwok-0.8.0", KernelVersion: "kwok-0.8.0"}
	return n
}

// A Pod is Ready only with a container a runtime made behind it: what a
// kubelet reports. Marked Ready with none, it is not, and the wait ends at
// once saying so, led by its node's being a fake when it is one.
func TestAPodReadyWithNoContainerIsNot(t *testing.T) {
	ctx := context.Background()
	fakePod := kwokRunning("ns", "p", "node-000000")
	if Ready(fakePod) {
		t.Errorf("Ready with no containerID: %s", DescribePod(fakePod))
	}
	real := fakePod.DeepCopy()
	real.Status.ContainerStatuses[0].ContainerID = "containerd://3c1b2a4d5e6f"
	if !Ready(real) || NoContainer(real) != "" {
		t.Errorf("a kubelet's Ready Pod: %s", DescribePod(real))
	}

	h, _, _ := newTestHealth(kwokNode("node-000000"))
	c := h.Pod(ctx, fakePod)
	want := "node node-000000 is not a real node: kwok fake node (nothing runs on it); pod ns/p is Running and Ready with no container behind container web (no containerID): no kubelet reports that"
	if !c.Final || !strings.HasPrefix(c.Why, want) {
		t.Errorf("on kwok's node:\n got %+v\nwant %q first, final", c, want)
	}
	// Still Pending on a fake node: final too, since nothing will run it.
	if c := h.Pod(ctx, pod("ns", "p", "node-000000", nil)); !c.Final || !strings.HasPrefix(c.Why, "node node-000000 is not a real node") {
		t.Errorf("pending on kwok's node: %+v", c)
	}
	// On a node that does not say it is a fake, the status alone is the
	// cause, and it is final.
	h, _, _ = newTestHealth(node("n1", corev1.ConditionTrue, "", "", t0.Add(-time.Hour)))
	if c := h.Pod(ctx, kwokRunning("ns", "p", "n1")); !c.Final || !strings.HasPrefix(c.Why, "pod ns/p is Running and Ready with no container behind container web") {
		t.Errorf("no container on an ordinary node: %+v", c)
	}

	// A Deployment's Pods on a fake node: the same cause, final.
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "d", Generation: 1},
		Spec:   appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "a"}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1}}
	h, _, _ = newTestHealth(kwokNode("node-000000"), d, kwokRunning("ns", "d-5f6-abcde", "node-000000"))
	if c := h.Deployment(ctx, "ns", "d"); !c.Final || !strings.HasPrefix(c.Why, "node node-000000 is not a real node: kwok fake node (nothing runs on it)") {
		t.Errorf("deployment on kwok: %+v", c)
	}
}

// Every node tainted so that nothing fits: the scheduler's Unschedulable
// is an answer once the same refusal has stood unchanged; before that, and
// when one node would take the Pod, it is not.
func TestUnschedulableStands(t *testing.T) {
	ctx := context.Background()
	tainted := node("n1", corev1.ConditionTrue, "", "", t0.Add(-time.Hour))
	tainted.Spec.Taints = []corev1.Taint{{Key: "kiamol-e2e/faults", Value: "on-purpose", Effect: corev1.TaintEffectNoSchedule}}
	cordoned := node("n2", corev1.ConditionTrue, "", "", t0.Add(-time.Hour))
	cordoned.Spec.Unschedulable = true
	p := pod("ns", "p", "", nil)
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
		Message: "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable."}}

	h, c, _ := newTestHealth(tainted, cordoned, lease("kube-scheduler", t0))
	first := h.Pod(ctx, p)
	if first.Final || !strings.HasPrefix(first.Why, "every node cordoned or with an untolerated taint: node n1 has taint kiamol-e2e/faults=on-purpose:NoSchedule, node n2 is cordoned; not scheduled: Unschedulable 0/2 nodes are available") {
		t.Fatalf("first sight: %+v", first)
	}
	// Looked at every second, as a waiting claim does.
	for i := 0; i < int(refusalStands/time.Second)-1; i++ {
		c.now = c.now.Add(time.Second)
		if got := h.Pod(ctx, p); got.Final {
			t.Fatalf("after %ds: %+v", i+1, got)
		}
	}
	c.now = c.now.Add(time.Second)
	if got := h.Pod(ctx, p); !got.Final || !strings.Contains(got.Why, "(unchanged for 15s)") {
		t.Errorf("after %s unchanged: %+v", refusalStands, got)
	}
	// Another Pod that tolerates the same: the nodes already answered.
	second := p.DeepCopy()
	second.Name, second.UID = "q", "uid-2"
	if got := h.Pod(ctx, second); !got.Final {
		t.Errorf("a second Pod of the same kind: %+v", got)
	}

	// A Pod that tolerates the taint fits n1: the refusal is the
	// scheduler's moment, not the nodes' answer.
	tolerant := p.DeepCopy()
	tolerant.Spec.Tolerations = []corev1.Toleration{{Key: "kiamol-e2e/faults", Operator: corev1.TolerationOpExists}}
	h, c, _ = newTestHealth(tainted, cordoned, lease("kube-scheduler", t0))
	h.Pod(ctx, tolerant)
	c.now = c.now.Add(refusalStands + time.Second)
	if got := h.Pod(ctx, tolerant); got.Final || strings.Contains(got.Why, "every node") {
		t.Errorf("a node takes it: %+v", got)
	}
	// The taint changed (another key): a new refusal, seen anew.
	h, c, cs := newTestHealth(tainted, cordoned, lease("kube-scheduler", t0))
	h.Pod(ctx, p)
	for i := 0; i < int(refusalStands/time.Second)-1; i++ {
		c.now = c.now.Add(time.Second)
		h.Pod(ctx, p)
	}
	tainted2 := tainted.DeepCopy()
	tainted2.Spec.Taints[0].Key = "other"
	if _, err := cs.CoreV1().Nodes().Update(ctx, tainted2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(time.Second)
	if got := h.Pod(ctx, p); got.Final {
		t.Errorf("a node changed within %s: %+v", refusalStands, got)
	}
}

// A new node is tainted not-ready until its network is up, which on a
// loaded machine outlasts refusalStands: the taint is the node's Ready
// condition, so the Pod's wait ends when the node's NotReady is
// established, and the cause says the node's own words.
func TestANotReadyTaintStandsAsTheNodesNotReady(t *testing.T) {
	ctx := context.Background()
	starting := node("n1", corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready: cni config uninitialized", t0.Add(-5*time.Second))
	starting.Spec.Taints = []corev1.Taint{{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}}
	p := pod("ns", "p", "", nil)
	p.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute}}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
		Message: "0/1 nodes are available: 1 node(s) had taint {node.kubernetes.io/not-ready: }, that the pod didn't tolerate."}}
	h, c, _ := newTestHealth(starting)
	want := "untolerated taint on every node: node n1 has taint node.kubernetes.io/not-ready:NoSchedule: NotReady (Ready=False, KubeletNotReady: container runtime network not ready: cni config uninitialized)"
	// Looked at every second, as a waiting claim does.
	for c.now.Sub(t0.Add(-5*time.Second)) < nodeNotReadyFor {
		got := h.Pod(ctx, p)
		if got.Final || !strings.HasPrefix(got.Why, want) {
			t.Fatalf("node NotReady for %s: %+v", c.now.Sub(t0.Add(-5*time.Second)), got)
		}
		c.now = c.now.Add(time.Second)
	}
	c.now = c.now.Add(cacheFor)
	if got := h.Pod(ctx, p); !got.Final || !strings.HasPrefix(got.Why, "cluster: node n1 NotReady (Ready=False, KubeletNotReady: container runtime network not ready") {
		t.Errorf("node NotReady for %s: %+v", c.now.Sub(t0.Add(-5*time.Second)), got)
	}
}

// A refusal that lifted, or that nobody looked at for a while, may be a
// new one when it is seen again: its clock starts over.
func TestARefusalThatLiftedStartsOver(t *testing.T) {
	ctx := context.Background()
	tainted := node("n1", corev1.ConditionTrue, "", "", t0.Add(-time.Hour))
	tainted.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}}
	p := pod("ns", "p", "", nil)
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available"}}
	update := func(cs *fake.Clientset, n *corev1.Node) {
		if _, err := cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Refused, then the taint goes (a node takes the Pod), then it is back:
	// 20 s after the first sighting, but only just seen again.
	h, c, cs := newTestHealth(tainted, lease("kube-scheduler", t0))
	h.Pod(ctx, p)
	c.now = c.now.Add(2 * time.Second)
	clean := tainted.DeepCopy()
	clean.Spec.Taints = nil
	update(cs, clean)
	h.Pod(ctx, p)
	c.now = c.now.Add(2 * time.Second)
	update(cs, tainted)
	h.Pod(ctx, p)
	c.now = c.now.Add(refusalStands - 2*time.Second)
	if got := h.Pod(ctx, p); got.Final {
		t.Errorf("a taint back for %s after it had lifted: %+v", refusalStands-2*time.Second, got)
	}

	// Seen once, then not looked at for longer than refusalGap.
	h, c, _ = newTestHealth(tainted, lease("kube-scheduler", t0))
	h.Pod(ctx, p)
	c.now = c.now.Add(refusalStands + refusalGap)
	if got := h.Pod(ctx, p); got.Final {
		t.Errorf("seen again after a gap of %s: %+v", refusalStands+refusalGap, got)
	}
}

// A Pod no scheduler has looked at, while kube-scheduler's lease has gone
// unrenewed for twice its duration: final, naming both; while the lease is
// renewed, a wait.
func TestNoSchedulerLooks(t *testing.T) {
	ctx := context.Background()
	healthy := node("n1", corev1.ConditionTrue, "", "", t0.Add(-time.Hour))
	fifteen := int32(15)
	sched := lease("kube-scheduler", t0)
	sched.Spec.LeaseDurationSeconds = &fifteen
	p := pod("ns", "p", "", nil)

	h, c, _ := newTestHealth(healthy, sched)
	if got := h.Pod(ctx, p); got.Final || !strings.Contains(got.Why, "no scheduler has looked at it") {
		t.Fatalf("lease fresh: %+v", got)
	}
	c.now = c.now.Add(2*15*time.Second - time.Second)
	if got := h.Pod(ctx, p); got.Final {
		t.Errorf("before twice the lease's duration: %+v", got)
	}
	c.now = c.now.Add(cacheFor + time.Second)
	got := h.Pod(ctx, p)
	if !got.Final || !strings.HasPrefix(got.Why, "cluster: kube-scheduler is not running") || !strings.Contains(got.Why, "no scheduler has looked at it") {
		t.Errorf("lease unrenewed for twice its duration: %+v", got)
	}
}

// CoreDNS scaled to zero: its Pods will never come, said at once; scaled
// to two, or with no Deployment making such Pods, nothing to say.
func TestScaledToZero(t *testing.T) {
	ctx := context.Background()
	dns := func(replicas int32) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "kube-dns"}}}}}
	}
	if got := ScaledToZero(ctx, fake.NewClientset(dns(0)), "kube-system", "k8s-app=kube-dns"); got != "deployment kube-system/coredns is scaled to zero (spec.replicas 0): its controller makes no Pods" {
		t.Errorf("zero: %q", got)
	}
	if got := ScaledToZero(ctx, fake.NewClientset(dns(2)), "kube-system", "k8s-app=kube-dns"); got != "" {
		t.Errorf("two: %q", got)
	}
	if got := ScaledToZero(ctx, fake.NewClientset(dns(0)), "kube-system", "component=kube-scheduler"); got != "" {
		t.Errorf("another selector: %q", got)
	}
}
