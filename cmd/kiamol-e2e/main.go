// Command kiamol-e2e checks the cluster of your current kubeconfig context
// against chapter 2 of Kubernetes in a Month of Lunches, exactly as
// `make e2e EXISTING=1` does: the same specs, in parallel, the same verdict
// on the terminal and in verdict.md, report.json and junit.xml, the same
// exit statuses (0 PASS, 1 FAIL, 3 INCOMPLETE; 2 for bad input), the same
// namespace ownership and sweep. It needs nothing else installed: Ginkgo's
// runner, the suite and kubectl are all in this one binary.
//
//	kiamol-e2e [--kubeconfig FILE] [--context NAME] [--label-filter EXPR] [--report-dir DIR]
//	           [--manifests DIR] [--self-heal auto|host|node] [--timeout-scale N] [--procs N]
//	kiamol-e2e --version | --help
//	kiamol-e2e rbac      # the ClusterRoles it needs on your cluster, and how to bind them
//
// The one binary plays three parts. Run by a reader, it is the runner: it
// checks the inputs, then hands Ginkgo's own runner a link to itself named
// as a compiled suite (kiamol-e2e.test). Run by that runner, with Ginkgo's
// flags, it is one of the suite's parallel processes. Run by the suite as
// `kubectl` (a second link), it is kubectl, built from the k8s.io/kubectl
// module go.mod pins, so the book's commands run through kubectl's own code.
package main

import (
	"os"
	"path/filepath"
	"strings"
)

// version is the commit the binary was built from (make dist sets it).
var version = "dev"

func main() {
	switch {
	case isKubectl(os.Args[0]):
		os.Exit(kubectlMain())
	case isWorker(os.Args[1:]):
		os.Exit(worker())
	case len(os.Args) > 1 && os.Args[1] == "rbac":
		os.Exit(printRBAC(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(runner(os.Args[1:]))
}

// isKubectl says the binary was started through its kubectl link.
func isKubectl(argv0 string) bool {
	name := strings.TrimSuffix(strings.ToLower(filepath.Base(argv0)), ".exe")
	return name == "kubectl"
}

// isWorker says Ginkgo's runner started the binary as one of the suite's
// processes (or for a dry run that lists its specs): it passes Ginkgo's and
// go test's flags, which a reader never types.
func isWorker(args []string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "ginkgo.") || strings.HasPrefix(a, "test.") {
			return true
		}
	}
	return false
}
