// Package workflow checks .github/workflows/e2e.yml without running it: the
// properties that keep CI reproducible and its failures explainable, and that
// its Kubernetes matrix is the table of node images the suite pins.
package workflow

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
)

var workflowPath = filepath.Join("..", "..", ".github", "workflows", "e2e.yml")

type workflow struct {
	Permissions any            `json:"permissions"`
	Jobs        map[string]job `json:"jobs"`
}

type job struct {
	Uses     string `json:"uses"` // a reusable workflow
	Strategy struct {
		Matrix struct {
			Include []map[string]any `json:"include"`
		} `json:"matrix"`
	} `json:"strategy"`
	Steps []step `json:"steps"`
}

type step struct {
	Name string `json:"name"`
	Uses string `json:"uses"`
	Run  string `json:"run"`
	If   string `json:"if"`
}

func (s step) label(i int) string {
	switch {
	case s.Name != "":
		return fmt.Sprintf("step %d (%q)", i+1, s.Name)
	case s.Uses != "":
		return fmt.Sprintf("step %d (uses %s)", i+1, s.Uses)
	default:
		return fmt.Sprintf("step %d", i+1)
	}
}

var (
	pinnedUses  = regexp.MustCompile(`^[^@\s]+@[0-9a-f]{40}$`)
	usesLine    = regexp.MustCompile(`^\s*(?:-\s*)?uses:\s*(\S+)(.*)$`)
	versionNote = regexp.MustCompile(`^\s*#\s*v\d+\.\d+\.\d+\s*$`)
	pinnedImage = regexp.MustCompile(`^kindest/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$`)
)

// problems lists what is wrong with the workflow text, one message each.
func problems(text string, table map[string]string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	var w workflow
	if err := yaml.Unmarshal([]byte(text), &w); err != nil {
		return []string{fmt.Sprintf("workflow is not valid YAML: %v", err)}
	}

	// Least privilege: a compromised step can then at most read the code.
	if p, ok := w.Permissions.(map[string]any); !ok || len(p) != 1 || p["contents"] != "read" {
		bad("top-level permissions = %v, want exactly {contents: read}", w.Permissions)
	}

	// Pins, read from the text because the YAML parser drops the comments
	// that say which release a SHA is.
	for n, line := range strings.Split(text, "\n") {
		m := usesLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ref := strings.Trim(m[1], `"'`)
		if strings.HasPrefix(ref, "./") {
			continue // this repository's own action: pinned by the checkout
		}
		if !pinnedUses.MatchString(ref) {
			bad("line %d: uses %s is not pinned to a full 40-hex commit SHA", n+1, ref)
			continue
		}
		if !versionNote.MatchString(m[2]) {
			bad("line %d: uses %s has no `# vX.Y.Z` comment saying which release the SHA is", n+1, ref)
		}
	}

	e2e, ok := w.Jobs["e2e"]
	if !ok {
		bad("no job named e2e (jobs: %v)", keys(w.Jobs))
		return out
	}
	for name, j := range w.Jobs {
		if j.Uses != "" && !pinnedUses.MatchString(j.Uses) && !strings.HasPrefix(j.Uses, "./") {
			bad("job %s: uses %s is not pinned to a full 40-hex commit SHA", name, j.Uses)
		}
	}

	// The matrix must be the table: one source for which images CI proves.
	include := e2e.Strategy.Matrix.Include
	if want := min(2, len(table)); len(include) < want {
		bad("e2e matrix has %d include entries, want at least %d (NodeImages has %d versions)", len(include), want, len(table))
	}
	seen := map[string]bool{}
	for i, entry := range include {
		k8s, _ := entry["k8s"].(string)
		image, _ := entry["node-image"].(string)
		where := fmt.Sprintf("matrix entry %d (k8s %q)", i+1, k8s)
		if k8s == "" {
			bad("%s: no k8s version", where)
		}
		if seen[k8s] {
			bad("%s: k8s %s appears twice", where, k8s)
		}
		seen[k8s] = true
		if !pinnedImage.MatchString(image) {
			bad("%s: node-image %q is not kindest/node:v1.N.P@sha256:<64 hex>", where, image)
		}
		want, known := table[k8s]
		switch {
		case !known:
			bad("%s: k8s %s is not in cluster.NodeImages (known: %v)", where, k8s, keys(table))
		case image != want:
			bad("%s: node-image %q differs from cluster.NodeImages[%q] = %q", where, image, k8s, want)
		}
	}

	// Evidence steps must run after a failure, and after the suite but
	// before the cluster they read from is taken down.
	find := func(what string, match func(step) bool) int {
		at := -1
		for i, s := range e2e.Steps {
			if match(s) {
				if at >= 0 {
					bad("e2e job: more than one %s step (%s and %s)", what, e2e.Steps[at].label(at), s.label(i))
				}
				at = i
			}
		}
		if at < 0 {
			bad("e2e job: no %s step", what)
		}
		return at
	}
	suite := find("`make e2e`", func(s step) bool { return runs(s, "make e2e") })
	export := find("`kind export logs`", func(s step) bool { return runs(s, "kind export logs") })
	upload := find("actions/upload-artifact", func(s step) bool { return strings.HasPrefix(s.Uses, "actions/upload-artifact@") })
	down := find("`make down`", func(s step) bool { return runs(s, "make down") })

	if suite >= 0 {
		if s := e2e.Steps[suite]; !strings.Contains(s.Run, "${{ matrix.node-image }}") {
			bad("e2e job: %s does not pass ${{ matrix.node-image }}, so every matrix entry would test the same image", s.label(suite))
		}
	}
	for _, at := range []int{export, upload, down} {
		if at < 0 {
			continue
		}
		if s := e2e.Steps[at]; !isAlways(s.If) {
			bad("e2e job: %s has if: %q, want if: always() so it runs when the suite fails", s.label(at), s.If)
		}
	}
	order := func(first, then int) {
		if first >= 0 && then >= 0 && first > then {
			bad("e2e job: %s must come before %s", e2e.Steps[first].label(first), e2e.Steps[then].label(then))
		}
	}
	order(suite, export)
	order(export, upload)
	order(export, down)
	return out
}

// runs says whether the step's script runs command as words of its own
// (`go run sigs.k8s.io/kind export logs` runs "kind export logs").
func runs(s step, command string) bool {
	return regexp.MustCompile(`(^|[\s/;&|(])` + regexp.QuoteMeta(command) + `($|[\s;&|)])`).MatchString(s.Run)
}

func isAlways(cond string) bool {
	c := strings.TrimSpace(cond)
	if strings.HasPrefix(c, "${{") && strings.HasSuffix(c, "}}") {
		c = strings.TrimSpace(c[3 : len(c)-2])
	}
	return c == "always()"
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func readWorkflow(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(workflowPath)
	if err != nil {
		t.Fatalf("reading the workflow: %v", err)
	}
	return string(b)
}

func TestWorkflow(t *testing.T) {
	for _, p := range problems(readWorkflow(t), cluster.NodeImages) {
		t.Error(p)
	}
}

// TestProblemsCatchBreakage proves each check can fail: it breaks the real
// workflow one way at a time and expects the matching complaint.
func TestProblemsCatchBreakage(t *testing.T) {
	text := readWorkflow(t)
	anyMinor := keys(cluster.NodeImages)[0]
	anyImage := cluster.NodeImages[anyMinor]
	// The same image with its digest's last hex digit changed.
	edited := anyImage[:len(anyImage)-1] + "0"
	if edited == anyImage {
		edited = anyImage[:len(anyImage)-1] + "1"
	}
	tests := []struct {
		name      string
		old, new  string // replaced once in the real workflow
		complaint string
	}{
		{"write permission", "contents: read", "contents: write", "top-level permissions"},
		{"tag instead of SHA", "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "actions/checkout@v4", "uses actions/checkout@v4 is not pinned"},
		{"short SHA", "actions/setup-go@d35c59abb061a4a6fb18e82ac0862c26744d6ab5", "actions/setup-go@d35c59a", "is not pinned to a full 40-hex commit SHA"},
		{"no version comment", "ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2", "ea165f8d65b6e75b540449e92b4886f43607fa02", "has no `# vX.Y.Z` comment"},
		{"digest edited", anyImage, edited, "differs from cluster.NodeImages"},
		{"tag only", anyImage, strings.Split(anyImage, "@")[0], "is not kindest/node:v1.N.P@sha256"},
		{"minor not in table", "k8s: " + anyMinor, "k8s: v1.99", "k8s v1.99 is not in cluster.NodeImages"},
		{"upload only on success", "name: upload reports\n        if: always()", "name: upload reports", `"upload reports") has if: ""`},
		{"export logs on success", "name: export kind logs\n        if: always()", "name: export kind logs\n        if: success()", `"export kind logs") has if: "success()"`},
		{"no make down", "run: make down", "run: docker system prune -f", "no `make down` step"},
		{"no make e2e", "run: make e2e", "run: make test", "no `make e2e` step"},
		{"matrix image unused", `NODE_IMAGE="${{ matrix.node-image }}"`, "", "does not pass ${{ matrix.node-image }}"},
		{"job renamed", "\n  e2e:\n", "\n  test:\n", "no job named e2e"},
		{"broken YAML", "jobs:", "jobs: [", "not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(text, tt.old) {
				t.Fatalf("the workflow no longer contains %q: update this case", tt.old)
			}
			got := problems(strings.Replace(text, tt.old, tt.new, 1), cluster.NodeImages)
			for _, p := range got {
				if strings.Contains(p, tt.complaint) {
					return
				}
			}
			t.Errorf("want a complaint containing %q, got %q", tt.complaint, got)
		})
	}
}

func TestProblemsWantsTwoEntriesWhenTheTableHasThem(t *testing.T) {
	text := readWorkflow(t)
	var w workflow
	if err := yaml.Unmarshal([]byte(text), &w); err != nil {
		t.Fatal(err)
	}
	include := w.Jobs["e2e"].Strategy.Matrix.Include
	if len(include) == 0 {
		t.Fatal("the workflow has no matrix entries")
	}
	// Keep only the first entry's table row, then add a second row.
	k8s := include[0]["k8s"].(string)
	two := map[string]string{k8s: cluster.NodeImages[k8s], "v1.1": "kindest/node:v1.1.0@sha256:" + strings.Repeat("0", 64)}
	one := map[string]string{k8s: cluster.NodeImages[k8s]}
	trimmed := keepFirstMatrixEntry(t, text)
	if got := problems(trimmed, one); len(got) != 0 {
		t.Errorf("one entry, one-row table: want no complaint, got %q", got)
	}
	got := problems(trimmed, two)
	if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "has 1 include entries, want at least 2") }) {
		t.Errorf("one entry, two-row table: want a complaint about the matrix size, got %q", got)
	}
}

// keepFirstMatrixEntry drops every `- k8s:` entry but the first (and its
// node-image line) from the workflow text.
func keepFirstMatrixEntry(t *testing.T, text string) string {
	t.Helper()
	var out []string
	entries := 0
	skipping := false
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "- k8s:") {
			entries++
			skipping = entries > 1
		} else if skipping && !strings.HasPrefix(trimmed, "node-image:") {
			skipping = false
		}
		if !skipping {
			out = append(out, line)
		}
	}
	if entries < 2 {
		t.Skip("the workflow has fewer than two matrix entries to trim")
	}
	return strings.Join(out, "\n")
}
