package verdict

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Column is one cluster of a matrix run, as the matrix driver leaves it in
// column.json beside that cluster's report: which cluster, how long its
// images and its run took, and, when there is no report, why.
type Column struct {
	ID         string `json:"id"`         // kind-v1.37, docker-runtime
	Kubernetes string `json:"kubernetes"` // v1.37.2
	PreRelease bool   `json:"preRelease,omitempty"`
	// Report is the run's report.json; "" when it never ran.
	Report string `json:"report,omitempty"`
	// Failure says in one line why the column has no verdict (its images
	// did not build, the run left no report).
	Failure       string  `json:"failure,omitempty"`
	ImagesSeconds float64 `json:"imagesSeconds"`
	ImagesBuilt   bool    `json:"imagesBuilt"` // false: the cache had them
	RunSeconds    float64 `json:"runSeconds"`
}

// Cell is one claim (or cluster check) on one cluster.
type Cell struct {
	Outcome string  `json:"outcome"` // PASS, FAIL, SKIP, not run
	Seconds float64 `json:"seconds,omitempty"`
	Note    string  `json:"note,omitempty"` // a failure's cause, a skip's reason
}

// MatrixRow is one claim or cluster check across the clusters.
type MatrixRow struct {
	Section string          `json:"section"`
	ID      string          `json:"id"` // the claim's ID, or the check's text
	Text    string          `json:"text"`
	Cells   map[string]Cell `json:"cells"` // by column ID
}

// ColumnHead is what a column's cluster was and what it got.
type ColumnHead struct {
	Column
	Result   string `json:"result"`   // PASS, INCOMPLETE, FAIL, or "no verdict"
	Closing  string `json:"closing"`  // the run's closing line
	Runtime  string `json:"runtime"`  // the nodes' runtimes, as they report them
	Cgroup   string `json:"cgroup"`   // the nodes' cgroups, with the override
	Kubectl  string `json:"kubectl"`  // the kubectl line
	Warnings string `json:"warnings"` // what the kubelets warned
}

// Matrix is the chapter's claims and the cluster checks, a column per
// cluster.
type Matrix struct {
	Columns []ColumnHead `json:"columns"`
	Rows    []MatrixRow  `json:"rows"`
}

// BuildMatrix reads each column's report and lays the verdicts side by
// side, rows in the book's order (each claim once, whether or not a column
// ran it), then the cluster checks.
func BuildMatrix(cols []Column) (Matrix, error) {
	var m Matrix
	index := map[string]int{}
	rowFor := func(section, id, text string) *MatrixRow {
		key := section + "\x00" + id
		if i, ok := index[key]; ok {
			return &m.Rows[i]
		}
		index[key] = len(m.Rows)
		m.Rows = append(m.Rows, MatrixRow{Section: section, ID: id, Text: text, Cells: map[string]Cell{}})
		return &m.Rows[len(m.Rows)-1]
	}
	// Every chapter claim has a row, in the book's order, so a column
	// that never ran still shows what it owes.
	for _, ch := range books {
		for _, c := range ch.Claims {
			if c.Later != "" {
				continue
			}
			rowFor(ch.Title, c.ID, c.Says)
		}
	}
	for _, col := range cols {
		head := ColumnHead{Column: col, Result: "no verdict"}
		if col.Report == "" || col.Failure != "" {
			m.Columns = append(m.Columns, head)
			continue
		}
		reports, err := load(col.Report)
		if err != nil {
			head.Failure = firstLine(err.Error())
			m.Columns = append(m.Columns, head)
			continue
		}
		v := summarise(reports)
		head.Result, head.Closing = resultWord[v.result()], closingLine(v)
		head.Runtime, head.Cgroup, head.Warnings = nodesSummary(v.cluster)
		head.Kubectl = strings.TrimPrefix(kubectlLine(v.cluster), "kubectl: ")
		if v.cluster != nil && v.cluster.Version != "" {
			head.Kubernetes = v.cluster.Version
		}
		m.Columns = append(m.Columns, head)
		for _, r := range v.rows {
			if r.deselected || r.section == suiteSection {
				continue
			}
			id, text := r.claimID, r.claim
			if id == "" {
				id = r.claim
			} else {
				text = strings.TrimPrefix(text, id+": ")
			}
			row := rowFor(r.section, id, text)
			row.Cells[col.ID] = Cell{Outcome: strings.TrimSpace(word[r.outcome]), Seconds: r.runTime.Seconds(), Note: r.note}
			if r.outcome == notRun {
				row.Cells[col.ID] = Cell{Outcome: "not run", Note: r.note}
			}
		}
		// A set-up failure explains every claim the column then lacks.
		for _, r := range v.rows {
			if r.section == suiteSection && r.outcome == fail {
				head.Failure = cmpOr(head.Failure, "suite: "+r.note)
			}
		}
		m.Columns[len(m.Columns)-1] = head
	}
	// Rows are kept in first-seen order: claims first (the book's), then
	// whatever the columns added; cluster checks after the chapters.
	slices.SortStableFunc(m.Rows, func(a, b MatrixRow) int { return sectionRank(a.Section) - sectionRank(b.Section) })
	return m, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// nodesSummary says what the column's nodes run on, each distinct value
// once.
func nodesSummary(c *ClusterInfo) (runtime, cgroup, warnings string) {
	if c == nil {
		return "", "", ""
	}
	var rs, cs, ws []string
	add := func(list *[]string, s string) {
		if s != "" && !slices.Contains(*list, s) {
			*list = append(*list, s)
		}
	}
	for _, n := range c.Nodes {
		add(&rs, n.Runtime)
		cg := n.Cgroup
		if cg == "" {
			cg = "unknown"
		}
		if n.CgroupV1Override {
			cg += " by failCgroupV1: false"
		}
		add(&cs, cg)
		for _, w := range n.Warnings {
			add(&ws, w)
		}
	}
	return strings.Join(rs, ", "), strings.Join(cs, ", "), strings.Join(ws, "; ")
}

// cellText is a cell as the Markdown shows it: the result, its time, and
// for anything but a pass the first words of why.
func cellText(c Cell, ok bool) string {
	if !ok {
		return "–"
	}
	s := map[string]string{"PASS": "✅", "FAIL": "❌", "SKIP": "⏭", "not run": "⚪"}[c.Outcome] + " " + c.Outcome
	if c.Seconds > 0 {
		s += fmt.Sprintf(" %.1fs", c.Seconds)
	}
	if c.Outcome != "PASS" && c.Note != "" {
		s += ": " + firstWords(c.Note, 12)
	}
	return s
}

// firstWords keeps the cause's lead: the first n words.
func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) <= n {
		return strings.Join(f, " ")
	}
	return strings.Join(f[:n], " ") + " …"
}

// MatrixMarkdown renders the matrix: a table of the columns (what each
// cluster ran on, its result and times), then the claims table.
func MatrixMarkdown(m Matrix, command string) string {
	var b strings.Builder
	b.WriteString("# kiamol-e2e matrix: " + chapterList() + "\n\n")
	if command != "" {
		b.WriteString("Made by `" + command + "`.\n\n")
	}
	b.WriteString("| cluster | Kubernetes | node runtime | cgroup | kubectl | result | images | run |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range m.Columns {
		k := c.Kubernetes
		if c.PreRelease {
			k += " (pre-release)"
		}
		images := fmt.Sprintf("%.0f s", c.ImagesSeconds)
		buildFailed := strings.HasPrefix(c.Failure, "images: ")
		switch {
		case buildFailed:
			images += " (build failed)"
		case c.ImagesBuilt:
			images += " (built)"
		default:
			images += " (cached)"
		}
		run := fmt.Sprintf("%.0f s", c.RunSeconds)
		if buildFailed {
			run = "not run"
		}
		result := c.Closing
		if c.Failure != "" {
			result = c.Result + ": " + c.Failure
		}
		cg := c.Cgroup
		if c.Warnings != "" {
			cg += "; the kubelet warns: " + c.Warnings
		}
		b.WriteString(tableRow(c.ID, k, c.Runtime, cg, c.Kubectl, result, images, run))
	}
	b.WriteString("\n| claim / check |")
	sep := "|---|"
	for _, c := range m.Columns {
		b.WriteString(" " + escapeCell(c.ID) + " |")
		sep += "---|"
	}
	b.WriteString("\n" + sep + "\n")
	section := ""
	for _, r := range m.Rows {
		if r.Section != section {
			section = r.Section
			b.WriteString("| **" + escapeCell(section) + "** |" + strings.Repeat(" |", len(m.Columns)) + "\n")
		}
		label := r.Text
		if r.ID != r.Text {
			label = "`" + r.ID + "` " + r.Text
		}
		cells := []string{label}
		for _, c := range m.Columns {
			cell, ok := r.Cells[c.ID]
			if !ok && c.Failure != "" {
				cells = append(cells, "⚪ not run")
				continue
			}
			cells = append(cells, cellText(cell, ok))
		}
		b.WriteString(tableRow(cells...))
	}
	return b.String()
}

// runMatrix is `verdict -matrix`: each argument a column.json; Markdown to
// -md, JSON beside it (matrix.json). The exit status is the worst column's.
func runMatrix(opts options, stdout, stderr io.Writer) int {
	var cols []Column
	for _, p := range opts.reports {
		raw, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "verdict: %v\n", err)
			return statusBroken
		}
		var c Column
		if err := json.Unmarshal(raw, &c); err != nil {
			fmt.Fprintf(stderr, "verdict: %s: %v\n", p, err)
			return statusBroken
		}
		cols = append(cols, c)
	}
	m, err := BuildMatrix(cols)
	if err != nil {
		fmt.Fprintf(stderr, "verdict: %v\n", err)
		return statusBroken
	}
	status := 0
	for _, c := range m.Columns {
		line := c.Closing
		if c.Failure != "" {
			line = c.Result + ": " + c.Failure
		}
		fmt.Fprintf(stdout, "%-16s %-18s %s\n", c.ID, c.Kubernetes, line)
		switch {
		case c.Result == "FAIL" || c.Result == "no verdict":
			if !c.PreRelease {
				status = 1
			}
		case c.Result == "INCOMPLETE" && status == 0:
			status = 3
		}
	}
	if opts.mdPath != "" {
		if _, st := writeMarkdown(opts.mdPath, MatrixMarkdown(m, opts.command), stderr); st != 0 {
			return st
		}
		raw, _ := json.MarshalIndent(m, "", "  ")
		jsonPath := strings.TrimSuffix(opts.mdPath, ".md") + ".json"
		if err := os.WriteFile(jsonPath, append(raw, '\n'), 0o644); err != nil {
			fmt.Fprintf(stderr, "verdict: %v\n", err)
			return statusBroken
		}
		fmt.Fprintf(stdout, "matrix: %s, %s\n", opts.mdPath, jsonPath)
	}
	return status
}
