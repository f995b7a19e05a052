package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
	"github.com/kiamol-e2e/kiamol-e2e/internal/tempdir"
)

// Options are what the run will do beyond the settings: the label filter
// it will pass Ginkgo, the suite whose specs it selects (a package, or its
// compiled .test or .test.exe binary), the ginkgo CLI for a package's dry run, and
// whether to check the Docker engine now; RBAC is the command a refusal
// names for printing the roles the user lacks (default RBACCommand).
type Options struct {
	Labels, Suite, Ginkgo, RBAC string
	Docker                      bool
	// Chapters are the chapters the run proves.
	Chapters []*book.Chapter
}

// Said is what preflight found to say before the run starts.
type Said struct {
	// Cluster is the existing cluster the run will check ("existing
	// cluster: context ..."), "" when the suite makes its own.
	Cluster string
	// Privileged, when the reader asked for self-healing through the node
	// (SELF_HEAL=node) on a cluster the suite did not make, says what the
	// run will do there with privilege; it is the first line a run prints.
	Privileged string
}

// PrivilegedPlan is what a run with self-healing through the node does on
// a cluster the suite did not make, in one line.
const PrivilegedPlan = "self-healing through the node, as asked (--self-heal=node, SELF_HEAL=node), on a cluster the suite did not make: " +
	"this run will label its own spec namespaces pod-security.kubernetes.io/enforce=privileged and start privileged Pods on the nodes " +
	"(kubectl debug node/<node> --profile=sysadmin, the node's root at /host) to remove and inspect containers through the node's runtime; " +
	"the verdict lists each, and all of it goes with the run's namespaces"

// Check checks a run's inputs before anything is created or built, and
// returns the first bad one as a Problem, or what to say (the existing
// cluster it will check, what it will do there with privilege).
func Check(ctx context.Context, s settings.Settings, o Options) (Said, error) {
	labels, suite, ginkgo, checkDocker := o.Labels, o.Suite, o.Ginkgo, o.Docker
	if labels != "" {
		specs, err := specLabels(ctx, ginkgo, suite)
		if err != nil {
			return Said{}, err
		}
		if err := LabelFilter(labels, specs); err != nil {
			return Said{}, err
		}
	}
	if err := Manifests(o.Chapters, s.Manifests); err != nil {
		return Said{}, err
	}
	if _, err := settings.TimeoutsFromEnv(); err != nil {
		return Said{}, &Problem{What: err.Error(), Do: "unset it, or give a factor such as 2"}
	}
	if err := ReplaceImages(o.Chapters, s.ReplaceImages); err != nil {
		return Said{}, err
	}
	if s.Nodes < 1 || s.Nodes > 5 {
		return Said{}, &Problem{What: fmt.Sprintf("E2E_NODES=%q is not a number of nodes from 1 to 5", os.Getenv(settings.EnvNodes)), Do: "set NODES to 1 (default) up to 5: one control plane, the rest workers"}
	}
	switch s.SelfHeal {
	case settings.SelfHealAuto, settings.SelfHealHost, settings.SelfHealNode:
	default:
		return Said{}, &Problem{What: fmt.Sprintf("E2E_SELF_HEAL=%q is not auto, host or node", s.SelfHeal), Do: "set SELF_HEAL to auto (default), host or node"}
	}
	if s.Existing {
		target, err := Kubeconfig(s.Kubeconfig, s.Context)
		if err != nil {
			return Said{}, err
		}
		info, err := Reachable(ctx, target, 10*time.Second)
		if err != nil {
			return Said{}, err
		}
		if err := Access(ctx, target, NodePath(s), o.RBAC); err != nil {
			return Said{}, err
		}
		said := Said{Cluster: fmt.Sprintf("existing cluster: context %q at %s, Kubernetes %s", target.Context, target.Server, info.GitVersion)}
		if s.SelfHeal == settings.SelfHealNode && !cluster.OwnershipOf(ctx, target.Context).Own {
			said.Privileged = PrivilegedPlan
		}
		return said, nil
	}
	choice, err := images.Resolve(ctx)
	if err != nil {
		return Said{}, &Problem{What: err.Error(), Do: "set IMAGES to airgap, online or auto"}
	}
	if _, _, err := cluster.Choose(choice.Mode == images.Airgap, s.Cluster, s.K8sVersion, s.NodeImage); err != nil {
		return Said{}, &Problem{What: err.Error(), Do: "see make help"}
	}
	// What the machine must give a kind node, before anything is built
	// for one.
	if r := nodehost.ReadFacts(ctx, false).Check(); len(r.Problems) > 0 {
		return Said{}, &Problem{What: r.Problems[0], Do: "make doctor prints this machine's facts"}
	}
	if checkDocker {
		if err := Docker(ctx); err != nil {
			return Said{}, err
		}
	}
	// A live run holding the cluster's name ends this one here, before it
	// builds or touches anything; cluster.Up checks again, for good.
	claim, err := cluster.Take(s.ClusterName, "preflight")
	if err != nil {
		return Said{}, err
	}
	claim.Release()
	return Said{}, nil
}

// compiledSuite says suite names a compiled suite, as go test -c names one
// (e2e.test; on Windows e2e.test.exe), rather than a package to build.
func compiledSuite(suite string) bool {
	return strings.HasSuffix(suite, ".test") || strings.HasSuffix(strings.ToLower(suite), ".test.exe")
}

// specLabels lists each spec's labels through a Ginkgo dry run, which walks
// the suite's tree without running any node: of a compiled suite (a .test
// binary, as make builds it) directly, else through the ginkgo CLI.
func specLabels(ctx context.Context, ginkgo, suite string) ([][]string, error) {
	dir, err := os.MkdirTemp("", "kiamol-e2e-dry-run-")
	if err != nil {
		return nil, err
	}
	defer tempdir.Remove(dir)
	var cmd *exec.Cmd
	if compiledSuite(suite) {
		cmd = exec.CommandContext(ctx, suite, "--ginkgo.dry-run", "--ginkgo.no-color", "--ginkgo.silence-skips",
			"--ginkgo.json-report", filepath.Join(dir, "dry-run.json"))
		cmd.Dir = dir
	} else {
		args := []string{"--dry-run", "--no-color", "--silence-skips", "--output-dir", dir, "--json-report", "dry-run.json", suite}
		cmd = exec.CommandContext(ctx, "go", append([]string{"tool", "ginkgo"}, args...)...)
		if ginkgo != "" {
			cmd = exec.CommandContext(ctx, ginkgo, args...)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("cannot list the suite's specs (dry run of %s): %v\n%s", suite, err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "dry-run.json"))
	if err != nil {
		return nil, err
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, err
	}
	var specs [][]string
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if s.LeafNodeType == types.NodeTypeIt {
				specs = append(specs, s.Labels())
			}
		}
	}
	if len(specs) == 0 {
		return nil, errors.New("the dry run listed no specs")
	}
	return specs, nil
}
