package chapters

import (
	"fmt"
	"strings"
)

// ClaimsTable is the README's table of every chapter's claims, from their
// descriptors: ID, sentence, the book's commands (the fixture's first),
// needs and labels (go run ./hack/claimstable prints it).
func ClaimsTable() string {
	var b strings.Builder
	b.WriteString("| ID | claim | the book's commands | needs | labels |\n|---|---|---|---|---|\n")
	for _, ch := range Books() {
		for _, c := range ch.Claims {
			var cmds, needs []string
			for _, s := range c.Steps {
				cmds = append(cmds, "`"+strings.ReplaceAll(s.Book, "|", `\|`)+"`")
			}
			for _, n := range c.Needs {
				needs = append(needs, string(n))
			}
			says := strings.ReplaceAll(c.Says, "<", "&lt;")
			if c.Later != "" {
				says += " (left for later: " + c.Later + ")"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", c.ID, says, strings.Join(cmds, "<br>"), strings.Join(needs, ", "), strings.Join(append([]string{ch.ID}, c.Labels...), ", "))
		}
	}
	return b.String()
}
