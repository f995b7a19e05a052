// Command down removes what the suite leaves running on purpose (KEEP=1) or
// by accident (a killed run): the suite's kind cluster, the local registry,
// the cluster network and the host's egress guard; with EXISTING=1, the
// namespaces earlier runs on this machine left on that cluster. Everything it
// touches is found by the names and labels the suite gives it.
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

	"github.com/kiamol-e2e/kiamol-e2e/harness/kubeconfig"

	"github.com/kiamol-e2e/kiamol-e2e/harness/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/harness/docker"
	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
	"github.com/kiamol-e2e/kiamol-e2e/harness/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/harness/settings"
	"github.com/kiamol-e2e/kiamol-e2e/harness/sweep"
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
	cache, err := images.CacheDir()
	if err != nil {
		return err
	}
	kubeconfig := s.KubeconfigOut
	if kubeconfig == "" {
		kubeconfig = filepath.Join(cache, s.ClusterName+".kubeconfig")
	}
	// Air-gapped mode is asked for so that Down also removes the registry,
	// network and guard, each only if it is there.
	c := &cluster.Cluster{Settings: cluster.Settings{
		Name: s.ClusterName, Images: images.Choice{Mode: images.Airgap}, KubeconfigPath: kubeconfig, Log: os.Stdout,
	}}
	err = c.Down(ctx, true)
	left, lerr := docker.Run(ctx, "ps", "--all", "--quiet", "--filter", "label="+images.RunLabel)
	if lerr == nil && left != "" {
		err = errors.Join(err, fmt.Errorf("containers labelled %s are still there: %s", images.RunLabel, left))
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
