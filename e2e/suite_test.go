package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/harness/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/harness/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/harness/docker"
	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
	"github.com/kiamol-e2e/kiamol-e2e/harness/kubeconfig"
	"github.com/kiamol-e2e/kiamol-e2e/harness/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/harness/settings"
	"github.com/kiamol-e2e/kiamol-e2e/harness/sweep"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/kubectl"
)

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
	Owner      sweep.Owner
	Artifacts  string
	Manifests  string
	Built      images.Built
	Kubectl    string // the kubectl binary
	KubectlDir string // kubectl's cache folder for this run
}

var (
	the        run
	restConfig *rest.Config
	clientset  kubernetes.Interface
	health     *diagnose.Health
	timeouts   = mustTimeouts()
	created    *cluster.Cluster // process 1 only
	replace    = settings.FromEnv().ReplaceImages
)

func TestKiamol(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kiamol")
}

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	s := settings.FromEnv()
	r := run{Owner: sweep.Self(randomID()), Artifacts: s.Artifacts, Manifests: s.Manifests, Existing: s.Existing}
	failOn(preflight.Manifests(s.Manifests))
	var err error
	r.Kubectl, err = kubectlBinary(ctx, s.Kubectl)
	failOn(err)
	cache, err := images.CacheDir()
	Expect(err).NotTo(HaveOccurred())
	r.KubectlDir = filepath.Join(cache, "kubectl-cache")
	if s.Existing {
		useExisting(ctx, s, &r)
	} else {
		makeCluster(ctx, s, &r)
	}

	restConfig, clientset, err = kubeconfig.Clients(r.Kubeconfig, r.Context)
	Expect(err).NotTo(HaveOccurred())
	swept, err := sweep.Namespaces(ctx, clientset, r.Owner, GinkgoWriter)
	if err != nil || len(swept) > 0 {
		AddReportEntry("sweep", fmt.Sprintf("namespaces left by ended runs, deleted: %v %v", swept, err), ReportEntryVisibilityAlways)
	}
	info, err := clusterinfo.Read(ctx, clientset, r.Context, restConfig.Host)
	Expect(err).NotTo(HaveOccurred(), "read the cluster's version and nodes")
	info.Existing, info.Images, info.Reused = r.Existing, string(r.Mode), r.Reused
	info.Inputs = inputsOf(s)
	// Say first what the cluster itself shows of being broken: every claim
	// that then fails will say so too, and stop waiting early.
	the = r
	// Only an established problem is worth a "cluster broken" line: a node
	// that is NotReady for a moment is not one.
	info.Health = newHealth().Established(ctx)
	if info.Health != "" {
		AddReportEntry(clusterinfo.HealthEntryName, info.Health, ReportEntryVisibilityAlways)
	}
	AddReportEntry(clusterinfo.EntryName, info.JSON())

	raw, err := json.Marshal(r)
	Expect(err).NotTo(HaveOccurred())
	return raw
}, func(ctx SpecContext, raw []byte) {
	Expect(json.Unmarshal(raw, &the)).To(Succeed())
	var err error
	restConfig, clientset, err = kubeconfig.Clients(the.Kubeconfig, the.Context)
	Expect(err).NotTo(HaveOccurred())
	health = newHealth()
}, NodeTimeout(timeouts.ClusterUp+timeouts.Kubectl))

// newHealth watches the cluster under test; on the suite's own air-gapped
// cluster it also watches the local registry, whose loss fails every pull.
func newHealth() *diagnose.Health {
	h := diagnose.NewHealth(clientset)
	if the.Own && the.Mode == images.Airgap {
		registry := cluster.NamesFor(the.ClusterName).Registry
		h.Extra = func(ctx context.Context) string {
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
func useExisting(ctx context.Context, s settings.Settings, r *run) {
	target, err := preflight.Kubeconfig(s.Kubeconfig, s.Context)
	failOn(err)
	_, err = preflight.Reachable(ctx, target, 10*time.Second)
	failOn(err)
	r.Kubeconfig, r.Context = strings.Join(target.Files, string(filepath.ListSeparator)), target.Context
	r.ModeReason = "existing cluster: context " + target.Context
	r.ClusterName = strings.TrimPrefix(target.Context, "kind-")
	if rec, ours := cluster.Owned(ctx, r.ClusterName); ours {
		r.Own, r.Mode = true, rec.Mode
		r.ModeReason += ", the suite's own " + string(rec.Mode) + " kind cluster " + r.ClusterName
		if rec.Mode == images.Airgap {
			flavor, err := images.FlavorNamed(rec.Flavor)
			failOn(err)
			cache, err := images.CacheDir()
			Expect(err).NotTo(HaveOccurred())
			r.Built, err = images.ReadBuiltOf(cache, flavor)
			failOn(err)
		}
	} else if err := docker.Ping(ctx); err != nil {
		r.ModeReason += " (no Docker engine here to tell whether it is a kind cluster the suite made: " + err.Error() + ")"
	} else {
		r.ModeReason += " (not a kind cluster the suite made on this machine)"
	}
	AddReportEntry("cluster under test", r.ModeReason, ReportEntryVisibilityAlways)
}

// makeCluster brings up the suite's own kind cluster.
func makeCluster(ctx context.Context, s settings.Settings, r *run) {
	choice, err := images.Resolve(ctx)
	failOn(err)
	AddReportEntry("images", string(choice.Mode)+": "+choice.Reason, ReportEntryVisibilityAlways)
	flavor, err := images.FlavorNamed(s.Cluster)
	failOn(err)
	if !flavor.IsDefault() && choice.Mode != images.Airgap {
		failOn(fmt.Errorf("CLUSTER=%s is built here, air-gapped: run it with IMAGES=airgap (or auto)", flavor.Name))
	}
	nodeImage, err := cluster.ChooseNodeImage(choice.Mode == images.Airgap, flavor.KubernetesVersion, s.K8sVersion, s.NodeImage)
	failOn(err)
	cache, err := images.CacheDir()
	Expect(err).NotTo(HaveOccurred())
	r.ClusterName, r.Mode, r.ModeReason, r.Own = s.ClusterName, choice.Mode, choice.Reason, true
	r.Kubeconfig = s.KubeconfigOut
	if r.Kubeconfig == "" {
		r.Kubeconfig = filepath.Join(cache, s.ClusterName+".kubeconfig")
	}
	created, err = cluster.Up(ctx, cluster.Settings{
		Name:           s.ClusterName,
		RunID:          r.Owner.RunID,
		Images:         choice,
		Flavor:         flavor,
		NodeImage:      nodeImage,
		KubeconfigPath: r.Kubeconfig,
		Nodes:          s.Nodes,
		Keep:           s.Keep,
		WaitForReady:   timeouts.NodeReady,
		Log:            GinkgoWriter,
		Evidence:       filepath.Join(s.Artifacts, "failures", "cluster-create"),
	})
	failOn(err)
	r.Built, r.Reused = created.Built, created.Reused
	r.Context = "kind-" + s.ClusterName
	if r.Reused {
		AddReportEntry("cluster under test", "reused: kind cluster "+s.ClusterName+" kept by an earlier run", ReportEntryVisibilityAlways)
	}
}

// inputsOf is what the run substitutes for the book's own, for the
// verdict's header.
func inputsOf(s settings.Settings) *clusterinfo.Inputs {
	in := &clusterinfo.Inputs{ReplaceImages: s.ReplaceImages, TimeoutScale: timeouts.Scale}
	if s.Manifests != "" {
		hash, err := fixtures.ManifestsHash(s.Manifests)
		failOn(err)
		in.Manifests, in.ManifestsHash = s.Manifests, hash
	}
	if s.SelfHeal != settings.SelfHealAuto {
		in.SelfHeal = s.SelfHeal
	}
	return in
}

// kubectlBinary is the kubectl the Makefile built (E2E_KUBECTL), or one
// built here from the same module when the suite runs on its own.
func kubectlBinary(ctx context.Context, given string) (string, error) {
	if given != "" {
		if _, err := os.Stat(given); err != nil {
			return "", fmt.Errorf("E2E_KUBECTL=%s: %w; run 'make tools'", given, err)
		}
		return given, nil
	}
	cache, err := images.CacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "bin", "kubectl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/kubectl")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build kubectl (go build ./cmd/kubectl): %v: %s", err, out)
	}
	return bin, nil
}

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if created != nil && !created.Keep {
		Expect(created.Down(ctx, false)).To(Succeed(), "delete the cluster")
		return
	}
	// A cluster that stays (existing, or kept) must be left as it was found.
	// Each spec deleted its namespace and waited for it; this catches one
	// whose spec was interrupted before its cleanup was registered.
	if clientset != nil {
		Expect(sweep.DeleteRun(ctx, clientset, the.Owner.RunID)).To(Succeed(), "delete the run's namespaces")
		Expect(sweep.WaitGone(ctx, clientset, the.Owner.RunID, timeouts.NamespacesGone, timeouts.Poll, namespacesStuck)).To(Succeed())
	}
	if created != nil {
		Expect(created.Down(ctx, false)).To(Succeed())
	}
}, NodeTimeout(timeouts.ClusterDown+timeouts.NamespacesGone))

// mustTimeouts reads the bounds; a bad E2E_TIMEOUT_SCALE is refused by
// preflight before the suite runs.
func mustTimeouts() settings.Timeouts {
	t, err := settings.TimeoutsFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
		return settings.DefaultTimeouts()
	}
	return t
}

// failOn fails set-up with a bad input's one line, not an error dump.
func failOn(err error) {
	GinkgoHelper()
	if err != nil {
		Fail(fmt.Sprintf("kiamol-e2e: %v", err))
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
func kube() kubectl.Kubectl {
	return kubectl.Kubectl{Binary: the.Kubectl, Kubeconfig: the.Kubeconfig, Context: the.Context, CacheDir: the.KubectlDir, Timeout: timeouts.Kubectl}
}
