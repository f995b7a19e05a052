package preflight

import (
	"context"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
	"github.com/kiamol-e2e/kiamol-e2e/internal/rbac"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// RBACCommand is what prints the roles, for the binary's refusal; make
// says `make rbac` (Options.RBAC).
const RBACCommand = "kiamol-e2e rbac"

// NodePath says whether the run may reach the node's runtime through a
// privileged Pod on the node, and so needs the node path's role: only when
// that is asked for.
func NodePath(s settings.Settings) bool {
	return s.SelfHeal == settings.SelfHealNode
}

// Access refuses, in one line, a user the cluster does not allow every
// permission of the suite's roles (the node path's only when nodePath):
// without it a run would fail spec by spec, each with a "forbidden" of its
// own, after it had created namespaces.
func Access(ctx context.Context, t *Target, nodePath bool, command string) error {
	cfg := rest.CopyConfig(t.Config)
	// A few dozen reviews, asked at once: client-go's default of 5 a
	// second would spend seconds on them.
	cfg.QPS, cfg.Burst, cfg.Timeout = 100, 100, 10*time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return problem("fix context "+t.Context+" in the kubeconfig", "context %q: %s", t.Context, oneline.First(err.Error()))
	}
	return access(ctx, cs, t.Context, nodePath, command)
}

func access(ctx context.Context, cs kubernetes.Interface, contextName string, nodePath bool, command string) error {
	if command == "" {
		command = RBACCommand
	}
	perms, err := rbac.Needed(nodePath)
	if err != nil {
		return err // the embedded manifest itself: rbac's tests hold it sound
	}
	missing, err := rbac.Missing(ctx, cs, perms)
	if err != nil {
		return problem("check the cluster's authorization API (kubectl --context "+contextName+" auth can-i create namespaces should answer)",
			"cannot ask the cluster of context %q what this user may do: %s", contextName, oneline.First(err.Error()))
	}
	if len(missing) == 0 {
		return nil
	}
	who := "this user"
	if name := rbac.User(ctx, cs); name != "" {
		who += " (" + name + ")"
	}
	return problem("the role it needs: "+command+" (ClusterRole "+strings.Join(rbac.RolesOf(missing), ", ")+")",
		"%s cannot %s (forbidden)", who, rbac.Describe(missing))
}
