// Command preflight checks a run's inputs before `make e2e` creates or builds
// anything, and on the first bad one prints a single line saying what is
// wrong and what to do, then exits 2.
//
//	go run ./cmd/preflight [-labels FILTER] [-suite ./e2e] [-docker=false]
//
// It reads the same environment as the suite (harness/settings).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/harness/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
	"github.com/kiamol-e2e/kiamol-e2e/harness/nodehost"
	"github.com/kiamol-e2e/kiamol-e2e/harness/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/harness/settings"
)

func main() {
	labels := flag.String("labels", "", "the Ginkgo label filter the run will use")
	suite := flag.String("suite", "./e2e", "the suite whose specs the label filter must select: a package, or its compiled .test binary")
	checkDocker := flag.Bool("docker", true, "check the Docker engine when the suite is to make its own cluster")
	ginkgo := flag.String("ginkgo", "", "the ginkgo CLI for the dry run that lists specs (default: go tool ginkgo)")
	doctor := flag.Bool("doctor", false, "print what this machine shows of itself that decides whether a kind node can start on it (for a bug report), and whether one can")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *doctor {
		facts := nodehost.ReadFacts(ctx, true)
		r := facts.Check()
		fmt.Print(facts.Describe(r))
		if len(r.Problems) > 0 {
			os.Exit(2)
		}
		return
	}
	said, err := check(ctx, settings.FromEnv(), *labels, *suite, *ginkgo, *checkDocker)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
		os.Exit(2)
	}
	if said != "" {
		fmt.Println("preflight: " + said)
	}
}

func check(ctx context.Context, s settings.Settings, labels, suite, ginkgo string, checkDocker bool) (string, error) {
	if labels != "" {
		specs, err := specLabels(ctx, ginkgo, suite)
		if err != nil {
			return "", err
		}
		if err := preflight.LabelFilter(labels, specs); err != nil {
			return "", err
		}
	}
	if err := preflight.Manifests(s.Manifests); err != nil {
		return "", err
	}
	if _, err := settings.TimeoutsFromEnv(); err != nil {
		return "", &preflight.Problem{What: err.Error(), Do: "unset it, or give a factor such as 2"}
	}
	if err := preflight.ReplaceImages(s.ReplaceImages); err != nil {
		return "", err
	}
	if s.Nodes < 1 || s.Nodes > 5 {
		return "", &preflight.Problem{What: fmt.Sprintf("E2E_NODES=%q is not a number of nodes from 1 to 5", os.Getenv(settings.EnvNodes)), Do: "set NODES to 1 (default) up to 5: one control plane, the rest workers"}
	}
	switch s.SelfHeal {
	case settings.SelfHealAuto, settings.SelfHealHost, settings.SelfHealNode:
	default:
		return "", &preflight.Problem{What: fmt.Sprintf("E2E_SELF_HEAL=%q is not auto, host or node", s.SelfHeal), Do: "set SELF_HEAL to auto (default), host or node"}
	}
	if s.Existing {
		target, err := preflight.Kubeconfig(s.Kubeconfig, s.Context)
		if err != nil {
			return "", err
		}
		info, err := preflight.Reachable(ctx, target, 10*time.Second)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("existing cluster: context %q at %s, Kubernetes %s", target.Context, target.Server, info.GitVersion), nil
	}
	choice, err := images.Resolve(ctx)
	if err != nil {
		return "", &preflight.Problem{What: err.Error(), Do: "set IMAGES to airgap, online or auto"}
	}
	flavor, err := images.FlavorNamed(s.Cluster)
	if err != nil {
		return "", &preflight.Problem{What: err.Error(), Do: "unset CLUSTER, or set it to docker-runtime"}
	}
	if !flavor.IsDefault() && choice.Mode != images.Airgap {
		return "", &preflight.Problem{What: fmt.Sprintf("CLUSTER=%s is built on this machine and runs air-gapped only", flavor.Name), Do: "drop IMAGES=online, or drop CLUSTER"}
	}
	if _, err := cluster.ChooseNodeImage(choice.Mode == images.Airgap, flavor.KubernetesVersion, s.K8sVersion, s.NodeImage); err != nil {
		return "", &preflight.Problem{What: err.Error(), Do: "see make help"}
	}
	// What the machine must give a kind node, before anything is built
	// for one.
	if r := nodehost.ReadFacts(ctx, false).Check(); len(r.Problems) > 0 {
		return "", &preflight.Problem{What: r.Problems[0], Do: "make doctor prints this machine's facts"}
	}
	if checkDocker {
		if err := preflight.Docker(ctx); err != nil {
			return "", err
		}
	}
	// A live run holding the cluster's name ends this one here, before it
	// builds or touches anything; cluster.Up checks again, for good.
	claim, err := cluster.Take(s.ClusterName, "preflight")
	if err != nil {
		return "", err
	}
	claim.Release()
	return "", nil
}

// specLabels lists each spec's labels through a Ginkgo dry run, which walks
// the suite's tree without running any node: of a compiled suite (a .test
// binary, as make builds it) directly, else through the ginkgo CLI.
func specLabels(ctx context.Context, ginkgo, suite string) ([][]string, error) {
	dir, err := os.MkdirTemp("", "kiamol-e2e-dry-run-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var cmd *exec.Cmd
	if strings.HasSuffix(suite, ".test") {
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
