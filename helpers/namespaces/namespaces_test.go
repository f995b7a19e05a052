package namespaces

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

// Delete removes the namespace's Pods with no grace period, then the
// namespace, and waits until it is gone.
func TestDelete(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pods-x"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "pods-x", Name: "hello-kiamol"}}
	cs := fake.NewClientset(ns, pod)
	if err := Delete(context.Background(), cs, "pods-x", time.Second, 10*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "pods-x", metav1.GetOptions{}); err == nil {
		t.Error("namespace still there")
	}
	// Deployments and ReplicaSets, then Pods, then the namespace: nothing
	// is left to replace a Pod once the namespace terminates.
	var order []string
	for _, a := range cs.Actions() {
		if strings.HasPrefix(a.GetVerb(), "delete") {
			order = append(order, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	want := []string{"delete-collection deployments", "delete-collection replicasets", "delete-collection pods", "delete namespaces"}
	if strings.Join(order[:min(len(order), 4)], ", ") != strings.Join(want, ", ") {
		t.Errorf("deletes in order %v, want %v first", order, want)
	}
	// Deleting what is already gone is not an error.
	if err := Delete(context.Background(), cs, "pods-x", time.Second, 10*time.Millisecond, nil); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

// A namespace that stays in Terminating is reported with its state.
func TestDeleteNamesWhatIsStuck(t *testing.T) {
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pods-y"}})
	// The fake deletes at once; put it back as Terminating, as a real API
	// server keeps it while its contents go.
	cs.PrependReactor("delete", "namespaces", func(a clienttesting.Action) (bool, runtime.Object, error) { return true, nil, nil })
	_, _ = cs.CoreV1().Namespaces().UpdateStatus(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pods-y"},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}}, metav1.UpdateOptions{})
	err := Delete(context.Background(), cs, "pods-y", 50*time.Millisecond, 10*time.Millisecond, nil)
	if err == nil || !strings.Contains(err.Error(), "still there") || !strings.Contains(err.Error(), "Terminating") {
		t.Errorf("err %v", err)
	}
}

// When the cluster cannot delete namespaces at all, Delete says why at once.
func TestDeleteStopsWhenTheClusterCannot(t *testing.T) {
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pods-z"}})
	cs.PrependReactor("delete", "namespaces", func(a clienttesting.Action) (bool, runtime.Object, error) { return true, nil, nil })
	start := time.Now()
	err := Delete(context.Background(), cs, "pods-z", time.Minute, 10*time.Millisecond, func(context.Context) string { return "kube-controller-manager is not running" })
	if err == nil || !strings.Contains(err.Error(), "kube-controller-manager is not running") || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %s", err, time.Since(start))
	}
}
