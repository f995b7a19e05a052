// Package rbac is the access the suite needs on a cluster it did not make,
// written down once: the ClusterRoles `kiamol-e2e rbac` prints (the embedded
// kiamol-e2e-rbac.yaml, comments and all), and the check, before any spec,
// that the user holds every rule of them, derived from the same rules and
// asked of the cluster with SelfSubjectAccessReviews.
package rbac

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

//go:embed kiamol-e2e-rbac.yaml
var manifest []byte

// The two roles' names: prefixed, so that applying them replaces nothing of
// a user's.
const (
	// ChapterRole is everything a run does.
	ChapterRole = "kiamol-e2e-chapter"
	// NodeRole is what the self-healing claims add when they reach the
	// node's runtime through a privileged Pod on the node.
	NodeRole = "kiamol-e2e-node"
)

// Manifest is the file `kiamol-e2e rbac` prints.
func Manifest() []byte { return slices.Clone(manifest) }

// Role is one of the manifest's ClusterRoles, by name.
func Role(name string) (rbacv1.ClusterRole, error) {
	roles, err := Roles()
	if err != nil {
		return rbacv1.ClusterRole{}, err
	}
	for _, r := range roles {
		if r.Name == name {
			return r, nil
		}
	}
	return rbacv1.ClusterRole{}, fmt.Errorf("the suite's RBAC manifest has no ClusterRole %s", name)
}

// Roles are the manifest's ClusterRoles, in its order.
func Roles() ([]rbacv1.ClusterRole, error) {
	var roles []rbacv1.ClusterRole
	for _, doc := range bytes.Split(manifest, []byte("\n---\n")) {
		var r rbacv1.ClusterRole
		if err := yaml.UnmarshalStrict(doc, &r); err != nil {
			return nil, fmt.Errorf("the suite's RBAC manifest: %w", err)
		}
		if r.Kind == "" {
			continue // the leading comments
		}
		if r.Kind != "ClusterRole" {
			return nil, fmt.Errorf("the suite's RBAC manifest holds a %s; it holds ClusterRoles only", r.Kind)
		}
		roles = append(roles, r)
	}
	return roles, nil
}

// Permission is one verb on one kind of object (or a subresource, or one
// object by name) that a rule grants.
type Permission struct {
	Verb, Group, Resource, Subresource, Name string
	// Role is the ClusterRole that grants it (the first, should two).
	Role string
}

// String is how a refusal names it, kubectl's way: "create namespaces",
// "create pods/exec", "list deployments.apps", "get
// leases.coordination.k8s.io kube-scheduler".
func (p Permission) String() string {
	s := p.Verb + " " + p.Resource
	if p.Group != "" {
		s += "." + p.Group
	}
	if p.Subresource != "" {
		s += "/" + p.Subresource
	}
	if p.Name != "" {
		s += " " + p.Name
	}
	return s
}

// Permissions are every verb on every resource (and name) the roles'
// rules grant, each once, in the order the rules list them. A rule that
// grants a wildcard or a non-resource URL is an error: the suite's roles
// name what they grant.
func Permissions(roles ...rbacv1.ClusterRole) ([]Permission, error) {
	var out []Permission
	for _, r := range roles {
		for i, rule := range r.Rules {
			if len(rule.NonResourceURLs) > 0 {
				return nil, fmt.Errorf("ClusterRole %s, rule %d: non-resource URLs are not checked", r.Name, i+1)
			}
			names := rule.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, v := range rule.Verbs {
				for _, g := range rule.APIGroups {
					for _, res := range rule.Resources {
						if v == "*" || g == "*" || strings.Contains(res, "*") {
							return nil, fmt.Errorf("ClusterRole %s, rule %d: a wildcard grants more than the suite names", r.Name, i+1)
						}
						resource, sub, _ := strings.Cut(res, "/")
						for _, n := range names {
							p := Permission{Verb: v, Group: g, Resource: resource, Subresource: sub, Name: n, Role: r.Name}
							if !slices.ContainsFunc(out, func(q Permission) bool { q.Role = p.Role; return q == p }) {
								out = append(out, p)
							}
						}
					}
				}
			}
		}
	}
	return out, nil
}

// Needed are the permissions a run needs: the chapter's, and the node
// path's when the run may take it.
func Needed(nodePath bool) ([]Permission, error) {
	names := []string{ChapterRole}
	if nodePath {
		names = append(names, NodeRole)
	}
	var roles []rbacv1.ClusterRole
	for _, n := range names {
		r, err := Role(n)
		if err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	return Permissions(roles...)
}

// inFlight bounds the reviews asked at once: a few dozen, each a small
// request the API server answers from its authorizer.
const inFlight = 8

// Missing asks the cluster, for each permission, whether the client's user
// holds it in every namespace (the run's namespaces do not exist yet, so a
// grant in some namespaces is not enough), and returns the ones it does not,
// in the order given. An error means the cluster could not be asked.
func Missing(ctx context.Context, cs kubernetes.Interface, perms []Permission) ([]Permission, error) {
	allowed := make([]bool, len(perms))
	errs := make([]error, len(perms))
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			review, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Verb: p.Verb, Group: p.Group, Resource: p.Resource, Subresource: p.Subresource, Name: p.Name,
				}},
			}, metav1.CreateOptions{})
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", p, err)
				return
			}
			allowed[i] = review.Status.Allowed
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var missing []Permission
	for i, p := range perms {
		if !allowed[i] {
			missing = append(missing, p)
		}
	}
	return missing, nil
}

// User is the name the cluster knows the client's user by
// (SelfSubjectReview), or "" where it does not say (before Kubernetes
// v1.28).
func User(ctx context.Context, cs kubernetes.Interface) string {
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return ""
	}
	return r.Status.UserInfo.Username
}

// RolesOf names the ClusterRoles that grant the permissions, each once.
func RolesOf(perms []Permission) []string {
	var names []string
	for _, p := range perms {
		if !slices.Contains(names, p.Role) {
			names = append(names, p.Role)
		}
	}
	return names
}

// Describe names the missing permissions in one line: "create namespaces,
// delete namespaces".
func Describe(missing []Permission) string {
	s := make([]string, len(missing))
	for i, p := range missing {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
