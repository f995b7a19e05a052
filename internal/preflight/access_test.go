package preflight

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// authorizer answers SelfSubjectAccessReviews for a user allowed everything
// but denied ("verb resource[/sub]"), and SelfSubjectReview with its name
// when it has one.
func authorizer(user string, denied ...string) *fake.Clientset {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview).DeepCopy()
		attrs := review.Spec.ResourceAttributes
		what := attrs.Verb + " " + attrs.Resource
		if attrs.Subresource != "" {
			what += "/" + attrs.Subresource
		}
		review.Status.Allowed = !slices.Contains(denied, what)
		return true, review, nil
	})
	if user != "" {
		cs.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, &authenticationv1.SelfSubjectReview{Status: authenticationv1.SelfSubjectReviewStatus{UserInfo: authenticationv1.UserInfo{Username: user}}}, nil
		})
	}
	return cs
}

// A user without the suite's role is refused in one line that names each
// missing verb and resource and where the role is.
func TestAccessRefusesInOneLine(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		cs       *fake.Clientset
		nodePath bool
		command  string
		want     string
	}{
		{"a user with everything", authorizer("admin"), true, "", ""},
		{"no namespaces of its own", authorizer("system:serviceaccount:ci:runner", "create namespaces", "delete namespaces"), false, "",
			"this user (system:serviceaccount:ci:runner) cannot create namespaces, delete namespaces (forbidden); the role it needs: kiamol-e2e rbac (ClusterRole kiamol-e2e-chapter)"},
		{"no port-forward, a cluster that does not say who", authorizer("", "create pods/portforward"), false, "make rbac",
			"this user cannot create pods/portforward (forbidden); the role it needs: make rbac (ClusterRole kiamol-e2e-chapter)"},
		{"the node path not asked for", authorizer("u", "patch namespaces", "get namespaces"), false, "", ""},
		{"the node path asked for, its role not bound", authorizer("u", "patch namespaces", "get namespaces"), true, "",
			"this user (u) cannot get namespaces, patch namespaces (forbidden); the role it needs: kiamol-e2e rbac (ClusterRole kiamol-e2e-node)"},
		{"both roles short", authorizer("u", "list events", "patch namespaces"), true, "",
			"this user (u) cannot list events, patch namespaces (forbidden); the role it needs: kiamol-e2e rbac (ClusterRole kiamol-e2e-chapter, kiamol-e2e-node)"},
	} {
		err := access(ctx, tc.cs, "ctx", tc.nodePath, tc.command)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("%s: more than one line", tc.name)
		}
	}
}

func TestAccessSaysWhenTheClusterCannotBeAsked(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the server could not find the requested resource")
	})
	err := access(context.Background(), cs, "ctx", false, "")
	if err == nil || !strings.HasPrefix(err.Error(), `cannot ask the cluster of context "ctx" what this user may do: `) || !strings.Contains(err.Error(), "auth can-i") {
		t.Errorf("got %v", err)
	}
}
