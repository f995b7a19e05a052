package sweep

import (
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// deadProcess is the process ID of a process that has exited and been reaped.
func deadProcess(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("sleep", "0.01")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := processID(cmd.Process.Pid)
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if id == "" {
		t.Skip("this system's /proc does not tell process start times")
	}
	return id
}

func nsOf(name, run string, annotations map[string]string) corev1.Namespace {
	return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{RunLabel: run, SpecLabel: "true"},
		Annotations: annotations,
	}}
}

func TestAbandoned(t *testing.T) {
	self := Self("now")
	if self.Process == "" {
		t.Skip("this system's /proc does not tell process start times")
	}
	now := time.Now()
	fresh, stale := now.Add(-time.Minute).Format(time.RFC3339), now.Add(-HeartbeatStale-time.Minute).Format(time.RFC3339)
	parent := processID(os.Getppid())
	parts := strings.Split(parent, "/")
	reused := strings.Join([]string{parts[0], parts[1], parts[2], "1"}, "/") // the parent's PID, another start time
	elsewhere := "another-boot-id/pid:[1]/" + strconv.Itoa(os.Getppid()) + "/" + parts[3]
	dead := deadProcess(t)
	noLease := func() (time.Time, bool) { return time.Time{}, true }
	renewedAt := func(at time.Time) func() (time.Time, bool) { return func() (time.Time, bool) { return at, true } }
	unreadable := func() (time.Time, bool) { return time.Time{}, false }
	for _, tc := range []struct {
		name  string
		ns    corev1.Namespace
		lease func() (time.Time, bool)
		want  bool
	}{
		{"an ended run in this process space, heartbeat still fresh", nsOf("a", "then", map[string]string{ProcessAnnotation: dead, HeartbeatAnnotation: fresh}), noLease, true},
		{"a live run in this process space, heartbeat stale", nsOf("b", "then", map[string]string{ProcessAnnotation: parent, HeartbeatAnnotation: stale}), noLease, false},
		{"its PID now belongs to another process", nsOf("c", "then", map[string]string{ProcessAnnotation: reused, HeartbeatAnnotation: fresh}), noLease, true},
		{"this very run", nsOf("d", "now", map[string]string{ProcessAnnotation: dead}), noLease, false},
		{"a run elsewhere (same PID, other boot) with a fresh heartbeat", nsOf("e", "then", map[string]string{ProcessAnnotation: elsewhere, HeartbeatAnnotation: fresh}), noLease, false},
		{"a run elsewhere whose heartbeat stopped", nsOf("f", "then", map[string]string{ProcessAnnotation: elsewhere, HeartbeatAnnotation: stale}), noLease, true},
		{"an owner that says nothing", nsOf("g", "old", nil), noLease, false},
		{"a run elsewhere, made long ago, its Lease renewed a minute ago", nsOf("h", "then", map[string]string{ProcessAnnotation: elsewhere, HeartbeatAnnotation: stale}), renewedAt(now.Add(-time.Minute)), false},
		{"a run elsewhere whose Lease stopped being renewed", nsOf("i", "then", map[string]string{ProcessAnnotation: elsewhere, HeartbeatAnnotation: stale}), renewedAt(now.Add(-HeartbeatStale - time.Second)), true},
		{"a run elsewhere whose Lease cannot be read", nsOf("j", "then", map[string]string{ProcessAnnotation: elsewhere, HeartbeatAnnotation: stale}), unreadable, false},
		{"a Lease renewed, no first heartbeat", nsOf("k", "then", map[string]string{ProcessAnnotation: elsewhere}), renewedAt(now.Add(-time.Minute)), false},
	} {
		if got := abandoned(tc.ns, self, now, tc.lease); got != tc.want {
			t.Errorf("%s: abandoned = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A run on another machine is judged by its heartbeat Lease, renewed in
// its namespace, not by the namespace's first heartbeat alone; Renew is
// what keeps it fresh.
func TestTheHeartbeatLeaseKeepsAnotherMachinesRunLive(t *testing.T) {
	self := Self("now")
	old := time.Now().Add(-HeartbeatStale - time.Minute)
	elsewhere := Owner{RunID: "then", Host: "elsewhere", PID: 1, Process: "another-boot-id/pid:[1]/1/1"}
	var objs []runtime.Object
	for _, name := range []string{"renewed", "stopped"} {
		ns := nsOf(name, "then", elsewhere.Annotations(old))
		ns.Annotations[ProcessAnnotation] = elsewhere.Process
		lease := elsewhere.Lease(old)
		lease.Namespace = name
		objs = append(objs, &ns, lease)
	}
	cs := fake.NewClientset(objs...)
	ctx := context.Background()
	Renew(ctx, cs, []string{"renewed"}, time.Now())
	swept, err := Namespaces(ctx, cs, self, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(swept, []string{"stopped"}) {
		t.Errorf("swept %v, want only the namespace whose Lease was not renewed", swept)
	}
	l, err := cs.CoordinationV1().Leases("renewed").Get(ctx, HeartbeatLease, metav1.GetOptions{})
	if err != nil || l.Spec.RenewTime == nil || time.Since(l.Spec.RenewTime.Time) > time.Minute {
		t.Errorf("the renewed Lease: %+v, %v", l, err)
	}
	if *l.Spec.LeaseDurationSeconds != int32(HeartbeatStale/time.Second) || l.Labels[RunLabel] != "then" {
		t.Errorf("the Lease says %+v", l)
	}
}

// Namespaces deletes only abandoned namespaces of the suite: never a live
// run's, never one without the suite's label.
func TestNamespacesSweepsOnlyEndedRuns(t *testing.T) {
	self := Self("now")
	if self.Process == "" {
		t.Skip("this system's /proc does not tell process start times")
	}
	dead := deadProcess(t)
	ended := nsOf("pods-ended", "then", map[string]string{ProcessAnnotation: dead})
	live := nsOf("pods-live", "other", map[string]string{ProcessAnnotation: processID(os.Getppid())})
	users := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "users-own", Annotations: map[string]string{ProcessAnnotation: dead}}}
	cs := fake.NewClientset(&ended, &live, &users)
	swept, err := Namespaces(context.Background(), cs, self, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(swept, []string{"pods-ended"}) {
		t.Errorf("swept %v, want only pods-ended", swept)
	}
	list, _ := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	var left []string
	for _, ns := range list.Items {
		left = append(left, ns.Name)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"pods-live", "users-own"}) {
		t.Errorf("left %v", left)
	}
}

// A new namespace's annotations name this process beyond doubt.
func TestOwnerAnnotations(t *testing.T) {
	o := Self("r1")
	a := o.Annotations(time.Unix(0, 0))
	if a[HeartbeatAnnotation] != "1970-01-01T00:00:00Z" || a[PIDAnnotation] != strconv.Itoa(os.Getpid()) {
		t.Errorf("annotations %v", a)
	}
	if o.Process != "" && !processAlive(a[ProcessAnnotation]) {
		t.Errorf("this process is not alive by its own annotation %q", a[ProcessAnnotation])
	}
}

func TestLeft(t *testing.T) {
	mine := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pods-a", Labels: map[string]string{RunLabel: "r1"}}}
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pods-b", Labels: map[string]string{RunLabel: "r2"}}}
	left, err := Left(context.Background(), fake.NewClientset(mine, other), "r1")
	if err != nil || len(left) != 1 || left[0] != "pods-a" {
		t.Errorf("left %v, %v", left, err)
	}
}
