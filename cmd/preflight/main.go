// Command preflight checks a run's inputs before `make e2e` creates or builds
// anything, and on the first bad one prints a single line saying what is
// wrong and what to do, then exits 2.
//
//	go run ./cmd/preflight [-labels FILTER] [-suite ./e2e] [-docker=false]
//	go run ./cmd/preflight -rbac    # the ClusterRoles a run needs (make rbac)
//
// It reads the same environment as the suite (internal/settings).
package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"os"
	"os/signal"
	"syscall"

	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
	"github.com/kiamol-e2e/kiamol-e2e/internal/preflight"
	"github.com/kiamol-e2e/kiamol-e2e/internal/rbac"
	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

func main() {
	labels := flag.String("labels", "", "the Ginkgo label filter the run will use")
	suite := flag.String("suite", "./e2e", "the suite whose specs the label filter must select: a package, or its compiled .test binary")
	checkDocker := flag.Bool("docker", true, "check the Docker engine when the suite is to make its own cluster")
	ginkgo := flag.String("ginkgo", "", "the ginkgo CLI for the dry run that lists specs (default: go tool ginkgo)")
	doctor := flag.Bool("doctor", false, "print what this machine shows of itself that decides whether a kind node can start on it (for a bug report), and whether one can")
	printRBAC := flag.Bool("rbac", false, "print the ClusterRoles a run needs on a cluster it did not make, and how to bind them")
	flag.Parse()
	if *printRBAC {
		os.Stdout.Write(rbac.Manifest())
		return
	}

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
	said, err := preflight.Check(ctx, settings.FromEnv(), preflight.Options{Chapters: chapters.Books(), Labels: *labels, Suite: *suite, Ginkgo: *ginkgo, Docker: *checkDocker, RBAC: "make rbac"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiamol-e2e: "+err.Error())
		os.Exit(2)
	}
	// What the run will do with privilege on someone else's cluster comes
	// before anything else it prints.
	if said.Privileged != "" {
		fmt.Println("kiamol-e2e: " + said.Privileged)
	}
	if said.Cluster != "" {
		fmt.Println("preflight: " + said.Cluster)
	}
}
