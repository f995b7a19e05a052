package cluster

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
)

// thawEvery is how often, while kind removes the nodes, their cgroups are
// looked at for what runc left frozen: a node stuck that way dies within
// this of the look, where Docker alone gives up after 12 s.
const thawEvery = 200 * time.Millisecond

// deleteNodes removes cluster name's nodes with kind and, while kind waits
// for each node to die, thaws what runc left frozen inside it (why: see
// nodehost/freezer.go). It says on log what it thawed, and a thaw that
// failed is part of the error when the delete fails too.
func deleteNodes(ctx context.Context, p *kindcluster.Provider, name, kubeconfig string, log io.Writer) error {
	// Removing nodes is cleanup: it goes on when the run was interrupted.
	ctx = context.WithoutCancel(ctx)
	if log == nil {
		log = io.Discard
	}
	dirs := nodeFreezerDirs(ctx, name)
	if len(dirs) == 0 {
		return p.Delete(name, kubeconfig)
	}
	done := make(chan error, 1)
	go func() { done <- p.Delete(name, kubeconfig) }()
	var deleteErr, thawErr error
	var thawed []string
	_ = wait.PollUntilContextCancel(ctx, thawEvery, true, func(context.Context) (bool, error) {
		select {
		case deleteErr = <-done:
			return true, nil
		default:
		}
		for _, d := range dirs {
			t, err := nodehost.Thaw(d)
			thawed = append(thawed, t...)
			if err != nil && thawErr == nil {
				thawErr = err
			}
		}
		return false, nil
	})
	if len(thawed) > 0 {
		fmt.Fprintf(log, "[cluster] thawed %d cgroup(s) runc had left frozen in the dying node(s) of %q: %s\n",
			len(thawed), name, strings.Join(thawed, ", "))
	}
	if deleteErr != nil && thawErr != nil {
		return fmt.Errorf("%w (a node may be held by a frozen cgroup, which could not be thawed: %v)", deleteErr, thawErr)
	}
	return deleteErr
}

// nodeFreezerDirs are the host's v1 freezer cgroups of the cluster's node
// containers: none on a cgroup v2 host, off Linux, or when Docker runs
// somewhere this process cannot see.
func nodeFreezerDirs(ctx context.Context, name string) []string {
	root, ok := nodehost.HostFreezerRoot()
	if !ok {
		return nil
	}
	nodes, err := nodesOf(ctx, name)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, n := range nodes {
		d, _ := nodehost.ContainerCgroups(root, n.ID)
		dirs = append(dirs, d...)
	}
	return dirs
}

// deleteFailed leads with what Docker said when kind could not remove a
// node ("Error response from daemon: Could not kill running container
// ..."), not with kind's "failed to delete nodes".
func deleteFailed(name string, err error) error {
	if said := commandSaid(err); said != "" {
		return fmt.Errorf("%s (kind delete %q: %w)", said, name, err)
	}
	return fmt.Errorf("kind delete %q: %w", name, err)
}
