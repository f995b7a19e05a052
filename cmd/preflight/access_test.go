package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/kubernetes/scheme"
)

// fakeAPIServer answers on loopback what preflight asks of a cluster: its
// version, and SelfSubjectAccessReviews for a user allowed everything but
// denied ("verb resource[/sub]"). It counts anything else it is asked: a
// refused run must not have created anything.
func fakeAPIServer(t *testing.T, denied ...string) (url string, other func() []string) {
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && r.URL.Path == "/version":
			_, _ = w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"v1.34.4"}`))
		case r.Method == "POST" && r.URL.Path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
			body, _ := io.ReadAll(r.Body)
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
			review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
			if err != nil || !ok {
				http.Error(w, fmt.Sprintf("%T %v", obj, err), 400)
				return
			}
			review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
			a := review.Spec.ResourceAttributes
			what := a.Verb + " " + a.Resource
			if a.Subresource != "" {
				what += "/" + a.Subresource
			}
			review.Status.Allowed = !slices.Contains(denied, what)
			_ = json.NewEncoder(w).Encode(review)
		default:
			mu.Lock()
			asked = append(asked, r.Method+" "+r.URL.Path)
			mu.Unlock()
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(asked) }
}

// make e2e EXISTING=1 with a user who lacks one of the role's rules stops
// at preflight, in one line naming it, before the suite is run.
func TestAUserWithoutTheRoleIsRefused(t *testing.T) {
	url, other := fakeAPIServer(t, "create pods/portforward")
	r := runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": kubeconfigFor(t, url)}, "-docker=false")
	expectOneLine(t, r, "kiamol-e2e: this user cannot create pods/portforward (forbidden); the role it needs: make rbac (ClusterRole kiamol-e2e-chapter)")
	for _, o := range other() {
		if !strings.Contains(o, "selfsubjectreviews") {
			t.Errorf("preflight asked the cluster %s", o)
		}
	}

	// The node path's role only when it is asked for.
	url, _ = fakeAPIServer(t, "patch namespaces")
	r = runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": kubeconfigFor(t, url)}, "-docker=false")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("without SELF_HEAL=node: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runPreflight(t, map[string]string{"E2E_USE_EXISTING_CLUSTER": "1", "KUBECONFIG": kubeconfigFor(t, url), "E2E_SELF_HEAL": "node"}, "-docker=false")
	expectOneLine(t, r, "cannot patch namespaces (forbidden)", "ClusterRole kiamol-e2e-node")
}

func TestRBACFlagPrintsTheRoles(t *testing.T) {
	r := runPreflight(t, nil, "-rbac")
	if r.code != 0 || !strings.Contains(r.stdout, "kind: ClusterRole") || !strings.Contains(r.stdout, "name: kiamol-e2e-node") {
		t.Errorf("-rbac: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
