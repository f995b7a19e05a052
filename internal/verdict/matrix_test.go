package verdict

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

func writeColumn(t *testing.T, c Column) string {
	t.Helper()
	raw, _ := json.Marshal(c)
	p := filepath.Join(t.TempDir(), "column.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each claim is a row in the book's order, each cluster a column; a
// failing cell leads with its cause, a cluster whose images did not build
// says why in its column and owes every claim.
func TestTheMatrixLaysTheClustersSideBySide(t *testing.T) {
	passing := types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{
		claim("runs a pod", types.SpecStatePassed), claim("heals itself", types.SpecStatePassed)}}
	failing := types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{
		claim("runs a pod", types.SpecStatePassed),
		withFailure(claim("heals itself", types.SpecStateFailed), types.Failure{Message: "pod x/hello-kiamol did not replace container abc: the kubelet still reports it"})}}
	describe(t, passing)
	cols := []string{
		writeColumn(t, Column{ID: "kind-v1.37", Kubernetes: "v1.37.2", Report: writeReport(t, passing), ImagesSeconds: 611, ImagesBuilt: true, RunSeconds: 41}),
		writeColumn(t, Column{ID: "kind-v1.36", Kubernetes: "v1.36.3", Report: writeReport(t, failing), RunSeconds: 40}),
		writeColumn(t, Column{ID: "kind-v1.38", Kubernetes: "v1.38.0-beta.0", PreRelease: true, Failure: "images: build kubernetes v1.38.0-beta.0: go build: exit status 1"}),
	}
	md := filepath.Join(t.TempDir(), "matrix.md")
	var out, errs bytes.Buffer
	status := Run(append([]string{"-matrix", "-md", md, "-command", "make matrix"}, cols...), &out, &errs)
	if status != 1 {
		t.Errorf("status %d, want 1 (a released version failed); stderr %s", status, errs.String())
	}
	raw, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, want := range []string{
		"Made by `make matrix`.",
		"| kind-v1.38 | v1.38.0-beta.0 (pre-release) |",
		"no verdict: images: build kubernetes v1.38.0-beta.0: go build: exit status 1",
		"| `" + idFor("runs a pod") + "` runs a pod | ✅ PASS | ✅ PASS | ⚪ not run |",
		"❌ FAIL: pod x/hello-kiamol did not replace container abc: the kubelet still reports it |",
		"611 s (built)",
		"exit status 1 | 0 s (build failed) | not run |",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("matrix.md lacks %q:\n%s", want, text)
		}
	}
	var m Matrix
	raw, err = os.ReadFile(strings.TrimSuffix(md, ".md") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Columns) != 3 || len(m.Rows) != 2 || m.Rows[1].Cells["kind-v1.36"].Outcome != "FAIL" {
		t.Errorf("matrix.json: %+v", m)
	}
	if !strings.Contains(out.String(), "kind-v1.36") {
		t.Errorf("stdout: %s", out.String())
	}
}
