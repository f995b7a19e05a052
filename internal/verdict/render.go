package verdict

import (
	"fmt"
	"io"
	"strings"
	"time"
)

var (
	// word is how stdout shows an outcome, four wide so the times line up.
	word = map[outcome]string{pass: "PASS", fail: "FAIL", skip: "SKIP", notRun: "----"}
	mark = map[outcome]string{pass: "✅ pass", fail: "❌ fail", skip: "⏭ skip", notRun: "⚪ not run"}
)

// privilegedHeading introduces what the run made on the cluster with
// privilege: all of it lives in the run's own namespaces, which the run
// deletes.
const privilegedHeading = "made on the cluster with privilege, in the run's own namespaces (deleted with them)"

// closingLine is what CI logs and scripts grep for: the result, then the
// non-zero counts, "e2e: INCOMPLETE (8 passed, 2 skipped, 13 not run)".
func closingLine(v verdict) string {
	return fmt.Sprintf("e2e: %s (%s)", resultWord[v.result()], counts(v))
}

// writeSummary prints the plain-text verdict; a broken cluster comes
// first, because it explains everything after it, and the closing line
// last.
func writeSummary(w io.Writer, v verdict, mdPath string) {
	for _, b := range v.broken {
		fmt.Fprintln(w, "cluster broken: "+b)
	}
	fmt.Fprintln(w, "cluster: "+describeCluster(v.cluster))
	if v.cluster != nil {
		for _, n := range v.cluster.Nodes {
			fmt.Fprintln(w, "  "+describeNode(n))
			for _, warning := range n.Warnings {
				fmt.Fprintln(w, "    the kubelet warns: "+warning)
			}
		}
		if k := kubectlLine(v.cluster); k != "" {
			fmt.Fprintln(w, k)
		}
		fmt.Fprintln(w, "inputs: "+v.cluster.Inputs.Describe())
	}
	if len(v.privileged) > 0 {
		fmt.Fprintln(w, privilegedHeading+":")
		for _, p := range v.privileged {
			fmt.Fprintln(w, "  "+p.Describe())
		}
	}
	for _, name := range sectionOrder() {
		rows := v.section(name)
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintln(w, name+":")
		for _, r := range rows {
			writeRow(w, r)
		}
	}
	for _, line := range v.notes("%q") {
		fmt.Fprintln(w, line)
	}
	if mdPath != "" {
		fmt.Fprintln(w, "verdict: "+mdPath)
	}
	for _, line := range v.verdictReasons("%q") {
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, closingLine(v))
}

func writeRow(w io.Writer, r row) {
	fmt.Fprintf(w, "%s %5s  %s\n", word[r.outcome], seconds(r), r.claim)
	switch {
	case r.outcome == fail:
		fmt.Fprintln(w, "      cause: "+r.note)
	case r.note != "":
		fmt.Fprintln(w, "      reason: "+r.note)
	}
	if r.outcome != pass && len(r.commands) > 0 {
		// What ran, or what a reader would type, to see it for themselves.
		label := "book"
		if r.ran {
			label = "ran"
		}
		fmt.Fprintln(w, "      "+label+": "+strings.Join(r.commands, " ; "))
	}
	if r.path != "" {
		fmt.Fprintln(w, "      path: "+r.path)
	}
}

// notes account for what no row shows: specs counted but not listed, and
// why Ginkgo failed the suite as a whole. quote formats the label filter.
func (v verdict) notes(quote string) []string {
	var out []string
	if v.deselected > 0 {
		out = append(out, fmt.Sprintf("%d not run: not selected by the label filter "+quote, v.deselected, v.labelFilter))
	}
	if v.neverStarted > 0 {
		out = append(out, fmt.Sprintf("%d not run: never started, the suite stopped before them", v.neverStarted))
	}
	for _, r := range v.reasons {
		out = append(out, "suite: "+collapse(r))
	}
	for _, c := range v.cleanup {
		out = append(out, "cleanup: "+collapse(c))
	}
	for _, l := range v.later {
		out = append(out, "not checked yet, left for later: "+l)
	}
	return out
}

func markdown(v verdict) string {
	var b strings.Builder
	b.WriteString("# kiamol-e2e verdict: " + chapterList() + "\n\n")
	writeBroken(&b, v.broken)
	b.WriteString("Cluster: " + escape(describeCluster(v.cluster)) + "\n\n")
	if v.cluster != nil {
		b.WriteString("Inputs: " + escape(v.cluster.Inputs.Describe()) + "\n\n")
	}
	writeNodeTable(&b, v.cluster)
	if len(v.privileged) > 0 {
		b.WriteString(escape(privilegedHeading) + ":\n\n")
		for _, p := range v.privileged {
			b.WriteString("- " + escape(p.Describe()) + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("Result: " + resultLine(v) + "\n\n")
	if notes := append(v.notes("`%s`"), v.verdictReasons("`%s`")...); len(notes) > 0 {
		// two trailing spaces: a Markdown line break within one paragraph
		b.WriteString(escape(strings.Join(notes, "  \n")) + "\n\n")
	}
	for _, name := range sectionOrder() {
		writeSection(&b, name, v.section(name))
	}
	return b.String()
}

// writeBroken makes a broken cluster the first paragraph under the title.
func writeBroken(b *strings.Builder, broken []string) {
	if len(broken) == 0 {
		return
	}
	var lines []string
	for _, l := range broken {
		lines = append(lines, "Cluster broken: "+escape(l))
	}
	b.WriteString(strings.Join(lines, "  \n") + "\n\n")
}

func writeNodeTable(b *strings.Builder, c *ClusterInfo) {
	if c == nil || len(c.Nodes) == 0 {
		return
	}
	b.WriteString("| node | OS | kernel | runtime | kubelet | cgroup |\n|---|---|---|---|---|---|\n")
	for _, n := range c.Nodes {
		name := n.Name
		if n.NotReal != "" {
			name += " (not a real node: " + n.NotReal + ")"
		}
		b.WriteString(tableRow(name, n.OSImage, n.Kernel, n.Runtime, n.Kubelet, cgroupOf(n)))
	}
	b.WriteString("\n")
	for _, n := range c.Nodes {
		for _, w := range n.Warnings {
			b.WriteString(escape("node "+n.Name+": the kubelet warns: "+w) + "  \n")
		}
	}
	if k := kubectlLine(c); k != "" {
		b.WriteString(escape(k) + "\n\n")
	}
}

func resultLine(v verdict) string {
	s := fmt.Sprintf("**%s** (%s)", resultWord[v.result()], counts(v))
	if !v.start.IsZero() {
		s += fmt.Sprintf(" — run at %s, took %s", v.start.UTC().Format("2006-01-02 15:04:05 UTC"), v.took.Round(100*time.Millisecond))
	}
	return s
}

// counts lists only the non-zero counts: "(10 passed)" reads better than
// "(10 passed, 0 failed, 0 skipped)".
func counts(v verdict) string {
	var parts []string
	for _, c := range []struct {
		n    int
		what string
	}{{v.passed, "passed"}, {v.failed, "failed"}, {v.skipped, "skipped"}, {v.notRun, "not run"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.what))
		}
	}
	if len(parts) == 0 {
		return "nothing ran"
	}
	return strings.Join(parts, ", ")
}

func writeSection(b *strings.Builder, name string, rows []row) {
	if len(rows) == 0 {
		return
	}
	first := "claim"
	if name == suiteSection {
		first = "node"
	}
	b.WriteString("## " + name + "\n\n")
	claims := len(rows) > 0 && rows[0].chapter != ""
	if claims {
		b.WriteString("| claim | commands as they ran (or the book's, where none ran) | result | time | cause / reason |\n|---|---|---|---|---|\n")
	} else {
		b.WriteString("| " + first + " | result | time | cause / reason |\n|---|---|---|---|\n")
	}
	for _, r := range rows {
		note := r.note
		if r.path != "" {
			note = joinNonEmpty("; ", note, "path: "+r.path)
		}
		if claims {
			b.WriteString(tableRow(r.claim, code(r.commands), mark[r.outcome], seconds(r), note))
			continue
		}
		b.WriteString(tableRow(r.claim, mark[r.outcome], seconds(r), note))
	}
	b.WriteString("\n")
}

func tableRow(cells ...string) string {
	for i, c := range cells {
		cells[i] = escapeCell(c)
	}
	return "| " + strings.Join(cells, " | ") + " |\n"
}

// escapeCell keeps a cell inside its column: a bare | or newline would
// end it.
func escapeCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(escape(s), "\n", "<br>")
}

// escape stops GitHub from reading text such as "<hash>" or Gomega's
// "<string>:" as an HTML tag and hiding it.
func escape(s string) string {
	return strings.ReplaceAll(s, "<", "&lt;")
}

func seconds(r row) string {
	if r.outcome == notRun || r.absent {
		return ""
	}
	return fmt.Sprintf("%.1fs", r.runTime.Seconds())
}

// code shows commands as inline code, one a line in the cell.
func code(cmds []string) string {
	var out []string
	for _, c := range cmds {
		out = append(out, "`"+strings.ReplaceAll(c, "`", "'")+"`")
	}
	return strings.Join(out, "\n")
}

// chapterList names the chapters judged: "chapter 2", "chapters 2, 3".
func chapterList() string {
	var n []string
	for _, c := range books {
		n = append(n, strings.TrimLeft(strings.TrimPrefix(c.ID, "ch"), "0"))
	}
	if len(n) == 1 {
		return "chapter " + n[0]
	}
	return "chapters " + strings.Join(n, ", ")
}
