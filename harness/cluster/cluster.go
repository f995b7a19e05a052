// Package cluster brings the suite's kind cluster up and down through kind's
// Go library: in air-gapped mode on its own Docker network, behind the egress
// guard, with the local registry started first; online with kind's defaults.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/kiamol-e2e/kiamol-e2e/harness/docker"
	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
)

// Settings say which cluster to make and what to keep.
type Settings struct {
	Name           string // kind cluster name
	Images         images.Choice
	KubeconfigPath string // written with mode 0600
	Keep           bool   // leave the cluster (and registry) running at the end
	NodeImage      string // online mode: "" is kind's default
	WaitForReady   time.Duration
	Log            io.Writer
}

// Cluster is a running cluster the suite may use.
type Cluster struct {
	Settings
	Built  images.Built // air-gapped mode only
	Reused bool         // a kept cluster from an earlier run
}

// nodeLabel is the label kind puts on its node containers.
const nodeLabel = "io.x-k8s.kind.cluster"

// kindConfig is the cluster kind creates in air-gapped mode. The default CNI
// (kindnetd) and storage images do not exist here: the node image carries a
// static bridge CNI instead, and pods that inherit the node's DNS get a
// resolver that cannot leave the machine.
const airgapKindConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  ipFamily: ipv4
  disableDefaultCNI: true
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  resolvConf: /kind/pod-resolv.conf
nodes:
- role: control-plane
`

const onlineKindConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
`

func provider(log io.Writer) *kindcluster.Provider {
	return kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(newLogger(log)))
}

// Up creates the cluster, or reuses one kept from an earlier run when Keep
// is set. Whatever it started is removed again if it fails.
func Up(ctx context.Context, s Settings) (_ *Cluster, err error) {
	if err := docker.Ping(ctx); err != nil {
		return nil, fmt.Errorf("%w; start it (on Debian as root: make host), or use EXISTING=1 with a cluster of your own", err)
	}
	c := &Cluster{Settings: s}
	p := provider(s.Log)
	existing, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("cannot list kind clusters: %w", err)
	}
	if s.Images.Mode == images.Airgap {
		cache, err := images.CacheDir()
		if err != nil {
			return nil, err
		}
		if c.Built, err = images.ReadBuilt(cache); err != nil {
			return nil, err
		}
	}
	if slices.Contains(existing, s.Name) {
		if s.Keep {
			fmt.Fprintf(s.Log, "[cluster] reusing kept cluster %q\n", s.Name)
			c.Reused = true
			if s.Images.Mode == images.Airgap {
				if err := c.ensureAirgapNetwork(ctx); err != nil {
					return nil, err
				}
				if !docker.Exists(ctx, "container", images.RegistryContainer) {
					if err := startRegistry(ctx, c.Built, s.Name); err != nil {
						return nil, err
					}
				}
			}
			return c, c.writeKubeconfig(p)
		}
		fmt.Fprintf(s.Log, "[cluster] deleting leftover cluster %q from an earlier run\n", s.Name)
		if err := p.Delete(s.Name, ""); err != nil {
			return nil, fmt.Errorf("cannot delete leftover cluster %q: %w", s.Name, err)
		}
	}
	defer func() {
		if err != nil {
			_ = c.Down(context.WithoutCancel(ctx), true)
		}
	}()

	raw, image := onlineKindConfig, s.NodeImage
	if s.Images.Mode == images.Airgap {
		if err := c.ensureAirgapNetwork(ctx); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := startRegistry(ctx, c.Built, s.Name); err != nil {
			return nil, err
		}
		fmt.Fprintf(s.Log, "[cluster] local registry %s serves %d images (%s)\n", images.RegistryHost(), len(c.Built.Images), time.Since(start).Round(time.Millisecond))
		raw, image = airgapKindConfig, c.Built.NodeImage
		// kind reads the network from its environment; it is this process's alone.
		os.Setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", images.NetworkName)
		defer os.Unsetenv("KIND_EXPERIMENTAL_DOCKER_NETWORK")
	}
	if err := os.MkdirAll(filepath.Dir(s.KubeconfigPath), 0o700); err != nil {
		return nil, err
	}
	opts := []kindcluster.CreateOption{
		kindcluster.CreateWithRawConfig([]byte(raw)),
		kindcluster.CreateWithKubeconfigPath(s.KubeconfigPath),
		kindcluster.CreateWithWaitForReady(s.WaitForReady),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	}
	if image != "" {
		opts = append(opts, kindcluster.CreateWithNodeImage(image))
	}
	start := time.Now()
	fmt.Fprintf(s.Log, "[cluster] creating kind cluster %q (%s images, node image %s)\n", s.Name, s.Images.Mode, orDefault(image, "kind's default"))
	if err := createCancellable(ctx, p, s.Name, opts); err != nil {
		return nil, fmt.Errorf("kind could not create cluster %q: %w", s.Name, err)
	}
	fmt.Fprintf(s.Log, "[cluster] cluster %q ready in %s; kubeconfig %s\n", s.Name, time.Since(start).Round(time.Second), s.KubeconfigPath)
	return c, os.Chmod(s.KubeconfigPath, 0o600)
}

// createCancellable runs kind's create, which takes no context. When ctx
// ends first, it deletes the nodes from under kind until kind's create gives
// up and returns: returning earlier would let create start a node after the
// caller's cleanup had looked for one.
func createCancellable(ctx context.Context, p *kindcluster.Provider, name string, opts []kindcluster.CreateOption) error {
	done := make(chan error, 1)
	go func() { done <- p.Create(name, opts...) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	giveUp := time.After(createGiveUp)
	for {
		_ = p.Delete(name, "")
		select {
		case <-done:
			return ctx.Err()
		case <-giveUp:
			return fmt.Errorf("%w (kind's create had not returned %s later)", ctx.Err(), createGiveUp)
		case <-time.After(time.Second):
		}
	}
}

// createGiveUp bounds the wait for an interrupted create: Ginkgo's own
// grace period for an interrupted node is 30 s.
const createGiveUp = 25 * time.Second

func (c *Cluster) writeKubeconfig(p *kindcluster.Provider) error {
	if err := os.MkdirAll(filepath.Dir(c.KubeconfigPath), 0o700); err != nil {
		return err
	}
	if err := p.ExportKubeConfig(c.Name, c.KubeconfigPath, false); err != nil {
		return err
	}
	return os.Chmod(c.KubeconfigPath, 0o600)
}

// ensureAirgapNetwork makes the cluster's own bridge: IPv4 only, no
// masquerading, a fixed name the egress guard drops forwarding from.
func (c *Cluster) ensureAirgapNetwork(ctx context.Context) error {
	if err := ensureGuard(ctx, images.BridgeName); err != nil {
		return fmt.Errorf("air-gapped mode needs the egress guard: %w", err)
	}
	if docker.Exists(ctx, "network", images.NetworkName) {
		return nil
	}
	_, err := docker.Run(ctx, "network", "create", "--driver", "bridge",
		"--label", images.RunLabel+"="+c.Name,
		"--opt", "com.docker.network.bridge.name="+images.BridgeName,
		"--opt", "com.docker.network.bridge.enable_ip_masquerade=false",
		images.NetworkName)
	return err
}

// Down deletes the cluster and everything Up started, unless Keep was asked
// for and force is false.
func (c *Cluster) Down(ctx context.Context, force bool) error {
	if c.Keep && !force {
		fmt.Fprintf(c.Log, "[cluster] keeping cluster %q (kubeconfig %s)\n", c.Name, c.KubeconfigPath)
		return nil
	}
	var errs []error
	start := time.Now()
	if err := provider(c.Log).Delete(c.Name, ""); err != nil {
		errs = append(errs, fmt.Errorf("kind delete %q: %w", c.Name, err))
	}
	if c.Images.Mode == images.Airgap {
		errs = append(errs, stopRegistry(ctx))
		if docker.Exists(ctx, "network", images.NetworkName) {
			if _, err := docker.Run(ctx, "network", "rm", images.NetworkName); err != nil {
				errs = append(errs, err)
			}
		}
		errs = append(errs, removeGuard(ctx, images.BridgeName))
	}
	_ = os.Remove(c.KubeconfigPath)
	fmt.Fprintf(c.Log, "[cluster] deleted cluster %q in %s\n", c.Name, time.Since(start).Round(100*time.Millisecond))
	return errors.Join(errs...)
}

// NodeContainers lists the cluster's node containers.
func NodeContainers(ctx context.Context, name string) ([]string, error) {
	out, err := docker.Run(ctx, "ps", "--all", "--filter", "label="+nodeLabel+"="+name, "--format", "{{.Names}}")
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Fields(out), nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
