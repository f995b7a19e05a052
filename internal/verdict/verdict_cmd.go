// Package verdict reads Ginkgo's JSON report and says whether the cluster
// behaved as the book's chapters say: a short Markdown report for people
// comparing Kubernetes distributions, and a plain-text summary whose last
// line CI logs and scripts grep for.
//
//	go run ./cmd/verdict [-md PATH] _artifacts/report.json
//	go run ./cmd/verdict -repeat [-md PATH] report-1.json report-2.json ...
//
// A chapter claim is a spec labelled with a chapter's ID (chapters.All,
// e.g. "ch02"); specs labelled smoke or airgap are cluster checks. The
// verdict is one of three:
//
//	e2e: PASS (21 passed)                             every chapter claim ran and passed, nothing failed
//	e2e: INCOMPLETE (8 passed, 2 skipped, 13 not run) nothing failed, but a claim was skipped, left
//	                                                  out by the label filter or never started
//	e2e: FAIL (19 passed, 2 failed)                   a spec or suite node failed, the suite was
//	                                                  interrupted, or the report has no chapter claim
//
// The counts are of specs, not suite set-up, and only those that are not
// zero. A cluster check that skips (with its reason) does not hold back a
// PASS: they skip on clusters the suite did not make. An INCOMPLETE is
// preceded by one "incomplete: ..." line per reason; a broken cluster
// (clusterinfo.Info.Health, or a "cluster health" report entry) is the
// first line, "cluster broken: ...".
//
// The Markdown goes to verdict.md next to the report unless -md names
// another path; -md "" writes none.
//
// -repeat judges several runs, one report each, in run order: a line per
// run, each claim's time over the runs it passed in, and the closing line
// "e2e-repeat: PASS: 20 of 20 runs passed" (or INCOMPLETE, or "FAIL: run 7
// of 20 failed: <claim>: <cause>"), the worst of the runs. It writes
// Markdown only when -md names a file.
//
// Exit status: 0 PASS, 1 FAIL, 3 INCOMPLETE; 2 when a report cannot be
// read, is refused (a ginkgo --dry-run report: nothing ran), the Markdown
// cannot be written, or the usage is wrong.
package verdict

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

const usage = "usage: verdict [-md PATH] REPORT.json\n       verdict -repeat [-md PATH] REPORT-1.json REPORT-2.json ...\n       verdict -matrix [-md PATH] [-command CMD] COLUMN-1.json COLUMN-2.json ..."

// statusBroken is the exit status for a report that cannot be judged.
const statusBroken = 2

// options are the command line, parsed.
type options struct {
	reports []string
	mdPath  string // "" for none
	repeat  bool
	// matrix: each argument is a matrix column (column.json); command is
	// the command that made the matrix, for its Markdown.
	matrix  bool
	command string
}

// Run is the verdict command: it judges the reports args name, prints the
// summary on stdout and returns the exit status (0 PASS, 1 FAIL, 3
// INCOMPLETE, 2 when a report cannot be judged or the usage is wrong).
func Run(args []string, stdout, stderr io.Writer) int {
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return statusBroken
	}
	if opts.repeat {
		return runRepeat(opts, stdout, stderr)
	}
	if opts.matrix {
		return runMatrix(opts, stdout, stderr)
	}
	reports, err := load(opts.reports[0])
	if err != nil {
		fmt.Fprintf(stderr, "verdict: %v\n", err)
		return statusBroken
	}
	v := summarise(reports)
	mdPath, status := writeMarkdown(opts.mdPath, markdown(v), stderr)
	writeSummary(stdout, v, mdPath)
	if status == 0 {
		status = exitStatus[v.result()]
	}
	return status
}

// writeMarkdown writes md to path unless path is "", and returns the path
// written ("" for none) and 2 if it could not be. The summary is printed
// either way: the run's result matters more than the missing file.
func writeMarkdown(path, md string, stderr io.Writer) (string, int) {
	if path == "" {
		return "", 0
	}
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		fmt.Fprintf(stderr, "verdict: %v\n", err)
		return "", statusBroken
	}
	return path, 0
}

// parseArgs returns the Markdown path to write, "" for none. An unset -md
// must differ from -md "", so whether it was given is looked up: one
// report gets verdict.md next to it by default, -repeat none.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("verdict", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	md := fs.String("md", "", "write the Markdown verdict to `PATH` ('' for none; default verdict.md next to REPORT.json, none with -repeat)")
	repeat := fs.Bool("repeat", false, "judge repeated runs, one report per run, in run order")
	matrix := fs.Bool("matrix", false, "lay several clusters' runs side by side, one column.json per cluster (make matrix writes them); Markdown to -md, JSON beside it")
	command := fs.String("command", "", "with -matrix: the command that made it, for the Markdown")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	opts := options{reports: fs.Args(), repeat: *repeat, matrix: *matrix, command: *command}
	switch {
	case opts.repeat && opts.matrix:
		fs.Usage()
		return options{}, errors.New("-repeat and -matrix do not go together")
	case (opts.repeat || opts.matrix) && fs.NArg() == 0:
		fs.Usage()
		return options{}, errors.New("at least one report expected")
	case !opts.repeat && !opts.matrix && fs.NArg() != 1:
		fs.Usage()
		return options{}, errors.New("one report expected")
	}
	if !opts.repeat && !opts.matrix {
		opts.mdPath = filepath.Join(filepath.Dir(fs.Arg(0)), "verdict.md")
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "md" {
			opts.mdPath = *md
		}
	})
	return opts, nil
}

// load reads one run's report. A dry-run report is refused: Ginkgo marks
// every spec it walked past as passed without running it, so judging it
// would certify what never ran.
func load(path string) ([]types.Report, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no report (%w): did the suite run?", err)
	}
	var reports []types.Report
	if err := json.Unmarshal(raw, &reports); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range reports {
		if r.SuiteConfig.DryRun {
			return nil, fmt.Errorf("%s is a dry-run report (ginkgo --dry-run): nothing ran, there is nothing to judge", path)
		}
	}
	return reports, nil
}
