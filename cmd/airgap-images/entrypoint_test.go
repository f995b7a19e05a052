package main

import (
	"regexp"
	"strings"
	"testing"
)

// The node's cgroups are prepared by a plan that internal/nodehost decides
// from the host's tables and tests on the tables of other hosts (a fresh
// machine among them); the entrypoint must carry that plan out, never decide
// on its own. The entrypoint this replaced mounted "every enabled hierarchy"
// itself: on a fresh host it joined net_cls, perf_event, net_prio and hugetlb,
// which only share "hierarchy 0", into one new hierarchy, which a private
// cgroup namespace cannot create, and the node exited at once (status 32).
func TestEntrypointLeavesCgroupsToTheTestedPlan(t *testing.T) {
	ep := string(nodeFile("entrypoint"))
	run := regexp.MustCompile(`(?m)^kiamol-node-prep cgroups$`).FindStringIndex(ep)
	if run == nil {
		t.Fatal("the entrypoint does not run `kiamol-node-prep cgroups`: the node would start without the tested cgroup plan")
	}
	if exec := strings.Index(ep, `exec "$@"`); exec < 0 || exec < run[0] {
		t.Error("the cgroup plan must run before the entrypoint execs systemd")
	}
	for _, decides := range []struct{ what, re string }{
		{"reads /proc/cgroups", `/proc/cgroups`},
		{"mounts a cgroup hierarchy", `mount\b[^\n]*-t\s+cgroup`},
		{"binds cgroups", `mount --bind[^\n]*(hierarchy|cgroup)`},
		{"lists cgroup mounts", `findmnt[^\n]*cgroup`},
	} {
		for _, line := range strings.Split(ep, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if regexp.MustCompile(decides.re).MatchString(line) {
				t.Errorf("the entrypoint %s itself (%q): that is the plan's to decide (internal/nodehost)", decides.what, strings.TrimSpace(line))
			}
		}
	}
}
