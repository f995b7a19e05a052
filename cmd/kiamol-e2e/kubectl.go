package main

import (
	"k8s.io/component-base/cli"
	kubectl "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

// kubectlMain is kubectl's own main: cli.Run sets up logging and flag
// normalisation; CheckErr prints an error kubectl's way and exits with its
// code (1, or the remote command's exit code for exec).
func kubectlMain() int {
	if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
	return 0
}
