// Package oneline turns what tools print (kubectl, crictl, docker, the
// kubelet's journal) into the one line a cause is told in: whitespace
// collapsed, a chosen line, log prefixes stripped.
package oneline

import (
	"regexp"
	"strings"
)

// Collapse joins s's words with single spaces: one line.
func Collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// First is s's first non-empty line, trimmed.
func First(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// Last is s's last non-empty line, trimmed.
func Last(s string) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(ls[len(ls)-1])
}

// klogPrefix is klog's header: severity, date, time, thread, file:line
// ("E1127 07:41:31.384731    2492 remote_runtime.go:366] "). kubectl,
// crictl and the kubelet log with it.
var klogPrefix = regexp.MustCompile(`(?m)^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [^ \]]+\] `)

// StripLogPrefix removes klog's header from the start of every line.
func StripLogPrefix(s string) string { return klogPrefix.ReplaceAllString(s, "") }
