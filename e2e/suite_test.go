package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/kiamol-e2e/kiamol-e2e/helpers/airgap"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/imagemode"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/kube"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/specns"
)

// run is what process 1 tells every parallel process about the cluster.
type run struct {
	Kubeconfig  string
	ClusterName string
	Mode        imagemode.Mode
	ModeReason  string
	RunID       string
	Artifacts   string
	Built       airgap.Built
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
	choice, err := imagemode.Resolve(ctx)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("images", string(choice.Mode)+": "+choice.Reason, ReportEntryVisibilityAlways)

	cache, err := airgap.CacheDir()
	Expect(err).NotTo(HaveOccurred())
	name := envOr("E2E_CLUSTER_NAME", "kiamol-e2e")
	r := run{
		ClusterName: name,
		Mode:        choice.Mode,
		ModeReason:  choice.Reason,
		RunID:       randomID(),
		Artifacts:   artifactsDir(),
		Kubeconfig:  envOr("E2E_KUBECONFIG_OUT", filepath.Join(cache, name+".kubeconfig")),
	}
	created, err = cluster.Up(ctx, cluster.Settings{
		Name:           name,
		Images:         choice,
		KubeconfigPath: r.Kubeconfig,
		Keep:           truthy(os.Getenv("E2E_KEEP_CLUSTER")),
		WaitForReady:   timeouts.NodeReady,
		Log:            GinkgoWriter,
	})
	Expect(err).NotTo(HaveOccurred(), "bring up the cluster")
	r.Built = created.Built
	raw, err := json.Marshal(r)
	Expect(err).NotTo(HaveOccurred())
	return raw
}, func(ctx SpecContext, raw []byte) {
	Expect(json.Unmarshal(raw, &the)).To(Succeed())
	var err error
	restConfig, clientset, err = kube.Clients(the.Kubeconfig, "")
	Expect(err).NotTo(HaveOccurred())
	resourcesClient, err = resources.New(restConfig)
	Expect(err).NotTo(HaveOccurred())
}, NodeTimeout(timeouts.ClusterUp))

var _ = SynchronizedAfterSuite(func() {}, func(ctx SpecContext) {
	if created != nil {
		Expect(created.Down(ctx, false)).To(Succeed(), "delete the cluster")
	}
}, NodeTimeout(timeouts.ClusterDown))

// namespace gives the current spec its own namespace.
func namespace(ctx context.Context, prefix string) string {
	GinkgoHelper()
	return specns.Create(ctx, clientset, prefix, the.RunID, the.Artifacts)
}

func artifactsDir() string {
	if d := os.Getenv("E2E_ARTIFACTS"); d != "" {
		abs, err := filepath.Abs(d)
		if err == nil {
			return abs
		}
	}
	abs, _ := filepath.Abs("../_artifacts")
	return abs
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func truthy(s string) bool { return s == "1" || s == "true" || s == "yes" }

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
