// Command verdict reads Ginkgo's JSON report and says whether the cluster
// behaved as the book's chapters say (internal/verdict):
//
//	verdict [-md PATH] _artifacts/report.json
//	verdict -repeat [-md PATH] report-1.json report-2.json ...
//
// Exit status: 0 PASS, 1 FAIL, 3 INCOMPLETE; 2 when a report cannot be
// read, is refused, the Markdown cannot be written, or the usage is wrong.
package main

import (
	"os"

	"github.com/kiamol-e2e/kiamol-e2e/internal/verdict"
)

func main() {
	os.Exit(verdict.Run(os.Args[1:], os.Stdout, os.Stderr))
}
