package book

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Step is one of the book's commands, as the book prints it, and what a run
// must put differently in it. A claim's body runs its steps (never a
// command typed a second time), and the verdict prints each as it ran,
// beside the book's form where a substitution applies.
type Step struct {
	// Book is the command as a reader types it.
	Book string
	// Subs are the words a run puts differently, each once, with why.
	Subs []Sub
}

// Sub is a word of a step that a run replaces.
type Sub struct {
	Word string // as the book has it: "8080:80"
	// As is what runs instead, one word or several ("--address=127.0.0.1
	// :80"); "" when only the run knows it (a local server's URL), and the
	// claim gives it as it runs the step.
	As  string
	Why string
}

// Kubectl is a kubectl command of the book.
func Kubectl(book string) Step { return Step{Book: book} }

// Sub returns the step with one word replaced by as, for why.
func (s Step) Sub(word, as, why string) Step {
	s.Subs = append(slices.Clip(s.Subs), Sub{Word: word, As: as, Why: why})
	return s
}

// SubAtRun returns the step with one word the run fills in as it runs it.
func (s Step) SubAtRun(word, why string) Step { return s.Sub(word, "", why) }

// Runtime is a command the book runs against the node's container runtime
// (docker), which a run carries out along the way it reaches that runtime.
func Runtime(book, why string) Step {
	return Step{Book: book, Subs: []Sub{{Word: book, Why: why}}}
}

// IsRuntime says the step is a runtime command, not kubectl's.
func (s Step) IsRuntime() bool { return !strings.HasPrefix(s.Book, "kubectl ") }

// containerLabel is how the book's docker command finds a Pod's container.
var containerLabel = regexp.MustCompile(`label=io\.kubernetes\.container\.name=([a-z0-9-]+)`)

// Container is the container a runtime step acts on, by the label the
// book's command filters on.
func (s Step) Container() string {
	if m := containerLabel.FindStringSubmatch(s.Book); m != nil {
		return m[1]
	}
	return ""
}

// Args are kubectl's arguments for the step (the book's words after
// "kubectl"), each substitution applied; put gives the words only the run
// knows. A substitution not given, or a word given that the step does not
// declare, is an error: the descriptor and the claim's body disagree.
func (s Step) Args(put map[string]string) ([]string, error) {
	if s.IsRuntime() {
		return nil, fmt.Errorf("step %q is not a kubectl command", s.Book)
	}
	words, err := Words(s.Book)
	if err != nil {
		return nil, err
	}
	for w := range put {
		if !slices.ContainsFunc(s.Subs, func(sub Sub) bool { return sub.Word == w && sub.As == "" }) {
			return nil, fmt.Errorf("step %q declares no substitution of %q made at run time", s.Book, w)
		}
	}
	out := make([]string, 0, len(words))
	for _, w := range words[1:] {
		for _, sub := range s.Subs {
			if sub.Word != w {
				continue
			}
			as := sub.As
			if as == "" {
				var ok bool
				if as, ok = put[w]; !ok {
					return nil, fmt.Errorf("step %q: the run gave nothing for %q (%s)", s.Book, w, sub.Why)
				}
			}
			more, err := Words(as)
			if err != nil {
				return nil, fmt.Errorf("step %q: what runs for %q: %w", s.Book, w, err)
			}
			out = append(out, more...)
			w = ""
		}
		if w != "" {
			out = append(out, w)
		}
	}
	return out, nil
}

// Check says whether the step is one the suite can run as declared.
func (s Step) Check() error {
	if s.Book == "" {
		return fmt.Errorf("a step without a command")
	}
	if s.IsRuntime() {
		if s.Container() == "" {
			return fmt.Errorf("runtime step %q names no container by label io.kubernetes.container.name", s.Book)
		}
		return nil
	}
	words, err := Words(s.Book)
	if err != nil {
		return fmt.Errorf("step %q: %w", s.Book, err)
	}
	for _, w := range words {
		if strings.Contains(w, "$(") && !slices.ContainsFunc(s.Subs, func(sub Sub) bool { return sub.Word == w }) {
			return fmt.Errorf("step %q: %s needs a shell: declare what runs instead", s.Book, w)
		}
	}
	for _, sub := range s.Subs {
		if sub.Why == "" {
			return fmt.Errorf("step %q: the substitution of %q says no why", s.Book, sub.Word)
		}
		if !slices.Contains(words, sub.Word) {
			return fmt.Errorf("step %q has no word %q to substitute", s.Book, sub.Word)
		}
	}
	return nil
}

// Words splits a command as a POSIX shell would a line without expansions:
// on blanks, with '...' taken as is and "..." with \" and \\ escaped.
func Words(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) && (line[j+1] == '"' || line[j+1] == '\\') {
					j++
				}
				cur.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated \" in %q", line)
			}
			i = j
			inWord = true
		case c == '$' && strings.HasPrefix(line[i:], "$("):
			// A command substitution is one word, kept as written: a step
			// must substitute it (Sub or SubAtRun), since nothing here runs
			// a shell.
			end := closing(line, i+1)
			if end < 0 {
				return nil, fmt.Errorf("unterminated $( in %q", line)
			}
			cur.WriteString(line[i : end+1])
			i = end
			inWord = true
		case c == '$' || c == '|' || c == ';' || c == '&' || c == '`' || c == '>' || c == '<':
			return nil, fmt.Errorf("%q needs a shell (%c): the suite runs commands without one", line, c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("an empty command")
	}
	return out, nil
}

// closing is the index of the ")" that closes the "(" at open, quotes
// inside taken as they are; -1 if none.
func closing(line string, open int) int {
	depth := 0
	var quote byte
	for i := open; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
