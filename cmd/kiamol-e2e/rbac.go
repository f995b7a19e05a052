package main

import (
	"fmt"
	"io"

	"github.com/kiamol-e2e/kiamol-e2e/internal/rbac"
)

// printRBAC is `kiamol-e2e rbac`: the ClusterRoles a run needs on a cluster
// it did not make, with how to bind them in the file's comments, ready for
// `kubectl apply -f -`. The same file is what the run checks the user
// against before any spec.
func printRBAC(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "kiamol-e2e: rbac takes no arguments, got %q; run kiamol-e2e rbac | kubectl apply -f -\n", args[0])
		return 2
	}
	if _, err := stdout.Write(rbac.Manifest()); err != nil {
		fmt.Fprintln(stderr, "kiamol-e2e: "+err.Error())
		return 2
	}
	return 0
}
