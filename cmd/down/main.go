// Command down removes what the suite leaves running on purpose (KEEP=1) or
// by accident (a killed run) for one cluster name (E2E_CLUSTER_NAME): the
// suite's kind cluster, its local registry, network and egress guard, and the
// entries kind wrote into kubeconfig files; with EXISTING=1, the namespaces
// ended runs left on that cluster. It touches only what the suite's record
// and labels show the suite made, and nothing a live run holds.
//
//	go run ./cmd/down
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
	"github.com/kiamol-e2e/kiamol-e2e/internal/sweep"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := down(ctx, settings.FromEnv()); err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
		os.Exit(1)
	}
}

func down(ctx context.Context, s settings.Settings) error {
	if s.Existing {
		return sweepNamespaces(ctx, s)
	}
	if err := preflight.Docker(ctx); err != nil {
		return err
	}
	// Only what the suite's record and labels show it made for this cluster
	// name, and only when no live run holds the name.
	err := cluster.Remove(ctx, s.ClusterName, os.Stdout)
	if errors.Is(err, cluster.ErrInUse) {
		// A live run holds the name: nothing was touched, and its
		// containers are there because it runs. The refusal is the whole
		// answer, in one line (a second "still there" line only misled).
		return err
	}
	left, lerr := docker.Run(ctx, "ps", "--all", "--quiet", "--filter", "label="+cluster.OwnerLabel+"="+s.ClusterName)
	if lerr == nil && left != "" {
		err = errors.Join(err, fmt.Errorf("containers labelled %s=%s are still there: %s", cluster.OwnerLabel, s.ClusterName, left))
	}
	return err
}

func sweepNamespaces(ctx context.Context, s settings.Settings) error {
	target, err := preflight.Kubeconfig(s.Kubeconfig, s.Context)
	if err != nil {
		return err
	}
	if _, err := preflight.Reachable(ctx, target, 10*time.Second); err != nil {
		return err
	}
	_, cs, err := kubeconfig.Clients(strings.Join(target.Files, string(filepath.ListSeparator)), target.Context)
	if err != nil {
		return err
	}
	// "down" is its own run: every namespace whose run on this host is over
	// is swept, none of another machine's.
	swept, err := sweep.Namespaces(ctx, cs, sweep.Self("down"), os.Stdout)
	if err == nil && len(swept) == 0 {
		fmt.Printf("[sweep] no namespaces left by earlier runs on context %s\n", target.Context)
	}
	return err
}
