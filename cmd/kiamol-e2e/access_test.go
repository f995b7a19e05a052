package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
)

// A cluster where the user may not create or delete namespaces: the binary
// says so in one line, names the command that prints the role, and exits 2
// before Ginkgo or any spec runs (no report).
func TestAUserWithoutTheRoleIsRefusedBeforeAnySpec(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/version":
			_, _ = w.Write([]byte(`{"major":"1","minor":"34","gitVersion":"v1.34.4"}`))
		case "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
			body, _ := io.ReadAll(r.Body)
			obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
			review, ok := obj.(*authorizationv1.SelfSubjectAccessReview)
			if err != nil || !ok {
				http.Error(w, fmt.Sprint(err), 400)
				return
			}
			a := review.Spec.ResourceAttributes
			review.Status.Allowed = !(a.Resource == "namespaces" && (a.Verb == "create" || a.Verb == "delete"))
			review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
			raw, _ := runtime.Encode(scheme.Codecs.LegacyCodec(authorizationv1.SchemeGroupVersion), review)
			_, _ = w.Write(raw)
		case "/apis/authentication.k8s.io/v1/selfsubjectreviews":
			http.NotFound(w, r) // a cluster that does not say who the user is
		default:
			t.Errorf("the refused run asked %s %s", r.Method, r.URL.Path)
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "config")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "`+srv.URL+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ci, context: {cluster: c, user: u}}]
current-context: ci
`), 0o600); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(dir, "reports")
	code, out, errText := runCaptured(t, "--kubeconfig", kubeconfig, "--report-dir", reports)
	want := "kiamol-e2e: this user cannot create namespaces, delete namespaces (forbidden); the role it needs: kiamol-e2e rbac (ClusterRole kiamol-e2e-chapter)\n"
	if code != 2 || errText != want || out != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, out, errText, want)
	}
	if _, err := os.Stat(filepath.Join(reports, "report.json")); err == nil {
		t.Error("a report was written: the suite ran")
	}
}
