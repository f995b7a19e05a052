package verdict

import (
	"strings"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

// maxCause keeps a cause short enough for one table cell or log line; the
// full message stays in Ginkgo's own report.
const maxCause = 200

// cause is the one line a reader needs to see why a spec or suite node
// failed: the first cause the suite recorded in its report (report.Cause),
// as it was written. A failure with none is Ginkgo's own ending of the
// node (a timeout, an interrupt, an abort) or a panic, said as such.
func cause(s types.SpecReport) string {
	for _, e := range s.ReportEntries {
		if e.Name != report.CauseEntry {
			continue
		}
		if c, ok := report.ParseCause(e.Value.String()); ok {
			text := collapse(tidy(c.Reason))
			if s.State == types.SpecStateTimedout || s.State == types.SpecStateInterrupted {
				// The wait that was under way when time ran out says what
				// the cluster was doing.
				text = emptyCause(s.State) + ": " + text
			}
			return truncate(text, maxCause)
		}
	}
	f := s.Failure
	switch {
	case f.ForwardedPanic != "":
		return truncate("panic: "+collapse(f.ForwardedPanic), maxCause)
	case s.State != types.SpecStateFailed && f.Message != "":
		// Ginkgo's own words for how it ended the node ("Interrupted by
		// User", "A spec timeout occurred").
		return truncate(collapse(f.Message), maxCause)
	}
	return emptyCause(s.State)
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

// collapse is oneline.Collapse: one line, single spaces.
var collapse = oneline.Collapse

var joinNonEmpty = oneline.JoinNonEmpty

func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max-1]) + "…"
}

// tidy is oneline.Tidy on each line of a cause.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = oneline.Tidy(l)
	}
	return strings.Join(lines, "\n")
}
