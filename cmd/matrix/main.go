// Command matrix runs the whole suite on each Kubernetes the air-gapped
// build makes, one cluster at a time (each built or taken from the image
// cache, made, checked and deleted), and lays the verdicts side by side in
// matrix.md and matrix.json: a row per claim and cluster check, a column per
// cluster. `make matrix` runs it.
//
//	matrix [-out DIR] [-columns kind-v1.37,docker-runtime,...]
//
// A column whose images do not build, or whose run leaves no report, says
// why in one line; the others still run. Exit status: 0 when every
// released version passed, 3 when one is only INCOMPLETE, 1 when one
// failed (a pre-release's result is reported, not held against the run).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/verdict"
)

func main() {
	out := flag.String("out", "_artifacts/matrix", "where each column's reports and the matrix go")
	columns := flag.String("columns", "", "the clusters, by ID, comma-separated (default: every one the build knows: "+strings.Join(ids(images.Flavors), ", ")+")")
	flag.Parse()
	flavors, err := pick(*columns)
	if err != nil {
		fmt.Fprintf(os.Stderr, "matrix: %v\n", err)
		os.Exit(2)
	}
	// The make runs below get Ctrl-C themselves (one process group); this
	// process lets the current one end, starts no other, and lays out what
	// there is. (Caught, not ignored: an ignored signal would stay ignored
	// in the children.)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if abs, err := filepath.Abs(*out); err == nil {
		*out = abs
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "matrix: %v\n", err)
		os.Exit(2)
	}
	var cols []string
	for i, f := range flavors {
		if interrupted(stop) {
			fmt.Println("== matrix: interrupted: no further column started")
			break
		}
		fmt.Printf("== matrix: %d of %d: %s\n", i+1, len(flavors), f)
		col := runColumn(f, filepath.Join(*out, f.ID()))
		p := filepath.Join(*out, f.ID(), "column.json")
		raw, _ := json.MarshalIndent(col, "", "  ")
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "matrix: %v\n", err)
			os.Exit(2)
		}
		cols = append(cols, p)
	}
	cmd := "make matrix"
	if *columns != "" {
		cmd += " MATRIX=" + *columns
	}
	fmt.Println("== matrix: every column")
	os.Exit(verdict.Run(append([]string{"-matrix", "-md", filepath.Join(*out, "matrix.md"), "-command", cmd}, cols...), os.Stdout, os.Stderr))
}

func interrupted(stop <-chan os.Signal) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

func ids(fs []images.Flavor) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID())
	}
	return out
}

// pick is the columns asked for, in the matrix's order: released versions
// newest first, the Docker-runtime cluster, the pre-release last.
func pick(list string) ([]images.Flavor, error) {
	order := func(f images.Flavor) int {
		switch {
		case f.PreRelease:
			return 2
		case f.Name == images.DockerRuntime.Name:
			return 1
		}
		return 0
	}
	all := slices.Clone(images.Flavors)
	slices.SortStableFunc(all, func(a, b images.Flavor) int { return order(a) - order(b) })
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	var out []images.Flavor
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		i := slices.IndexFunc(all, func(f images.Flavor) bool { return f.ID() == id })
		if i < 0 {
			return nil, fmt.Errorf("MATRIX names %q, which is not one of %s", id, strings.Join(ids(all), ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// knobs are the make arguments that select the flavor.
func knobs(f images.Flavor) []string {
	if f.Name == images.DockerRuntime.Name {
		return []string{"CLUSTER=" + f.Name}
	}
	return []string{"CLUSTER=" + f.Name, "K8S_VERSION=" + f.Minor()}
}

// runColumn builds (or checks) the flavor's images and runs the suite on a
// cluster of that flavor, its reports in dir.
func runColumn(f images.Flavor, dir string) verdict.Column {
	col := verdict.Column{ID: f.ID(), Kubernetes: f.KubernetesVersion, PreRelease: f.PreRelease}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		col.Failure = err.Error()
		return col
	}
	start := time.Now()
	logText, err := runMake(filepath.Join(dir, "images.log"), append([]string{"images"}, knobs(f)...)...)
	col.ImagesSeconds = time.Since(start).Seconds()
	col.ImagesBuilt = !strings.Contains(logText, "air-gapped images up to date")
	if err != nil {
		col.Failure = "images: " + lastError(logText, "airgap-images: ")
		fmt.Printf("   images did not build (%s): %s\n", err, col.Failure)
		return col
	}
	_ = os.Remove(filepath.Join(dir, "report.json"))
	start = time.Now()
	logText, err = runMake(filepath.Join(dir, "e2e.log"), append([]string{"e2e", "ARTIFACTS=" + dir}, knobs(f)...)...)
	col.RunSeconds = time.Since(start).Seconds()
	report := filepath.Join(dir, "report.json")
	if _, serr := os.Stat(report); serr != nil {
		col.Failure = "the run left no report: " + lastError(logText, "kiamol-e2e: ")
		return col
	}
	col.Report = report
	if err != nil {
		fmt.Printf("   %s\n", lastLine(logText, "e2e: "))
	}
	return col
}

// runMake runs make with args, its output to log and to this terminal.
func runMake(log string, args ...string) (string, error) {
	makeCmd := os.Getenv("MAKE")
	if makeCmd == "" {
		makeCmd = "make"
	}
	f, err := os.Create(log)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var buf bytes.Buffer
	cmd := exec.Command(makeCmd, append([]string{"--no-print-directory"}, args...)...)
	w := io.MultiWriter(f, &buf, os.Stdout)
	cmd.Stdout, cmd.Stderr = w, w
	err = cmd.Run()
	return buf.String(), err
}

// lastError is the last line starting with prefix (a command's own
// one-line error), else the last non-empty line.
func lastError(text, prefix string) string {
	if l := lastLine(text, prefix); l != "" {
		return strings.TrimPrefix(l, prefix)
	}
	return lastLine(text, "")
}

func lastLine(text, prefix string) string {
	var last string
	s := bufio.NewScanner(strings.NewReader(text))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l != "" && strings.HasPrefix(l, prefix) && !strings.HasPrefix(l, "make: ***") && !strings.HasPrefix(l, "make[") {
			last = l
		}
	}
	return last
}
