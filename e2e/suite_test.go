package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/harness/kubeconfig"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/kiamol-e2e/kiamol-e2e/harness/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/harness/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/harness/docker"
	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
	"github.com/kiamol-e2e/kiamol-e2e/harness/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/harness/settings"
	"github.com/kiamol-e2e/kiamol-e2e/harness/sweep"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/namespaces"
)

// run is what process 1 tells every parallel process about the cluster.
type run struct {
	Kubeconfig string // a path, or a KUBECONFIG list on an existing cluster
	Context    string
	// Existing: the suite did not make this cluster and must leave it as
	// it found it.
	Existing    bool
	ClusterName string // the kind cluster's name, when it is one
	// Mode is airgap when the cluster is the suite's own air-gapped kind
	// cluster (made by this run or kept from an earlier one); online when
	// this run made it from public images; "" for someone else's cluster.
	Mode       images.Mode
	ModeReason string
	Owner      sweep.Owner
	Artifacts  string
	Manifests  string
	Built      images.Built
}

var (
	the             run
	restConfig      *rest.Config
	clientset       kubernetes.Interface
	resourcesClient *resources.Resources
	created         *cluster.Cluster // process 1 only
)

func TestChapter2(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "kiamol chapter 2")
}

var _ = SynchronizedBeforeSuite(func(ctx SpecContext) []byte {
	s := settings.FromEnv()
	r := run{Owner: sweep.Self(randomID()), Artifacts: s.Artifacts, Manifests: s.Manifests, Existing: s.Existing}
	failOn(preflight.Manifests(ctx, s.Manifests))
	if s.Existing {
		useExisting(ctx, s, &r)
	} else {
		makeCluster(ctx, s, &r)
	}

	var err error
	restConfig, clientset, err = kubeconfig.Clients(r.Kubeconfig, r.Context)
	Expect(err).NotTo(HaveOccurred())
	swept, err := sweep.Namespaces(ctx, clientset, r.Owner, GinkgoWriter)
	if err != nil || len(swept) > 0 {
		AddReportEntry("sweep", fmt.Sprintf("namespaces left by earlier interrupted runs on this host, deleted: %v %v", swept, err), ReportEntryVisibilityAlways)
	}
	info, err := clusterinfo.Read(ctx, clientset, r.Context, restConfig.Host)
	Expect(err).NotTo(HaveOccurred(), "read the cluster's version and nodes")
	info.Existing, info.Images = r.Existing, string(r.Mode)
	AddReportEntry(clusterinfo.EntryName, info.JSON())

	raw, err := json.Marshal(r)
	Expect(err).NotTo(HaveOccurred())
	return raw
}, func(ctx SpecContext, raw []byte) {
	Expect(json.Unmarshal(raw, &the)).To(Succeed())
	var err error
	restConfig, clientset, err = kubeconfig.Clients(the.Kubeconfig, the.Context)
	Expect(err).NotTo(HaveOccurred())
	resourcesClient, err = resources.New(restConfig)
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(timeouts.ClusterUp))

// useExisting points the run at the cluster KUBECONFIG names. It creates and
// builds nothing; it only finds out whether that cluster happens to be this
// suite's own air-gapped kind cluster, whose air gap the airgap specs check.
func useExisting(ctx context.Context, s settings.Settings, r *run) {
	target, err := preflight.Kubeconfig(s.Kubeconfig, s.Context)
	failOn(err)
	_, err = preflight.Reachable(ctx, target, 10*time.Second)
	failOn(err)
	r.Kubeconfig, r.Context = strings.Join(target.Files, string(filepath.ListSeparator)), target.Context
	r.ModeReason = "existing cluster: context " + target.Context
	r.ClusterName = strings.TrimPrefix(target.Context, "kind-")
	if ours, why := ownAirgappedCluster(ctx, r.ClusterName); ours {
		cache, err := images.CacheDir()
		Expect(err).NotTo(HaveOccurred())
		if r.Built, err = images.ReadBuilt(cache); err == nil {
			r.Mode, r.ModeReason = images.Airgap, r.ModeReason+", the suite's own air-gapped kind cluster"
		}
	} else {
		r.ModeReason += " (" + why + ")"
	}
	AddReportEntry("cluster under test", r.ModeReason, ReportEntryVisibilityAlways)
}

// ownAirgappedCluster says whether kind cluster name runs on this machine's
// Docker, on the suite's guarded network.
func ownAirgappedCluster(ctx context.Context, name string) (bool, string) {
	if docker.Ping(ctx) != nil {
		return false, "no Docker engine here to inspect its nodes"
	}
	nodes, err := cluster.NodeContainers(ctx, name)
	if err != nil || len(nodes) == 0 {
		return false, "not a kind cluster on this machine's Docker"
	}
	nets, err := docker.Run(ctx, "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", nodes[0])
	if err != nil || strings.TrimSpace(nets) != images.NetworkName {
		return false, "a kind cluster, not on the " + images.NetworkName + " network"
	}
	return true, ""
}

// makeCluster brings up the suite's own kind cluster.
func makeCluster(ctx context.Context, s settings.Settings, r *run) {
	choice, err := images.Resolve(ctx)
	failOn(err)
	AddReportEntry("images", string(choice.Mode)+": "+choice.Reason, ReportEntryVisibilityAlways)
	nodeImage, err := cluster.ChooseNodeImage(choice.Mode == images.Airgap, images.KubernetesVersion, s.K8sVersion, s.NodeImage)
	failOn(err)
	cache, err := images.CacheDir()
	Expect(err).NotTo(HaveOccurred())
	r.ClusterName, r.Mode, r.ModeReason = s.ClusterName, choice.Mode, choice.Reason
	r.Kubeconfig = s.KubeconfigOut
	if r.Kubeconfig == "" {
		r.Kubeconfig = filepath.Join(cache, s.ClusterName+".kubeconfig")
	}
	created, err = cluster.Up(ctx, cluster.Settings{
		Name:           s.ClusterName,
		Images:         choice,
		NodeImage:      nodeImage,
		KubeconfigPath: r.Kubeconfig,
		Keep:           s.Keep,
		WaitForReady:   timeouts.NodeReady,
		Log:            GinkgoWriter,
	})
	failOn(err)
	r.Built = created.Built
	r.Context = "kind-" + s.ClusterName
}

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if created != nil && !created.Keep {
		Expect(created.Down(ctx, false)).To(Succeed(), "delete the cluster")
		return
	}
	// A cluster that stays (existing, or kept) must be left as it was found:
	// each spec deleted its namespace; wait until they are really gone.
	if clientset != nil {
		Expect(sweep.DeleteRun(ctx, clientset, the.Owner.RunID)).To(Succeed(), "delete the run's namespaces")
		Expect(sweep.WaitGone(ctx, clientset, the.Owner.RunID, timeouts.NamespacesGone, timeouts.Poll)).To(Succeed())
	}
	if created != nil {
		Expect(created.Down(ctx, false)).To(Succeed())
	}
}, NodeTimeout(timeouts.ClusterDown))

// namespace gives the current spec its own namespace.
func namespace(ctx context.Context, prefix string) string {
	GinkgoHelper()
	return namespaces.Create(ctx, clientset, prefix, the.Owner, the.Artifacts)
}

// failOn fails set-up with a bad input's one line, not an error dump.
func failOn(err error) {
	GinkgoHelper()
	if err != nil {
		Fail(fmt.Sprintf("kiamol-e2e: %v", err))
	}
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
