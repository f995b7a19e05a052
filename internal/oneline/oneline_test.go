package oneline

import "testing"

func TestOneLine(t *testing.T) {
	if got := Collapse("  a\n\tb  c "); got != "a b c" {
		t.Errorf("Collapse %q", got)
	}
	if got := First("\n\n  first \nsecond\n"); got != "first" {
		t.Errorf("First %q", got)
	}
	if got := Last("one\ntwo  \n\n"); got != "two" {
		t.Errorf("Last %q", got)
	}
	if got := StripLogPrefix("E1127 07:41:31.384731    2492 exec.go:12] error: boom\nplain"); got != "error: boom\nplain" {
		t.Errorf("StripLogPrefix %q", got)
	}
}
