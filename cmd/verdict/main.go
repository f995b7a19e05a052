// Command verdict reads Ginkgo's JSON report and says whether the cluster
// behaved as chapter 2 of the book says: a short Markdown report for people
// comparing Kubernetes distributions, and a plain-text summary whose last
// line, "e2e: N passed, N failed, N skipped[, M not run]", counts specs only
// (not suite set-up), so a CI log says plainly what ran.
//
//	go run ./cmd/verdict [-md PATH] _artifacts/report.json
//
// The Markdown goes to verdict.md next to the report unless -md names
// another path; -md "" writes none. Exit status: 1 if anything failed or
// nothing passed, 2 if the report cannot be read or written about.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/onsi/ginkgo/v2/types"
)

const usage = "usage: verdict [-md PATH] REPORT.json"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	reportPath, mdPath, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	reports, err := load(reportPath)
	if err != nil {
		fmt.Fprintf(stderr, "verdict: %v\n", err)
		return 2
	}
	v := summarise(reports)
	status := 0
	if mdPath != "" {
		if err := os.WriteFile(mdPath, []byte(markdown(v)), 0o644); err != nil {
			// still print the summary: the run's result matters more
			// than the missing file
			fmt.Fprintf(stderr, "verdict: %v\n", err)
			mdPath, status = "", 2
		}
	}
	writeSummary(stdout, v, mdPath)
	if status == 0 && !v.green() {
		status = 1
	}
	return status
}

// parseArgs returns the Markdown path to write, "" for none. An unset -md
// must differ from -md "", so whether it was given is looked up.
func parseArgs(args []string, stderr io.Writer) (reportPath, mdPath string, err error) {
	fs := flag.NewFlagSet("verdict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	md := fs.String("md", "", "write the Markdown verdict to `PATH` ('' for none; default verdict.md next to REPORT.json)")
	if err := fs.Parse(args); err != nil {
		return "", "", err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return "", "", errors.New("one report expected")
	}
	reportPath, mdPath = fs.Arg(0), filepath.Join(filepath.Dir(fs.Arg(0)), "verdict.md")
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "md" {
			mdPath = *md
		}
	})
	return reportPath, mdPath, nil
}

func load(path string) ([]types.Report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no report (%w): did the suite run?", err)
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reports, nil
}
