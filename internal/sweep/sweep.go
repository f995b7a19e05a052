// Package sweep finds the namespaces an interrupted or killed run left
// behind, by the labels and annotations the suite puts on each and the
// heartbeat Lease it keeps in each, and removes them, never one of a live
// run; and waits for a finished run's own namespaces to be gone, so a run
// ends with the namespace list as it found it.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations on every namespace the suite creates.
const (
	RunLabel       = "kiamol-e2e/run"  // the run's ID
	SpecLabel      = "kiamol-e2e/spec" // "true": made by the suite for one spec
	HostAnnotation = "kiamol-e2e/host" // the machine the run was on, for people
	PIDAnnotation  = "kiamol-e2e/pid"  // the run's first process there
	// ProcessAnnotation names the owning process beyond doubt on one
	// machine: "<boot ID>/<PID namespace>/<PID>/<start time in ticks>".
	// Host name and PID alone are not enough: two containers can share a
	// host name and reuse each other's PIDs.
	ProcessAnnotation = "kiamol-e2e/process"
	// HeartbeatAnnotation is the run's first heartbeat (RFC 3339), set as
	// it makes the namespace; HeartbeatLease renews it. A run on another
	// machine, or in another PID namespace, is judged by the later of the
	// two.
	HeartbeatAnnotation = "kiamol-e2e/heartbeat"
)

// HeartbeatLease is the Lease the live run keeps in each of its namespaces
// and renews. A Lease in the namespace, not the namespace's own annotation:
// renewing it needs no right to change a namespace, which would be the
// right to change any namespace's labels (its Pod Security level among
// them).
const HeartbeatLease = "kiamol-e2e-heartbeat"

// HeartbeatEvery is how often a live run renews its namespaces' heartbeat;
// HeartbeatStale is how old one must be before the run is taken for dead:
// six missed beats, far beyond what a loaded machine delays one by.
const (
	HeartbeatEvery = 30 * time.Second
	HeartbeatStale = 3 * time.Minute
)

// Owner is the run that made a namespace.
type Owner struct {
	RunID   string
	Host    string
	PID     int
	Process string // see ProcessAnnotation; "" where /proc cannot tell
}

// Self is the owner for a run whose first process is this one.
func Self(runID string) Owner {
	host, _ := os.Hostname()
	return Owner{RunID: runID, Host: host, PID: os.Getpid(), Process: processID(os.Getpid())}
}

// Annotations mark a namespace with its owner and a first heartbeat.
func (o Owner) Annotations(now time.Time) map[string]string {
	a := map[string]string{HostAnnotation: o.Host, PIDAnnotation: strconv.Itoa(o.PID), HeartbeatAnnotation: now.UTC().Format(time.RFC3339)}
	if o.Process != "" {
		a[ProcessAnnotation] = o.Process
	}
	return a
}

// processID is "<boot ID>/<PID namespace>/<PID>/<start time>" for pid, or
// "" when /proc does not say.
func processID(pid int) string {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	pidns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	start := startTime(pid)
	if start == "" {
		return ""
	}
	return strings.TrimSpace(string(boot)) + "/" + pidns + "/" + strconv.Itoa(pid) + "/" + start
}

// startTime is field 22 of /proc/<pid>/stat: when the process started, in
// clock ticks since boot. A reused PID has another.
func startTime(pid int) string {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

// Lease is the heartbeat Lease for a namespace the owner makes now.
func (o Owner) Lease(now time.Time) *coordinationv1.Lease {
	stale := int32(HeartbeatStale / time.Second)
	renew := metav1.NewMicroTime(now)
	holder := o.RunID + "@" + o.Host
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: HeartbeatLease, Labels: map[string]string{RunLabel: o.RunID}},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &stale, RenewTime: &renew},
	}
}

// abandoned says whether ns belongs to a run that is over. On this machine
// and in this PID namespace that is certain: the recorded process (PID and
// start time) no longer exists. Anywhere else the run's heartbeat tells: a
// run that has not renewed it for HeartbeatStale is gone. renewed is the
// heartbeat Lease's last renewal (zero when the namespace has none), ok
// false when it could not be read.
func abandoned(ns corev1.Namespace, self Owner, now time.Time, renewed func() (time.Time, bool)) bool {
	if ns.Labels[RunLabel] == self.RunID {
		return false
	}
	owner := ns.Annotations[ProcessAnnotation]
	if owner != "" && self.Process != "" && sameProcessSpace(owner, self.Process) {
		return !processAlive(owner)
	}
	beat, err := time.Parse(time.RFC3339, ns.Annotations[HeartbeatAnnotation])
	if err != nil {
		beat = time.Time{}
	}
	lease, ok := renewed()
	if !ok {
		return false // an owner we cannot judge is left alone
	}
	if lease.After(beat) {
		beat = lease
	}
	if beat.IsZero() {
		return false // no heartbeat at all: likewise
	}
	return now.Sub(beat) > HeartbeatStale
}

// leaseRenewed reads the namespace's heartbeat Lease: its last renewal,
// zero when there is none, ok false when it cannot be read.
func leaseRenewed(ctx context.Context, cs kubernetes.Interface, ns string) (time.Time, bool) {
	l, err := cs.CoordinationV1().Leases(ns).Get(ctx, HeartbeatLease, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return time.Time{}, true
	case err != nil:
		return time.Time{}, false
	case l.Spec.RenewTime != nil:
		return l.Spec.RenewTime.Time, true
	}
	return time.Time{}, true
}

// sameProcessSpace says whether two process IDs share boot and PID namespace,
// so that one's PID can be looked up in the other's /proc.
func sameProcessSpace(a, b string) bool {
	pa, pb := strings.Split(a, "/"), strings.Split(b, "/")
	return len(pa) == 4 && len(pb) == 4 && pa[0] == pb[0] && pa[1] == pb[1]
}

func processAlive(id string) bool {
	parts := strings.Split(id, "/")
	pid, err := strconv.Atoi(parts[2])
	if err != nil || pid <= 0 {
		return true // malformed: keep it rather than risk a live run's
	}
	return startTime(pid) == parts[3]
}

// Namespaces deletes the namespaces abandoned by ended runs and returns
// their names.
func Namespaces(ctx context.Context, cs kubernetes.Interface, self Owner, log io.Writer) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: SpecLabel + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list the suite's namespaces: %w", err)
	}
	var swept []string
	for _, ns := range list.Items {
		renewed := func() (time.Time, bool) { return leaseRenewed(ctx, cs, ns.Name) }
		if !abandoned(ns, self, time.Now(), renewed) {
			continue
		}
		if ns.DeletionTimestamp == nil {
			err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				return swept, fmt.Errorf("delete leftover namespace %s: %w", ns.Name, err)
			}
		}
		swept = append(swept, ns.Name)
	}
	if len(swept) > 0 {
		fmt.Fprintf(log, "[sweep] deleting %d namespace(s) left by ended runs: %v\n", len(swept), swept)
	}
	return swept, nil
}

// DeleteRun deletes every namespace of the run still there: one whose spec
// was interrupted between the namespace's creation and the registration of
// its cleanup has no one else to delete it.
func DeleteRun(ctx context.Context, cs kubernetes.Interface, runID string) error {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: RunLabel + "=" + runID})
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range list.Items {
		if ns.DeletionTimestamp != nil {
			continue
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Left lists the run's namespaces that are still there.
func Left(ctx context.Context, cs kubernetes.Interface, runID string) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: RunLabel + "=" + runID})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ns := range list.Items {
		out = append(out, ns.Name)
	}
	sort.Strings(out)
	return out, nil
}

// Heartbeat renews the heartbeat Lease of the namespaces names returns (this
// process's live ones) every HeartbeatEvery until ctx ends. A namespace that
// is gone or going is skipped; a failed renewal is tried again next beat.
func Heartbeat(ctx context.Context, cs kubernetes.Interface, names func() []string) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		Renew(ctx, cs, names(), time.Now())
	}
}

// Renew sets the heartbeat Lease of each namespace to now.
func Renew(ctx context.Context, cs kubernetes.Interface, namespaces []string, now time.Time) {
	patch := []byte(`{"spec":{"renewTime":"` + metav1.NewMicroTime(now).UTC().Format(metav1.RFC3339Micro) + `"}}`)
	for _, n := range namespaces {
		_, _ = cs.CoordinationV1().Leases(n).Patch(ctx, HeartbeatLease, types.MergePatchType, patch, metav1.PatchOptions{})
	}
}
