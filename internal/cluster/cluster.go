// Package cluster brings the suite's kind cluster up and down through kind's
// Go library: in air-gapped mode on its own Docker network, behind the egress
// guard, with the local registry started first; online with kind's defaults.
//
// It only ever removes what it can prove the suite made: a live run holds
// its cluster's name (Claim), every container and network carries
// OwnerLabel, kind's nodes are listed in the suite's Record, and kubeconfig
// files get back exactly what they held.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"

	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"
	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
)

// Settings say which cluster to make and what to keep.
type Settings struct {
	Name           string // kind cluster name
	RunID          string // the run making it, for the claim's holder line
	Images         images.Choice
	Flavor         images.Flavor // the air-gapped node's kind (default: containerd)
	KubeconfigPath string        // kind merges the cluster's entries into it
	Keep           bool          // leave the cluster (and registry) running at the end
	NodeImage      string        // "" is kind's default (online) or the built image (air-gapped)
	// Nodes is how many nodes: one control plane, the rest workers (the
	// chapter's Pods then run on workers, as on most real clusters).
	Nodes        int
	WaitForReady time.Duration
	Log          io.Writer
	Evidence     string // where a failed create leaves the nodes' journals
	// Configure changes the kind configuration before the create: a test's
	// cluster of another shape (a hardened API server). nil for the suite's.
	Configure func(*v1alpha4.Cluster)
}

// Cluster is a running cluster the suite may use.
type Cluster struct {
	Settings
	Names  Names
	Built  images.Built // air-gapped mode only
	Reused bool         // a kept cluster from an earlier run
	claim  *Claim
	record Record
}

// nodeLabel is the label kind puts on its node containers.
const nodeLabel = "io.x-k8s.kind.cluster"

func provider(log io.Writer) *kindcluster.Provider {
	return kindcluster.NewProvider(kindcluster.ProviderWithDocker(), kindcluster.ProviderWithLogger(newLogger(log)))
}

// Up creates the cluster, or reuses one kept from an earlier run when Keep
// is set. Whatever it started is removed again if it fails.
func Up(ctx context.Context, s Settings) (_ *Cluster, err error) {
	if err := docker.Ping(ctx); err != nil {
		return nil, fmt.Errorf("%w; start it (on Debian as root: make host), or use EXISTING=1 with a cluster of your own", err)
	}
	claim, err := Take(s.Name, s.RunID)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Settings: s, Names: NamesFor(s.Name), claim: claim}
	defer func() {
		if err != nil {
			claim.Release()
		}
	}()
	airgapped := s.Images.Mode == images.Airgap
	if airgapped {
		cache, err := images.CacheDir()
		if err != nil {
			return nil, err
		}
		if c.Built, err = images.ReadBuiltOf(cache, c.flavor()); err != nil {
			return nil, err
		}
		if c.NodeImage == "" {
			// An explicit one is a test's (preflight refuses NODE_IMAGE
			// here): a node image made from the built one.
			c.NodeImage = c.Built.NodeImage
		}
	}

	rec, haveRecord, err := readRecord(s.Name)
	if err != nil {
		return nil, err
	}
	nodes, err := nodesOf(ctx, s.Name)
	if err != nil {
		return nil, err
	}
	if len(nodes) > 0 && !(haveRecord && rec.owns(nodes)) {
		return nil, fmt.Errorf("a kind cluster named %q exists on this machine that kiamol-e2e did not make (or made with another KIAMOL_E2E_CACHE): the suite will not touch it; set E2E_CLUSTER_NAME to another name", s.Name)
	}
	if len(nodes) > 0 && s.Keep {
		return c, c.reuse(ctx, rec)
	}
	if haveRecord {
		// A leftover of an earlier run of ours (killed, or kept and now not
		// asked for): no live run holds the name, so it is ours to remove.
		fmt.Fprintf(s.Log, "[cluster] removing cluster %q left by an earlier run\n", s.Name)
		c.record = rec
		if err := c.teardown(ctx); err != nil {
			return nil, fmt.Errorf("cannot remove the leftover cluster %q: %w", s.Name, err)
		}
	}
	defer func() {
		if err != nil {
			_ = c.teardown(context.WithoutCancel(ctx))
		}
	}()
	return c, c.create(ctx)
}

func (c *Cluster) create(ctx context.Context) error {
	c.record = Record{Name: c.Name, Mode: c.Images.Mode, Flavor: c.flavor().ID(), NodeImage: c.NodeImage, NodeCount: c.nodes(), Creating: true, Since: time.Now()}
	w, err := kubeconfig.Prepare(c.KubeconfigPath, kindContext(c.Name))
	if err != nil {
		return err
	}
	c.record.addKubeconfig(w)
	if err := c.record.write(); err != nil {
		return err
	}

	cfg, err := KindConfig(c.configInput())
	if err != nil {
		return err
	}
	if c.Configure != nil {
		c.Configure(cfg)
	}
	if c.Images.Mode == images.Airgap {
		if err := c.ensureNetwork(ctx); err != nil {
			return err
		}
		start := time.Now()
		if err := startRegistry(ctx, c.Built, c.Names); err != nil {
			return err
		}
		fmt.Fprintf(c.Log, "[cluster] local registry %s serves %d images (%s)\n", c.Names.Registry, len(c.Built.Images), time.Since(start).Round(time.Millisecond))
		// kind reads the network from its environment; it is this process's alone.
		os.Setenv("KIND_EXPERIMENTAL_DOCKER_NETWORK", c.Names.Network)
		defer os.Unsetenv("KIND_EXPERIMENTAL_DOCKER_NETWORK")
	}
	if err := os.MkdirAll(filepath.Dir(c.KubeconfigPath), 0o700); err != nil {
		return err
	}
	opts := []kindcluster.CreateOption{
		kindcluster.CreateWithV1Alpha4Config(cfg),
		kindcluster.CreateWithKubeconfigPath(c.KubeconfigPath),
		kindcluster.CreateWithWaitForReady(c.WaitForReady),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
		// Kept on failure for createEvidence; the caller's teardown removes them.
		kindcluster.CreateWithRetain(true),
	}
	if c.NodeImage != "" {
		opts = append(opts, kindcluster.CreateWithNodeImage(c.NodeImage))
	}
	start := time.Now()
	fmt.Fprintf(c.Log, "[cluster] creating kind cluster %q (%s images, node image %s)\n", c.Name, c.Images.Mode, orDefault(c.NodeImage, "kind's default"))
	if err := createCancellable(ctx, provider(c.Log), c.Name, c.KubeconfigPath, opts); err != nil {
		cause := ""
		if ctx.Err() == nil {
			cause = createEvidence(context.WithoutCancel(ctx), c.Name, c.Evidence)
		}
		return createFailed(c.Name, err, cause)
	}
	if c.Images.Mode == images.Airgap {
		if err := c.dnsWithoutUpstream(ctx); err != nil {
			return err
		}
	}
	if c.Images.Mode == images.Airgap && c.nodes() > 1 {
		if err := c.grantNodesReadNodes(ctx); err != nil {
			return err
		}
	}
	nodes, err := nodesOf(ctx, c.Name)
	if err != nil {
		return err
	}
	c.record.Creating = false
	for _, n := range nodes {
		c.record.Nodes = append(c.record.Nodes, n.ID)
	}
	if err := c.record.write(); err != nil {
		return err
	}
	fmt.Fprintf(c.Log, "[cluster] cluster %q ready in %s; kubeconfig %s\n", c.Name, time.Since(start).Round(time.Second), c.KubeconfigPath)
	if w.Created {
		return os.Chmod(c.KubeconfigPath, 0o600)
	}
	return nil
}

// reuse takes over a cluster a run kept (KEEP=1), if it was made the way
// this run asks for.
func (c *Cluster) reuse(ctx context.Context, rec Record) error {
	if rec.Mode != c.Images.Mode || rec.NodeImage != c.NodeImage || rec.nodeCount() != c.nodes() {
		return fmt.Errorf("the kept cluster %q was made with %s images, node image %s and %d node(s), but this run asks for %s images, node image %s and %d node(s): run 'make down' to delete it, or drop KEEP=1 to replace it",
			c.Name, rec.Mode, orDefault(rec.NodeImage, "kind's default"), rec.nodeCount(), c.Images.Mode, orDefault(c.NodeImage, "kind's default"), c.nodes())
	}
	fmt.Fprintf(c.Log, "[cluster] reusing kept cluster %q (%s images, node image %s)\n", c.Name, rec.Mode, orDefault(rec.NodeImage, "kind's default"))
	c.Reused, c.record = true, rec
	if c.Images.Mode == images.Airgap {
		if err := c.ensureNetwork(ctx); err != nil {
			return err
		}
		if owner, ok := labelOf(ctx, "container", c.Names.Registry); !ok || owner != c.Name {
			if err := startRegistry(ctx, c.Built, c.Names); err != nil {
				return err
			}
		}
	}
	if !c.record.hasKubeconfig(c.KubeconfigPath) {
		w, err := kubeconfig.Prepare(c.KubeconfigPath, kindContext(c.Name))
		if err != nil {
			return err
		}
		c.record.addKubeconfig(w)
		if err := c.record.write(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(c.KubeconfigPath), 0o700); err != nil {
		return err
	}
	return provider(c.Log).ExportKubeConfig(c.Name, c.KubeconfigPath, false)
}

// createCancellable runs kind's create, which takes no context. When ctx
// ends first, it deletes the nodes from under kind until kind's create gives
// up and returns: returning earlier would let create start a node after the
// caller's cleanup had looked for one.
func createCancellable(ctx context.Context, p *kindcluster.Provider, name, kubeconfigPath string, opts []kindcluster.CreateOption) error {
	done := make(chan error, 1)
	go func() { done <- p.Create(name, opts...) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	returned := func(context.Context) (bool, error) {
		select {
		case <-done:
			return true, nil
		default:
		}
		_ = deleteNodes(ctx, p, name, kubeconfigPath, io.Discard)
		return false, nil
	}
	if err := wait.PollUntilContextTimeout(context.WithoutCancel(ctx), time.Second, createGiveUp, true, returned); err != nil {
		return fmt.Errorf("%w (kind's create had not returned %s later)", ctx.Err(), createGiveUp)
	}
	return ctx.Err()
}

// createGiveUp bounds the wait for an interrupted create: Ginkgo's own
// grace period for an interrupted node is 30 s.
const createGiveUp = 25 * time.Second

// ensureNetwork makes the cluster's own bridge: IPv4 only, no
// masquerading, a name the egress guard drops forwarding from.
func (c *Cluster) ensureNetwork(ctx context.Context) error {
	if err := ensureGuard(ctx, c.Names.Bridge); err != nil {
		return fmt.Errorf("air-gapped mode needs the egress guard: %w", err)
	}
	switch owner, ok := labelOf(ctx, "network", c.Names.Network); {
	case ok && owner == c.Name:
		return nil
	case ok || docker.Exists(ctx, "network", c.Names.Network):
		return fmt.Errorf("a Docker network %q exists that this cluster did not make: the suite will not use it; remove it, or set E2E_CLUSTER_NAME to another name", c.Names.Network)
	}
	_, err := docker.Run(ctx, "network", "create", "--driver", "bridge",
		"--label", OwnerLabel+"="+c.Name,
		"--opt", "com.docker.network.bridge.name="+c.Names.Bridge,
		"--opt", "com.docker.network.bridge.enable_ip_masquerade=false",
		c.Names.Network)
	return err
}

// labelOf reads OwnerLabel of a container or network; ok is false when
// there is no such object or it has no such label.
func labelOf(ctx context.Context, kind, name string) (string, bool) {
	format := `{{index .Config.Labels "` + OwnerLabel + `"}}`
	if kind == "network" {
		format = `{{index .Labels "` + OwnerLabel + `"}}`
	}
	out, err := docker.Run(ctx, kind, "inspect", "--format", format, name)
	if err != nil || out == "" || out == "<no value>" {
		return "", false
	}
	return out, true
}

// Down deletes the cluster and everything Up started, unless Keep was asked
// for and force is false; either way the run's claim on the name ends.
func (c *Cluster) Down(ctx context.Context, force bool) error {
	defer c.claim.Release()
	if c.Keep && !force {
		fmt.Fprintf(c.Log, "[cluster] keeping cluster %q (kubeconfig %s)\n", c.Name, c.KubeconfigPath)
		return nil
	}
	start := time.Now()
	err := c.teardown(ctx)
	fmt.Fprintf(c.Log, "[cluster] deleted cluster %q in %s\n", c.Name, time.Since(start).Round(100*time.Millisecond))
	return err
}

// teardown removes the cluster's nodes (as recorded), its registry and
// network (as labelled), its egress guard, and its kubeconfig entries.
func (c *Cluster) teardown(ctx context.Context) error {
	var errs []error
	errs = append(errs, c.record.forgetKubeconfigs())
	// kind also edits a kubeconfig on delete: point it at the file the
	// suite wrote (already cleaned above), never at the user's default.
	kindPath := c.KubeconfigPath
	if len(c.record.Kubeconfigs) > 0 {
		kindPath = c.record.Kubeconfigs[0].Path
	}
	if kindPath == "" {
		kindPath = filepath.Join(os.TempDir(), "kiamol-e2e-none.kubeconfig")
	}
	if err := deleteNodes(ctx, provider(c.Log), c.Name, kindPath, c.Log); err != nil {
		errs = append(errs, deleteFailed(c.Name, err))
	}
	if owner, ok := labelOf(ctx, "container", c.Names.Registry); ok && owner == c.Name {
		errs = append(errs, stopRegistry(ctx, c.Names))
	}
	if owner, ok := labelOf(ctx, "network", c.Names.Network); ok && owner == c.Name {
		if _, err := docker.Run(ctx, "network", "rm", c.Names.Network); err != nil {
			errs = append(errs, err)
		}
	}
	if c.record.Mode == images.Airgap || c.Images.Mode == images.Airgap {
		errs = append(errs, removeGuard(ctx, c.Names.Bridge))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return removeRecord(c.Name)
}

// Remove deletes what a kept or killed run left of cluster name: only if no
// live run claims it, and only what the suite's record and labels show it
// made. It says what it did on log.
func Remove(ctx context.Context, name string, log io.Writer) error {
	claim, err := Take(name, "down")
	if err != nil {
		return err
	}
	defer claim.Release()
	rec, haveRecord, err := readRecord(name)
	if err != nil {
		return err
	}
	nodes, err := nodesOf(ctx, name)
	if err != nil {
		return err
	}
	if len(nodes) > 0 && !(haveRecord && rec.owns(nodes)) {
		return fmt.Errorf("the kind cluster %q on this machine is not one kiamol-e2e made: not touched", name)
	}
	c := &Cluster{Settings: Settings{Name: name, Log: log}, Names: NamesFor(name), record: rec}
	if !haveRecord {
		// Nothing recorded: still take down a labelled registry, network
		// and this cluster's guard, which only the suite makes.
		c.record = Record{Name: name, Mode: images.Airgap}
	}
	start := time.Now()
	if err := c.teardown(ctx); err != nil {
		return err
	}
	fmt.Fprintf(log, "[cluster] removed cluster %q and what the suite made for it (%s)\n", name, time.Since(start).Round(100*time.Millisecond))
	return nil
}

func kindContext(name string) string { return "kind-" + name }

func (c *Cluster) nodes() int { return max(c.Settings.Nodes, 1) }

func (c *Cluster) flavor() images.Flavor {
	if c.Flavor.Name == "" {
		return images.Default
	}
	return c.Flavor
}

// configInput is what decides this cluster's kind configuration.
func (c *Cluster) configInput() ConfigInput {
	in := ConfigInput{Airgap: c.Images.Mode == images.Airgap, Nodes: c.nodes(), HostCgroupV1: nodehost.HostCgroupV1()}
	if in.Airgap {
		in.Flavor = c.flavor()
	} else if f, ok := images.FlavorOfNodeImage(c.NodeImage); ok {
		in.Flavor = f
	}
	return in
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// ServeAirgap gives a cluster that someone else makes under name (a test's
// stand-in for a reader's own kind cluster) what the suite's air-gapped
// clusters have besides their nodes: the guarded Docker network its nodes
// join (KIND_EXPERIMENTAL_DOCKER_NETWORK=Names.Network) and the local
// registry on it. Nothing records the nodes as the suite's: Remove takes
// the network, registry and guard down once they are gone, and refuses
// while they are there.
func ServeAirgap(ctx context.Context, name string, built images.Built) (Names, error) {
	c := &Cluster{Settings: Settings{Name: name}, Names: NamesFor(name)}
	if err := c.ensureNetwork(ctx); err != nil {
		return c.Names, err
	}
	return c.Names, startRegistry(ctx, built, c.Names)
}
