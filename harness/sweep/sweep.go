// Package sweep finds what an interrupted or killed run left behind, by the
// labels and annotations the suite puts on everything it creates, and
// removes it; and waits for a finished run's own namespaces to be gone, so a
// run ends with the namespace list as it found it.
package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations on every namespace the suite creates.
const (
	RunLabel       = "kiamol-e2e/run"  // the run's ID
	SpecLabel      = "kiamol-e2e/spec" // "true": made by the suite for one spec
	HostAnnotation = "kiamol-e2e/host" // the machine the run was on
	PIDAnnotation  = "kiamol-e2e/pid"  // the run's first process there
)

// Owner is the run that made a namespace: while that process lives on that
// host the namespace is in use, whatever its age.
type Owner struct {
	RunID string
	Host  string
	PID   int
}

// Self is the owner for a run whose first process is this one.
func Self(runID string) Owner {
	host, _ := os.Hostname()
	return Owner{RunID: runID, Host: host, PID: os.Getpid()}
}

// Annotations mark a namespace with its owner.
func (o Owner) Annotations() map[string]string {
	return map[string]string{HostAnnotation: o.Host, PIDAnnotation: strconv.Itoa(o.PID)}
}

// abandoned says whether ns belongs to a run that is over: one of this host
// whose process is gone. Namespaces of other hosts are never touched, since
// another machine's run against the same cluster may be alive.
func abandoned(ns corev1.Namespace, self Owner) bool {
	if ns.Labels[RunLabel] == self.RunID || ns.Annotations[HostAnnotation] != self.Host {
		return false
	}
	pid, err := strconv.Atoi(ns.Annotations[PIDAnnotation])
	if err != nil || pid <= 0 {
		return false
	}
	return !alive(pid)
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Namespaces deletes the namespaces abandoned by earlier runs on this host
// and returns their names.
func Namespaces(ctx context.Context, cs kubernetes.Interface, self Owner, log io.Writer) ([]string, error) {
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: SpecLabel + "=true"})
	if err != nil {
		return nil, fmt.Errorf("list the suite's namespaces: %w", err)
	}
	var swept []string
	for _, ns := range list.Items {
		if !abandoned(ns, self) {
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
		fmt.Fprintf(log, "[sweep] deleting %d namespace(s) left by earlier interrupted runs: %v\n", len(swept), swept)
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

// WaitGone waits until no namespace labelled with the run's ID is left (they
// linger in Terminating while their pods stop), and names those still there
// when it gives up.
func WaitGone(ctx context.Context, cs kubernetes.Interface, runID string, within time.Duration, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var left []string
	for {
		list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: RunLabel + "=" + runID})
		if err == nil {
			left = left[:0]
			for _, ns := range list.Items {
				left = append(left, ns.Name+"("+string(ns.Status.Phase)+")")
			}
			if len(left) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			sort.Strings(left)
			return fmt.Errorf("namespaces of run %s still there after %s: %v", runID, within, left)
		case <-time.After(poll):
		}
	}
}
