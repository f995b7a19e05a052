package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	kindexec "sigs.k8s.io/kind/pkg/exec"

	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// NodeContainers lists a kind cluster's node containers by name, through
// kind's own provider.
func NodeContainers(name string) ([]string, error) {
	list, err := provider(io.Discard).ListNodes(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range list {
		out = append(out, n.String())
	}
	slices.Sort(out)
	return out, nil
}

// KindNode finds the kind node container on this machine that runs the
// Kubernetes node of that name (kind names each Node after its container),
// in whichever kind cluster it is: ok is false when there is none (a remote
// node, another distribution's, or no Docker here).
func KindNode(ctx context.Context, name string) (nodes.Node, bool) {
	if docker.Ping(ctx) != nil {
		return nil, false
	}
	p := provider(io.Discard)
	clusters, err := p.List()
	if err != nil {
		return nil, false
	}
	for _, c := range clusters {
		list, err := p.ListNodes(c)
		if err != nil {
			continue
		}
		for _, n := range list {
			if n.String() == name {
				return n, true
			}
		}
	}
	return nil, false
}

// InNode runs a command in a kind node through kind's node API, bounded by
// ctx, and returns what it printed; an error leads with what the command
// said on stderr.
func InNode(ctx context.Context, n nodes.Node, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	err := n.CommandContext(ctx, name, args...).SetStdout(&stdout).SetStderr(&stderr).Run()
	if err != nil {
		said := oneline.Collapse(oneline.StripLogPrefix(stderr.String()))
		var run *kindexec.RunError
		if said == "" && errors.As(err, &run) {
			said = run.Cause().Error()
		} else if said == "" {
			said = err.Error()
		}
		if ctx.Err() != nil {
			said = ctx.Err().Error() + ": " + said
		}
		return stdout.String(), fmt.Errorf("%s (in node %s: %s)", said, n.String(), strings.Join(append([]string{name}, args...), " "))
	}
	return strings.TrimSpace(stdout.String()), nil
}
