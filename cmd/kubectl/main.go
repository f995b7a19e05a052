// Command kubectl is kubectl itself, built from the k8s.io/kubectl module at
// the version go.mod pins: the specs run the book's commands through it, so
// what they check is what a reader's kubectl does (the objects `run` and
// `create deployment` generate, the Pod `port-forward deploy/` picks, what
// `apply` prints), not the suite's own copy of it. No kubectl on the host is
// needed; `make tools` builds this into the tool cache.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	kubectl "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	// The same two calls kubectl's own main makes: cli.Run sets up logging
	// and flag normalisation; CheckErr prints an error kubectl's way and
	// exits with its code (1, or the remote command's exit code for exec).
	if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
	os.Exit(0)
}
