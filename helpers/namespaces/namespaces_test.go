package namespaces

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// StartDelete removes the Deployments and ReplicaSets, then the Pods with
// no grace period, then the namespace: nothing is left to replace a Pod
// once the namespace terminates.
func TestStartDelete(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "pods-x"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "pods-x", Name: "hello-kiamol"}}
	cs := fake.NewClientset(ns, pod)
	if err := StartDelete(context.Background(), cs, "pods-x"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "pods-x", metav1.GetOptions{}); err == nil {
		t.Error("namespace still there")
	}
	var order []string
	for _, a := range cs.Actions() {
		if strings.HasPrefix(a.GetVerb(), "delete") {
			order = append(order, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	want := []string{"delete-collection deployments", "delete-collection replicasets", "delete-collection pods", "delete namespaces"}
	if strings.Join(order, ", ") != strings.Join(want, ", ") {
		t.Errorf("deletes in order %v, want %v", order, want)
	}
	// Deleting what is already gone is not an error.
	if err := StartDelete(context.Background(), cs, "pods-x"); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func TestKeeperTracksLiveNamespaces(t *testing.T) {
	var k Keeper
	k.track("a", true)
	k.track("b", true)
	k.track("a", false)
	if got := k.liveNames(); len(got) != 1 || got[0] != "b" {
		t.Errorf("live %v", got)
	}
}
