package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"
	"github.com/kiamol-e2e/kiamol-e2e/internal/rbac"
)

// The whole suite, run with a kubeconfig that holds nothing but a
// ServiceAccount's token bound to the printed role, passes; with the node
// path's role too and that path forced, the self-healing claims pass
// through a Pod on the node; a user short of one rule, or of the node
// path's role when that path is asked for, is refused in one line before
// anything is made. The roles are applied as `kiamol-e2e rbac` prints them,
// with kubectl.
//
// Every run here names its context rbac-...: not kind-<the cluster>, so the
// suite takes the cluster for one it did not make (as a reader's would be)
// even though this machine's Docker shows the suite made it. That is the
// case the role is for. On its own kind cluster the suite checks its air gap
// too, which a cluster it did not make does not have (so the two air-gap
// checks skip here, and the verdict is PASS with 2 skipped). Self-healing
// under the chapter's role alone then reaches the node's runtime from this
// machine's Docker, as it would on Docker Desktop, which no API permission
// governs; the node path is forced for the second role.
func TestLeastPrivilege(t *testing.T) {
	requireEnabled(t)
	c := ownCluster(t, "rbac")
	t.Cleanup(func() {
		if err := start(t, nil, "down", "CLUSTER_NAME="+c.name).wait(t, 3*time.Minute); err != nil {
			t.Errorf("make down CLUSTER_NAME=%s: %v", c.name, err)
		}
		expectHostAsBefore(t, c.before, c.name)
	})
	kept := start(t, nil, c.args(t, "e2e", "KEEP=1", "LABELS=smoke")...)
	expectIncomplete(t, kept, kept.wait(t, 10*time.Minute))
	if !nodeRunning(c.name) {
		t.Fatalf("make e2e KEEP=1 left no running cluster %s", c.name)
	}
	admin := c.kubeconfig(t)
	bin := buildBinary(t)
	g := grant(t, admin, bin, c.name)
	chapter := g.kubeconfig(t, "chapter", "rbac-chapter")
	node := g.kubeconfig(t, "node", "rbac-node")
	short := g.kubeconfig(t, "short", "rbac-short")

	// The kept run deleted its namespaces without waiting: the list the
	// runs are held to is the one without them.
	gomega.NewWithT(t).Eventually(func() []string { return liveNamespacesBeyond(t, admin, nil) }).
		WithTimeout(2*time.Minute).WithPolling(time.Second).Should(gomega.Equal(allNamespaces(t, admin)), "the kept run's namespaces gone")
	before := namespaceStates(t, admin)

	// Refused, before anything is made.
	refusal := "this user (system:serviceaccount:" + g.namespace + ":short) cannot create pods/portforward (forbidden); the role it needs: "
	r := startApart(t, nil, c.args(t, "e2e", "EXISTING=1", "KUBECONFIG="+short, "CONTEXT=rbac-short")...)
	err := r.wait(t, 5*time.Minute)
	expectRefused(t, r, err, "kiamol-e2e: "+refusal+"make rbac (ClusterRole kiamol-e2e-chapter)", "make: ")
	if strings.Contains(r.output(t), "Running in parallel") {
		t.Errorf("%s: the suite ran", r.what)
	}
	reports := t.TempDir()
	r = startBinary(t, bin, "--kubeconfig", short, "--report-dir", reports)
	err = r.wait(t, 5*time.Minute)
	expectRefused(t, r, err, "kiamol-e2e: "+refusal+"kiamol-e2e rbac (ClusterRole kiamol-e2e-chapter)")
	r = startBinary(t, bin, "--kubeconfig", chapter, "--context", "rbac-chapter", "--self-heal=node", "--report-dir", reports)
	err = r.wait(t, 5*time.Minute)
	expectRefused(t, r, err, "kiamol-e2e: this user (system:serviceaccount:"+g.namespace+":chapter) cannot get namespaces, patch namespaces (forbidden); the role it needs: kiamol-e2e rbac (ClusterRole kiamol-e2e-node)")
	if _, err := os.Stat(filepath.Join(reports, "report.json")); err == nil {
		t.Error("a refused run wrote a report: the suite ran")
	}
	if after := namespaceStates(t, admin); !equalStates(before, after) {
		t.Errorf("refused runs changed the namespaces:\nbefore %v\nafter  %v", before, after)
	}

	// The chapter's role alone: the whole suite passes.
	r = start(t, nil, c.args(t, "e2e", "EXISTING=1", "KUBECONFIG="+chapter, "CONTEXT=rbac-chapter")...)
	expectPass(t, r, r.wait(t, 10*time.Minute))
	expectWholeRun(t, r)
	for _, claim := range []string{"2.1/container-id", "2.1/self-healing", "2.1/self-healing-forward"} {
		if p := claimPath(r.output(t), claim); !strings.HasPrefix(p, "path: host runtime:") {
			t.Errorf("%s: %s took %q, want the host runtime", r.what, claim, p)
		}
	}
	expectNamespacesAsBefore(t, admin, before)

	// Both roles, the node path forced: the self-healing claims pass
	// through a privileged Pod on the node.
	r = startBinary(t, bin, "--kubeconfig", node, "--context", "rbac-node", "--self-heal=node", "--report-dir", t.TempDir())
	expectPass(t, r, r.wait(t, 10*time.Minute))
	expectWholeRun(t, r)
	for _, claim := range []string{"2.1/container-id", "2.1/self-healing", "2.1/self-healing-forward"} {
		if p := claimPath(r.output(t), claim); !strings.HasPrefix(p, "path: node pod:") {
			t.Errorf("%s: %s took %q, want the node pod", r.what, claim, p)
		}
	}
	expectNamespacesAsBefore(t, admin, before)
}

// buildBinary builds kiamol-e2e from this checkout.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kiamol-e2e")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kiamol-e2e")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kiamol-e2e: %v\n%s", err, out)
	}
	return bin
}

// startBinary runs the binary as a reader would, its stderr apart.
func startBinary(t *testing.T, bin string, args ...string) *run {
	t.Helper()
	return startCmd(t, "kiamol-e2e "+strings.Join(args, " "), exec.Command(bin, args...), nil, true)
}

// grants are the ServiceAccounts the test binds, in a namespace of its
// own, on the cluster the admin kubeconfig names.
type grants struct {
	cs        kubernetes.Interface
	cfg       *rest.Config
	namespace string
}

// grant applies the roles as `kiamol-e2e rbac` prints them (kubectl apply)
// and binds them: ServiceAccount chapter to the chapter's role, node to
// both, short to a copy of the chapter's role without create
// pods/portforward. The test's cleanup deletes all of it.
func grant(t *testing.T, admin, bin, prefix string) *grants {
	t.Helper()
	ctx := context.Background()
	cfg, cs, err := kubeconfig.Clients(admin, "")
	if err != nil {
		t.Fatal(err)
	}
	g := &grants{cs: cs, cfg: cfg, namespace: prefix + "-ci"}
	short := prefix + "-short"
	var bindings []string
	t.Cleanup(func() {
		for _, b := range bindings {
			if err := cs.RbacV1().ClusterRoleBindings().Delete(ctx, b, metav1.DeleteOptions{}); err != nil {
				t.Errorf("cleanup: clusterrolebinding %s: %v", b, err)
			}
		}
		for _, r := range []string{short, rbac.ChapterRole, rbac.NodeRole} {
			if err := cs.RbacV1().ClusterRoles().Delete(ctx, r, metav1.DeleteOptions{}); err != nil {
				t.Errorf("cleanup: clusterrole %s: %v", r, err)
			}
		}
		if err := cs.CoreV1().Namespaces().Delete(ctx, g.namespace, metav1.DeleteOptions{}); err != nil {
			t.Errorf("cleanup: namespace %s: %v", g.namespace, err)
		}
	})

	printed, err := exec.Command(bin, "rbac").Output()
	if err != nil {
		t.Fatalf("kiamol-e2e rbac: %v", err)
	}
	// The checkout's kubectl, which make exports (each checkout has its own).
	kubectl := os.Getenv("E2E_KUBECTL")
	if kubectl == "" {
		t.Fatal("E2E_KUBECTL names no kubectl: run this test through make interrupts")
	}
	apply := exec.Command(kubectl, "--kubeconfig", admin, "apply", "-f", "-")
	apply.Stdin = bytes.NewReader(printed)
	if out, err := apply.CombinedOutput(); err != nil {
		t.Fatalf("kiamol-e2e rbac | kubectl apply -f -: %v\n%s", err, out)
	} else {
		t.Logf("kiamol-e2e rbac | kubectl apply -f -:\n%s", out)
	}

	chapter, err := rbac.Role(rbac.ChapterRole)
	if err != nil {
		t.Fatal(err)
	}
	lacking := rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: short}}
	for _, rule := range chapter.Rules {
		rule.Resources = slices.DeleteFunc(slices.Clone(rule.Resources), func(r string) bool { return r == "pods/portforward" })
		if len(rule.Resources) > 0 {
			lacking.Rules = append(lacking.Rules, rule)
		}
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &lacking, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: g.namespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for sa, roles := range map[string][]string{"chapter": {rbac.ChapterRole}, "node": {rbac.ChapterRole, rbac.NodeRole}, "short": {short}} {
		if _, err := cs.CoreV1().ServiceAccounts(g.namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, role := range roles {
			name := prefix + "-" + sa + "-" + strings.TrimPrefix(role, "kiamol-e2e-")
			if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: g.namespace}},
			}, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			bindings = append(bindings, name)
		}
	}
	return g
}

// kubeconfig writes a kubeconfig that holds only a token of the
// ServiceAccount (TokenRequest, an hour) and the cluster's address and CA,
// under the context name given.
func (g *grants) kubeconfig(t *testing.T, sa, contextName string) string {
	t.Helper()
	hour := int64(3600)
	tok, err := g.cs.CoreV1().ServiceAccounts(g.namespace).CreateToken(context.Background(), sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: g.cfg.Host, CertificateAuthorityData: g.cfg.CAData}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: sa}
	cfg.CurrentContext = contextName
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// expectRefused checks a run exited 2 with want as its one line on stderr
// (besides lines starting with one of others: make's own).
func expectRefused(t *testing.T, r *run, err error, want string, others ...string) {
	t.Helper()
	if code := exitCode(err); code != 2 {
		t.Errorf("%s: exit %d (%v), want 2", r.what, code, err)
	}
	var ours []string
	for _, l := range strings.Split(strings.TrimRight(r.stderr(t), "\n"), "\n") {
		if !slices.ContainsFunc(others, func(p string) bool { return strings.HasPrefix(l, p) }) {
			ours = append(ours, l)
		}
	}
	if len(ours) != 1 || ours[0] != want {
		t.Errorf("%s: stderr %q, want the one line %q", r.what, ours, want)
	}
	t.Logf("%s: refused: %s", r.what, strings.Join(ours, " | "))
}

// expectWholeRun checks a passing run skipped only the air-gap checks (a
// cluster the suite did not make has no air gap of the suite's): every
// claim and every other check ran and passed.
func expectWholeRun(t *testing.T, r *run) {
	t.Helper()
	var skipped []string
	for _, l := range strings.Split(r.output(t), "\n") {
		if strings.HasPrefix(l, "SKIP ") && !strings.Contains(l, "The air-gapped cluster") {
			skipped = append(skipped, l)
		}
	}
	if len(skipped) > 0 {
		t.Errorf("%s: skipped %q", r.what, skipped)
	}
	expectVerdict(t, r, "PASS (37 passed, 2 skipped)")
}

// claimPath is the path line the verdict prints under a claim's line.
func claimPath(out, claim string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 2; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "PASS ") && strings.Contains(lines[i], " "+claim+": ") {
			return strings.TrimSpace(lines[i+1])
		}
	}
	return ""
}

// namespaceStates is each live namespace's labels and annotations.
func namespaceStates(t *testing.T, admin string) map[string]string {
	t.Helper()
	_, cs, err := kubeconfig.Clients(admin, "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil {
			m[ns.Name] = fmt.Sprintf("labels %v annotations %v", ns.Labels, ns.Annotations)
		}
	}
	return m
}

func equalStates(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// expectNamespacesAsBefore checks that the run changed no namespace it did
// not make (none relabelled), and that once the cluster has finished
// deleting the run's own, the namespace list is the one from before.
func expectNamespacesAsBefore(t *testing.T, admin string, before map[string]string) {
	t.Helper()
	after := namespaceStates(t, admin)
	for name, state := range before {
		if after[name] != state {
			t.Errorf("namespace %s: before %s, after %s", name, state, after[name])
		}
	}
	names := make([]string, 0, len(before))
	for n := range before {
		names = append(names, n)
	}
	slices.Sort(names)
	gomega.NewWithT(t).Eventually(func() []string { return allNamespaces(t, admin) }).
		WithTimeout(2*time.Minute).WithPolling(time.Second).Should(gomega.Equal(names), "the namespace list, 2 minutes after the run, as before it")
}
