package namespaces

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/rbac"
	"github.com/kiamol-e2e/kiamol-e2e/internal/sweep"
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

// The label that admits privileged Pods goes only on a namespace this run
// created for a spec and still holds: any other is refused and left exactly
// as it was, whatever its name.
func TestAllowPrivilegedRefusesANamespaceTheRunDidNotCreate(t *testing.T) {
	owner := sweep.Owner{RunID: "run-ours"}
	ns := func(name string, labels map[string]string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, ResourceVersion: "1"}}
	}
	ours := map[string]string{sweep.RunLabel: "run-ours", sweep.SpecLabel: "true"}
	for _, tc := range []struct {
		name    string
		ns      *corev1.Namespace
		live    bool // created by this Keeper and not yet deleted
		wantErr string
	}{
		{"this run's spec namespace", ns("pods-ours", ours), true, ""},
		{"a user's namespace named like ours", ns("pods-abcde", map[string]string{"team": "web"}), true, "no kiamol-e2e/spec=true label"},
		{"another run's spec namespace", ns("pods-theirs", map[string]string{sweep.RunLabel: "run-other", sweep.SpecLabel: "true"}), true, `labelled kiamol-e2e/run="run-other", not this run's "run-ours"`},
		{"ours by its labels, but not created by this Keeper", ns("pods-ours", ours), false, "not one this run created"},
		{"default", ns("default", nil), false, "not one this run created"},
		{"kube-system, even if tracked", ns("kube-system", map[string]string{"kubernetes.io/metadata.name": "kube-system"}), true, "no kiamol-e2e/spec=true label"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.ns.DeepCopy()
			cs := fake.NewClientset(tc.ns)
			k := &Keeper{Clientset: cs, Owner: owner}
			if tc.live {
				k.track(tc.ns.Name, true)
			}
			was, err := k.AllowPrivileged(context.Background(), tc.ns.Name)
			got, gerr := cs.CoreV1().Namespaces().Get(context.Background(), tc.ns.Name, metav1.GetOptions{})
			if gerr != nil {
				t.Fatal(gerr)
			}
			if tc.wantErr == "" {
				if err != nil || was != "" || got.Labels[PodSecurityEnforce] != "privileged" {
					t.Fatalf("err %v, was %q, labels %v", err, was, got.Labels)
				}
				// Only what the kiamol-e2e-node role grants: get and
				// patch on namespaces.
				granted, rerr := rbac.Role(rbac.NodeRole)
				if rerr != nil {
					t.Fatal(rerr)
				}
				for _, a := range cs.Actions() {
					if !grants(granted, a.GetVerb(), a.GetResource().Resource) {
						t.Errorf("AllowPrivileged made a %s on %s, which %s does not grant", a.GetVerb(), a.GetResource().Resource, rbac.NodeRole)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrNotOurs) {
				t.Errorf("err %v, want %q (ErrNotOurs)", err, tc.wantErr)
			}
			if !reflect.DeepEqual(got.Labels, before.Labels) {
				t.Errorf("labels changed: %v, were %v", got.Labels, before.Labels)
			}
			for _, a := range cs.Actions() {
				if a.GetVerb() != "get" {
					t.Errorf("a refused namespace got a %s", a.GetVerb())
				}
			}
		})
	}
}

// grants says whether one of the role's rules allows verb on resource.
func grants(role rbacv1.ClusterRole, verb, resource string) bool {
	for _, r := range role.Rules {
		if slices.Contains(r.Verbs, verb) && slices.Contains(r.Resources, resource) {
			return true
		}
	}
	return false
}
