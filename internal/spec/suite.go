// Package spec is how the suite runs the book's claims: the set-up that
// gives them a cluster, the registration of every chapter's claims as Ginkgo
// specs, the vocabulary their bodies speak (T: the book's steps, waits that
// stop when the cluster has answered), the cluster checks, and the causes
// each failure leaves for the verdict. Run builds the specs around one
// Suite value, which holds everything the run knows (settings, clients,
// the cluster, what it offers), and runs them.
package spec

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
	"github.com/kiamol-e2e/kiamol-e2e/internal/namespaces"
	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
	"github.com/kiamol-e2e/kiamol-e2e/internal/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
	"github.com/kiamol-e2e/kiamol-e2e/internal/sweep"
)

// Suite is everything one process of a run knows: the settings (read once,
// before the specs are built), the cluster the run is on, and the clients
// that reach it. Every spec and every word of the vocabulary receives it.
type Suite struct {
	settings settings.Settings
	timeouts settings.Timeouts

	// run is what process 1 found or made, handed to every process.
	run run
	// client is client-go's typed client; klient, e2e-framework's, waits
	// on objects with its conditions.
	client kubernetes.Interface
	klient *resources.Resources
	health *diagnose.Health
	spaces *namespaces.Keeper
	// created is the cluster this run made (process 1 only).
	created *cluster.Cluster
	// chapters are the chapters the run proves.
	chapters []*Chapter
}

// CleanupEntry is a clean-up left undone (report.CleanupEntry).
const CleanupEntry = report.CleanupEntry

// run is what process 1 tells every parallel process about the cluster.
type run struct {
	Kubeconfig string // a path, or a KUBECONFIG list on an existing cluster
	Context    string
	// Existing: the suite did not make this cluster in this run and must
	// leave it as it found it.
	Existing bool
	// Own: the cluster is the suite's own kind cluster on this machine
	// (made by this run, or kept by an earlier one): what the suite
	// controls must work there, so nothing is skipped for lack of access.
	Own         bool
	Reused      bool
	ClusterName string // the kind cluster's name, when it is one
	// Mode is airgap when the cluster is the suite's own air-gapped kind
	// cluster; online when this run made it from public images; "" for
	// someone else's cluster.
	Mode       images.Mode
	ModeReason string
	// Ownership says, for an existing cluster, whether and why it is the
	// suite's own or not, for the verdict's header.
	Ownership  string
	Owner      sweep.Owner
	Built      images.Built
	Kubectl    string // the kubectl binary
	KubectlDir string // kubectl's cache folder for this run
	// Lacks says, for each need the cluster does not offer, why.
	Lacks map[book.Need]string
}

// Run builds the suite's specs for the chapters and runs them with Ginkgo,
// in this process (one of several under ginkgo -p). s is the environment's
// settings, read once by the caller.
func Run(t GinkgoTestingT, s settings.Settings, chapters []*Chapter) bool {
	RegisterFailHandler(fail)
	timeouts, err := settings.TimeoutsFromEnv()
	if err != nil {
		// preflight refuses a bad factor before the suite starts
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
	}
	k := &Suite{settings: s, timeouts: timeouts, chapters: chapters}
	k.setUp()
	k.reportProgress()
	k.register(chapters)
	k.smoke()
	k.airgap()
	return RunSpecs(t, "kiamol")
}

// setUp gives the run its cluster: process 1 makes it (or checks the one
// the kubeconfig names) and tells the others; every process connects.
func (k *Suite) setUp() {
	SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
		s := k.settings
		r := run{Owner: sweep.Self(randomID()), Existing: s.Existing}
		failOn(preflight.Manifests(Books(k.chapters), s.Manifests))
		var err error
		r.Kubectl, err = kubectlBinary(ctx, s.Kubectl)
		failOn(err)
		cache, err := images.CacheDir()
		Expect(err).NotTo(HaveOccurred())
		r.KubectlDir = filepath.Join(cache, "kubectl-cache")
		if s.Existing {
			k.useExisting(ctx, &r)
		} else {
			k.makeCluster(ctx, &r)
		}
		k.connect(r)
		r.Lacks = k.lacks(ctx, r)
		k.run.Lacks = r.Lacks

		swept, err := sweep.Namespaces(ctx, k.client, r.Owner, GinkgoWriter)
		if err != nil || len(swept) > 0 {
			AddReportEntry("sweep", fmt.Sprintf("namespaces left by ended runs, deleted: %v %v", swept, err), ReportEntryVisibilityAlways)
		}
		info, err := clusterinfo.Read(ctx, k.client, r.Context, k.klient.GetConfig().Host)
		Expect(err).NotTo(HaveOccurred(), "read the cluster's version and nodes")
		info.Existing, info.Images, info.Reused, info.Ownership = r.Existing, string(r.Mode), r.Reused, r.Ownership
		info.Inputs = k.inputs()
		info.Kubectl = k.kubectlVersion(ctx)
		if r.Own {
			// A kind node is a container on this machine: its kubelet runs
			// on this kernel's cgroups, whatever it could be asked.
			info.NodesShareHostCgroups(nodehost.HostCgroupV1())
		}
		// Say first what the cluster itself shows of being broken: every
		// claim that then fails will say so too, and stop waiting early.
		// Only an established problem is worth a "cluster broken" line: a
		// node that is NotReady for a moment is not one.
		info.Health = k.health.Established(ctx).String()
		if info.Health != "" {
			AddReportEntry(clusterinfo.HealthEntryName, info.Health, ReportEntryVisibilityAlways)
		}
		AddReportEntry(clusterinfo.EntryName, info.JSON())

		raw, err := json.Marshal(r)
		Expect(err).NotTo(HaveOccurred())
		return raw
	}, func(ctx SpecContext, raw []byte) {
		var r run
		Expect(json.Unmarshal(raw, &r)).To(Succeed())
		if k.client == nil {
			k.connect(r)
		}
	}, NodeTimeout(k.timeouts.ClusterUp+k.timeouts.Kubectl))

	SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
		if k.created != nil && !k.created.Keep {
			// The cluster goes, and its namespaces with it.
			Expect(k.created.Down(ctx, false)).To(Succeed(), "delete the cluster")
			return
		}
		// A cluster that stays (existing, or kept) must be left as it was
		// found: the specs deleted their namespaces as they ended; this
		// catches one whose spec was interrupted before its cleanup was
		// registered. The run does not wait for the namespace controller
		// (measured: 5-6 s after the last spec) to finish: it says what is
		// still going, and the cluster finishes it on its own; a later
		// run's sweep removes any that stay.
		if k.client != nil {
			Expect(sweep.DeleteRun(ctx, k.client, k.run.Owner.RunID)).To(Succeed(), "delete the run's namespaces")
			if left, err := sweep.Left(ctx, k.client, k.run.Owner.RunID); err == nil && len(left) > 0 {
				AddReportEntry(CleanupEntry, fmt.Sprintf("%d namespace(s) of this run deleted and still terminating at its end (%s): the cluster finishes removing them; a later run's sweep removes any that stay", len(left), strings.Join(left, ", ")), ReportEntryVisibilityAlways)
			}
		}
		if k.created != nil {
			Expect(k.created.Down(ctx, false)).To(Succeed())
		}
	}, NodeTimeout(k.timeouts.ClusterDown+k.timeouts.Kubectl))
}

// connect makes this process's clients for the run's cluster.
func (k *Suite) connect(r run) {
	GinkgoHelper()
	k.run = r
	cfg, cs, err := kubeconfig.Clients(r.Kubeconfig, r.Context)
	Expect(err).NotTo(HaveOccurred())
	k.client = cs
	k.klient, err = resources.New(rest.CopyConfig(cfg))
	Expect(err).NotTo(HaveOccurred(), "e2e-framework's client for the cluster")
	k.health = k.newHealth()
	k.spaces = &namespaces.Keeper{Clientset: cs, Owner: r.Owner, Artifacts: k.settings.Artifacts}
}

// newHealth watches the cluster under test; on the suite's own air-gapped
// cluster it also watches the local registry, whose loss fails every pull.
func (k *Suite) newHealth() *diagnose.Health {
	h := diagnose.NewHealth(k.client)
	if k.run.Own && k.run.Mode == images.Airgap {
		registry := cluster.NamesFor(k.run.ClusterName).Registry
		h.Registry = func(ctx context.Context) string {
			state, err := docker.Run(ctx, "inspect", "--format", "{{.State.Status}}", registry)
			if err != nil || state != "running" {
				return fmt.Sprintf("the local registry %s is not running (%s): no image can be pulled", registry, strings.TrimSpace(state+" "+errText(err)))
			}
			return ""
		}
	}
	return h
}

// useExisting points the run at the cluster KUBECONFIG names. It creates and
// builds nothing; it only finds out whether that cluster is the suite's own
// kind cluster, kept from an earlier run, whose claims then must not skip.
func (k *Suite) useExisting(ctx context.Context, r *run) {
	s := k.settings
	target, err := preflight.Kubeconfig(s.Kubeconfig, s.Context)
	failOn(err)
	_, err = preflight.Reachable(ctx, target, 10*time.Second)
	failOn(err)
	r.Kubeconfig, r.Context = strings.Join(target.Files, string(filepath.ListSeparator)), target.Context
	r.ModeReason = "existing cluster: context " + target.Context
	own := cluster.OwnershipOf(ctx, target.Context)
	r.ClusterName, r.Ownership = own.Name, own.Why
	r.ModeReason += " (" + own.Why + ")"
	if own.Own {
		rec := own.Record
		r.Own, r.Mode = true, rec.Mode
		if rec.Mode == images.Airgap {
			flavor, err := images.FlavorByID(rec.Flavor)
			failOn(err)
			cache, err := images.CacheDir()
			Expect(err).NotTo(HaveOccurred())
			r.Built, err = images.ReadBuiltOf(cache, flavor)
			failOn(err)
		}
	}
	AddReportEntry("cluster under test", r.ModeReason, ReportEntryVisibilityAlways)
}

// makeCluster brings up the suite's own kind cluster.
func (k *Suite) makeCluster(ctx context.Context, r *run) {
	s := k.settings
	choice, err := images.Resolve(ctx)
	failOn(err)
	AddReportEntry("images", string(choice.Mode)+": "+choice.Reason, ReportEntryVisibilityAlways)
	flavor, nodeImage, err := cluster.Choose(choice.Mode == images.Airgap, s.Cluster, s.K8sVersion, s.NodeImage)
	failOn(err)
	cache, err := images.CacheDir()
	Expect(err).NotTo(HaveOccurred())
	r.ClusterName, r.Mode, r.ModeReason, r.Own = s.ClusterName, choice.Mode, choice.Reason, true
	r.Kubeconfig = s.KubeconfigOut
	if r.Kubeconfig == "" {
		r.Kubeconfig = filepath.Join(cache, s.ClusterName+".kubeconfig")
	}
	k.created, err = cluster.Up(ctx, cluster.Settings{
		Name:           s.ClusterName,
		RunID:          r.Owner.RunID,
		Images:         choice,
		Flavor:         flavor,
		NodeImage:      nodeImage,
		KubeconfigPath: r.Kubeconfig,
		Nodes:          s.Nodes,
		Keep:           s.Keep,
		// kind returns once the control plane is up; the node turns Ready (its
		// pod CIDR, then the CNI) while the specs start: their Pods wait for
		// it, and "has every node Ready" checks it.
		WaitForReady: 0,
		Log:          GinkgoWriter,
		Evidence:     filepath.Join(s.Artifacts, "failures", "cluster-create"),
	})
	failOn(err)
	r.Built, r.Reused = k.created.Built, k.created.Reused
	r.Context = "kind-" + s.ClusterName
	if r.Reused {
		AddReportEntry("cluster under test", "reused: kind cluster "+s.ClusterName+" kept by an earlier run", ReportEntryVisibilityAlways)
	}
}

// inputs is what the run substitutes for the book's own, for the verdict's
// header.
func (k *Suite) inputs() *clusterinfo.Inputs {
	s := k.settings
	in := &clusterinfo.Inputs{ReplaceImages: s.ReplaceImages, TimeoutScale: k.timeouts.Scale}
	if s.Manifests != "" {
		hash, err := book.ManifestsHash(Books(k.chapters), s.Manifests)
		failOn(err)
		in.Manifests, in.ManifestsHash = s.Manifests, hash
	}
	if s.SelfHeal != settings.SelfHealAuto {
		in.SelfHeal = s.SelfHeal
	}
	return in
}

// kubectlBinary is the kubectl the Makefile or the kiamol-e2e binary gives
// (E2E_KUBECTL), or one built here from the same module when the suite runs
// on its own.
func kubectlBinary(ctx context.Context, given string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("E2E_KUBECTL=%s: %w; run 'make tools'", given, err)
		}
		return given, nil
	}
	// This checkout's own (another checkout's code may differ), reused by
	// its later runs.
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	bin := filepath.Join(os.TempDir(), "kiamol-e2e-kubectl-"+hex.EncodeToString(sum[:6]), "kubectl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kubectl")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build kubectl (go build ./cmd/kubectl): %v: %s", err, out)
	}
	return bin, nil
}

// kubectlVersion is the version of the kubectl that runs the book's
// commands, "" when it does not say.
func (k *Suite) kubectlVersion(ctx context.Context) string {
	out, err := k.kube().Run(ctx, "version", "--client", "--output=json")
	if err != nil {
		return ""
	}
	var v struct {
		ClientVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"clientVersion"`
	}
	if json.Unmarshal([]byte(out.Stdout), &v) != nil {
		return ""
	}
	return v.ClientVersion.GitVersion
}

// failOn fails set-up with a bad input's one line, not an error dump.
func failOn(err error) {
	GinkgoHelper()
	if err != nil {
		failBecause(LayerSuite, fmt.Sprintf("kiamol-e2e: %v", err))
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// kube is kubectl pointed at the cluster under test, in no namespace yet.
func (k *Suite) kube() kubectl.Kubectl {
	return kubectl.Kubectl{Binary: k.run.Kubectl, Kubeconfig: k.run.Kubeconfig, Context: k.run.Context, CacheDir: k.run.KubectlDir, Timeout: k.timeouts.Kubectl}
}
