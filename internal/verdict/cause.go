package verdict

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// maxCause keeps a cause short enough for one table cell or log line; the
// full message stays in Ginkgo's own report.
const maxCause = 200

var (
	ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

	// noise says how or when an assertion gave up, never what was wrong:
	// Gomega's async preambles and Ginkgo's timeout/interrupt wrappers.
	noise = regexp.MustCompile(`^(` +
		`(Timed out|Context was cancelled|Told to stop trying|Failed|No future change is possible).* after [0-9.]+s\.` +
		`|A .*timeout occurred and then the following failure was recorded.*` +
		`|An interrupt occurred and then the following failure was recorded.*` +
		`|At one point, however, the function did return successfully\.` +
		`|Yet, (Eventually|Consistently) failed because.*` +
		`|The (function|matcher) passed to (Eventually|Consistently) returned the following error:` +
		`)$`)

	// valueHeader starts a value printed by Gomega's format.Object,
	// "<type>: value" or, for an error, "<*T | 0xc...>: " with the error
	// text on the next line.
	valueHeader = regexp.MustCompile(`^<[^<>]+>: ?`)
)

// cause is the one line a reader needs to see why a spec or suite node
// failed.
func cause(f types.Failure, state types.SpecState) string {
	text := causeOf(f.Message)
	if f.ForwardedPanic != "" {
		// Message is only "Test Panicked"; the panic value says what.
		text = "panic: " + causeOf(f.ForwardedPanic)
	}
	if f.AdditionalFailure != nil {
		// After a timeout or interrupt, the node's own last failure is
		// where the state of the cluster shows.
		if more := causeOf(f.AdditionalFailure.Failure.Message); more != "" {
			text = joinNonEmpty(": ", text, more)
		}
	}
	if text == "" {
		text = emptyCause(state)
	}
	return truncate(text, maxCause)
}

func emptyCause(state types.SpecState) string {
	switch state {
	case types.SpecStateInterrupted:
		return "interrupted"
	case types.SpecStateTimedout:
		return "timed out"
	}
	return state.String()
}

// causeOf picks the first informative line of a failure message (in a
// Gomega assertion that is the description) and, when the rest of the
// message shows the actual value or error, appends its first line, because
// "pod is Ready" alone does not say what the pod was doing instead.
func causeOf(msg string) string {
	lines := messageLines(msg)
	h := firstInformative(lines)
	if h < 0 {
		if len(lines) == 0 {
			return ""
		}
		return collapse(lines[0])
	}
	head := collapse(lines[h])
	if _, ok := marker(head); ok || valueHeader.MatchString(head) {
		// no description: the matcher's message is all there is
		return summariseBlock(lines[h:])
	}
	if d, ok := detail(lines[h+1:]); ok {
		return dropLeadIn(head) + " — " + d
	}
	if strings.HasSuffix(head, ":") && h+1 < len(lines) {
		return head + " " + collapse(lines[h+1])
	}
	if !strings.Contains(head, ": ") && h+1 < len(lines) && indent(lines[h+1]) == 0 {
		// A bare description ("every node is Ready") followed by the
		// message a StopTrying gave: that message is the cause.
		return head + ": " + collapse(lines[h+1])
	}
	return head
}

// messageLines drops colour codes and blank lines but keeps indentation,
// which is how Gomega marks where a printed value ends.
func messageLines(msg string) []string {
	var out []string
	for _, l := range strings.Split(ansi.ReplaceAllString(msg, ""), "\n") {
		if l = strings.TrimRight(l, " \t\r"); strings.TrimSpace(l) != "" {
			out = append(out, cleanLine(l))
		}
	}
	return out
}

func firstInformative(lines []string) int {
	for i, l := range lines {
		if !noise.MatchString(collapse(l)) {
			return i
		}
	}
	return -1
}

// marker recognises a Gomega line that only introduces the value printed
// after it ("Expected", "Unexpected error:", "Expected success, but got an
// error:") and says how to label that value.
func marker(line string) (label string, ok bool) {
	switch {
	case strings.HasSuffix(line, "error:"):
		return "error: ", true
	case line == "Expected", strings.HasPrefix(line, "Expected") && strings.HasSuffix(line, ":"):
		return "got ", true
	}
	return "", false
}

// detail finds what was seen instead: the first printed value (labelled
// by the marker before it) or a custom matcher's "expected ..." line.
func detail(lines []string) (string, bool) {
	label := ""
	for i, l := range lines {
		line := collapse(l)
		if m, ok := marker(line); ok {
			label = m
			continue
		}
		switch {
		case valueHeader.MatchString(line):
			return label + valueText(lines, i), true
		case strings.HasPrefix(line, "expected "):
			if strings.HasSuffix(line, ":") && i+1 < len(lines) {
				line += " " + collapse(lines[i+1])
			}
			return line, true
		}
	}
	return "", false
}

// valueText is the first line of the value whose header is lines[i]; an
// error's header is followed by its text on the next line.
func valueText(lines []string, i int) string {
	if v := collapse(valueHeader.ReplaceAllString(collapse(lines[i]), "")); v != "" {
		if v == "[" || v == "{" {
			// a list or struct printed one element a line: keep the
			// elements, which say what was seen, in one line
			return openedValue(v, lines[i+1:], indent(lines[i]))
		}
		return v
	}
	if i+1 < len(lines) && indent(lines[i+1]) > 0 {
		return collapse(lines[i+1])
	}
	return ""
}

// openedValue joins the lines of a value printed over several lines, up to
// its closing bracket (the first line back at the opening's indent).
func openedValue(open string, rest []string, base int) string {
	parts := []string{open}
	for _, l := range rest {
		parts = append(parts, collapse(l))
		if indent(l) <= base {
			break
		}
	}
	return strings.Join(parts, " ")
}

// summariseBlock turns "Expected / <int>: 3 / to equal / <int>: 4" into
// "Expected 3 to equal 4", keeping one line of each printed value.
func summariseBlock(lines []string) string {
	var parts []string
	for i := 0; i < len(lines); i++ {
		line := collapse(lines[i])
		switch {
		case valueHeader.MatchString(line):
			parts = append(parts, valueText(lines, i))
			for i+1 < len(lines) && indent(lines[i+1]) > 0 && !valueHeader.MatchString(collapse(lines[i+1])) {
				i++
			}
		case indent(lines[i]) == 0:
			parts = append(parts, line)
		}
	}
	return collapse(strings.Join(parts, " "))
}

// dropLeadIn removes a trailing "...; latest events:" from a description
// whose list is skipped in favour of the detail.
func dropLeadIn(head string) string {
	if !strings.HasSuffix(head, ":") {
		return head
	}
	head = strings.TrimSuffix(head, ":")
	if i := strings.LastIndex(head, "; "); i > 0 {
		return head[:i]
	}
	return head
}

func indent(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}

// collapse is oneline.Collapse: one line, single spaces.
var collapse = oneline.Collapse

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}
