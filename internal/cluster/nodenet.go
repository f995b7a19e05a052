package cluster

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"
)

// nodesReadNodes lets every node read the other Nodes: the air-gapped node
// image's pod network (kiamol-cni) routes to each other node's pod CIDR,
// and a node's own credentials may read only its own Node.
const nodesReadNodes = "kiamol-e2e:nodes-read-nodes"

// grantNodesReadNodes gives nodes that right on the suite's own multi-node
// cluster, right after kind made it.
func (c *Cluster) grantNodesReadNodes(ctx context.Context) error {
	_, cs, err := kubeconfig.Clients(c.KubeconfigPath, kindContext(c.Name))
	if err != nil {
		return err
	}
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: nodesReadNodes},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: nodesReadNodes},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: nodesReadNodes},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: "Group", Name: "system:nodes"}},
	}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("let nodes read nodes (for the pod network's routes): %w", err)
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("let nodes read nodes (for the pod network's routes): %w", err)
	}
	return nil
}
