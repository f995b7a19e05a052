package rbac

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// The printed manifest is the two ClusterRoles, named so that they cannot
// take the place of a user's, each granting only named verbs on named
// resources.
func TestTheManifestIsTwoClusterRoles(t *testing.T) {
	roles, err := Roles()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
		if !strings.HasPrefix(r.Name, "kiamol-e2e-") || r.Labels["app.kubernetes.io/name"] != "kiamol-e2e" {
			t.Errorf("ClusterRole %s: not named and labelled as the suite's", r.Name)
		}
		if r.AggregationRule != nil {
			t.Errorf("ClusterRole %s aggregates other roles: it grants what they grant, unnamed", r.Name)
		}
		if _, err := Permissions(r); err != nil {
			t.Error(err)
		}
	}
	if !slices.Equal(names, []string{ChapterRole, NodeRole}) {
		t.Errorf("ClusterRoles %v, want %s and %s", names, ChapterRole, NodeRole)
	}
	if !strings.Contains(string(Manifest()), "kubectl create clusterrolebinding") {
		t.Error("the manifest does not say how to bind the roles")
	}
}

func names(perms []Permission) []string {
	var s []string
	for _, p := range perms {
		s = append(s, p.String())
	}
	return s
}

// The chapter's role holds what the chapter's commands and the suite's
// reads need, and nothing that changes a namespace once made: relabelling
// one (its Pod Security level) is the node path's alone.
func TestTheChapterRoleNeverChangesANamespace(t *testing.T) {
	chapter, err := Needed(false)
	if err != nil {
		t.Fatal(err)
	}
	got := names(chapter)
	for _, want := range []string{
		"create namespaces", "delete namespaces", "list namespaces", "create serviceaccounts",
		"create pods", "watch pods", "deletecollection pods", "get pods/log", "create pods/exec", "create pods/portforward",
		"create deployments.apps", "list replicasets.apps", "list services", "list cronjobs.batch", "list events",
		"get nodes", "list nodes", "get leases.coordination.k8s.io kube-scheduler", "patch leases.coordination.k8s.io kiamol-e2e-heartbeat",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("the chapter's role lacks %q", want)
		}
	}
	for _, p := range chapter {
		if p.Resource == "namespaces" && slices.Contains([]string{"update", "patch", "get"}, p.Verb) {
			t.Errorf("the chapter's role grants %s", p)
		}
		if p.Resource == "leases" && p.Name == "" && p.Verb != "create" && p.Verb != "list" {
			t.Errorf("the chapter's role grants %s on every Lease", p)
		}
		if p.Role != ChapterRole {
			t.Errorf("%s is said to come from %s", p, p.Role)
		}
	}
	both, err := Needed(true)
	if err != nil {
		t.Fatal(err)
	}
	added := both[len(chapter):]
	if !slices.Equal(names(added), []string{"get namespaces", "patch namespaces"}) || added[0].Role != NodeRole {
		t.Errorf("the node path adds %v", added)
	}
}

// reviewer answers SelfSubjectAccessReviews as an authorizer that allows
// everything but what denied names, and records what it was asked.
type reviewer struct {
	mu     sync.Mutex
	denied []string
	asked  []authorizationv1.ResourceAttributes
}

func (r *reviewer) clientset() *fake.Clientset {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		attrs := *review.Spec.ResourceAttributes
		r.mu.Lock()
		r.asked = append(r.asked, attrs)
		r.mu.Unlock()
		p := Permission{Verb: attrs.Verb, Group: attrs.Group, Resource: attrs.Resource, Subresource: attrs.Subresource, Name: attrs.Name}
		out := review.DeepCopy()
		out.Status.Allowed = !slices.Contains(r.denied, p.String())
		return true, out, nil
	})
	return cs
}

func TestMissingNamesExactlyWhatTheUserLacks(t *testing.T) {
	perms, err := Needed(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, denied := range [][]string{
		nil,
		{"create pods/portforward"},
		{"create namespaces", "delete namespaces"},
		{"patch namespaces"},
		names(perms),
	} {
		r := &reviewer{denied: denied}
		missing, err := Missing(context.Background(), r.clientset(), perms)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(missing); !slices.Equal(got, denied) {
			t.Errorf("denied %v: missing %v", denied, got)
		}
		if len(r.asked) != len(perms) {
			t.Errorf("asked %d reviews for %d permissions", len(r.asked), len(perms))
		}
		for _, a := range r.asked {
			if a.Namespace != "" {
				t.Errorf("asked %+v in namespace %q: the run's namespaces do not exist yet, so it needs the grant in all", a, a.Namespace)
			}
		}
	}
	if d := Describe([]Permission{{Verb: "create", Resource: "namespaces"}, {Verb: "get", Group: "coordination.k8s.io", Resource: "leases", Name: "kube-scheduler"}, {Verb: "create", Resource: "pods", Subresource: "exec"}}); d != "create namespaces, get leases.coordination.k8s.io kube-scheduler, create pods/exec" {
		t.Errorf("Describe: %q", d)
	}
}

// A cluster that cannot be asked is an error, not a user who may do
// nothing.
func TestMissingWhenTheClusterCannotBeAsked(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("the server could not find the requested resource")
	})
	perms, _ := Needed(false)
	if missing, err := Missing(context.Background(), cs, perms); err == nil {
		t.Errorf("no error; missing %v", missing)
	}
}
