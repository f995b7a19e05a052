// Package nodehost decides what a kind node needs of the machine it runs on,
// and what the node does about what that machine lacks, from the machine's
// own tables: /proc/cgroups, the mount table, the capability bounding set.
//
// The same decisions serve two places. Inside a node, images/node-prep turns a
// Plan into mounts before systemd starts (the node image's entrypoint runs
// it). On the host, preflight and `make doctor` use Check to refuse, in one
// line and before a nine-minute image build, a machine where no node could
// start. Both are pure functions of the tables, so unit tests feed them the
// tables of hosts other than the one they run on (testdata/). When a node is
// removed, the cluster package thaws what runc left frozen in it (Thaw):
// on a cgroup v1 host a node cannot die before that.
package nodehost

import (
	"bufio"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Controller is one line of /proc/cgroups.
type Controller struct {
	Name string
	// Hierarchy is the v1 hierarchy the controller is attached to; 0 means
	// none: nothing on the host has ever mounted it (or it is on cgroup v2).
	Hierarchy int
	Enabled   bool
}

// ParseProcCgroups reads /proc/cgroups.
func ParseProcCgroups(text string) ([]Controller, error) {
	var out []Controller
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("/proc/cgroups: line %q has %d fields, want 4", line, len(f))
		}
		h, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("/proc/cgroups: line %q: hierarchy %q is not a number", line, f[1])
		}
		out = append(out, Controller{Name: f[0], Hierarchy: h, Enabled: f[3] == "1"})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("/proc/cgroups lists no controller")
	}
	return out, sc.Err()
}

// Mount is one line of a mountinfo table (/proc/self/mountinfo).
type Mount struct {
	Target string
	FSType string
	// Options are the filesystem's own (super) options; for a cgroup v1
	// mount they name its controllers ("rw,cpu,cpuacct", "rw,name=systemd").
	Options []string
}

// ParseMountinfo reads a mountinfo table. Only the mount point, the type and
// the super options are kept: what tells one cgroup hierarchy from another.
func ParseMountinfo(text string) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		before, after, ok := strings.Cut(line, " - ")
		f, tail := strings.Fields(before), strings.Fields(after)
		if !ok || len(f) < 5 || len(tail) < 3 {
			return nil, fmt.Errorf("mountinfo: line %q is not a mount", line)
		}
		out = append(out, Mount{Target: unescape(f[4]), FSType: tail[0], Options: strings.Split(tail[2], ",")})
	}
	return out, sc.Err()
}

// unescape undoes mountinfo's octal escapes (\040 for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CgroupRoot is where every container and node sees its cgroups.
const CgroupRoot = "/sys/fs/cgroup"

// isV2 says whether the cgroup root itself is the unified (v2) hierarchy.
func isV2(mounts []Mount) bool {
	for _, m := range mounts {
		if m.Target == CgroupRoot && m.FSType == "cgroup2" {
			return true
		}
	}
	return false
}

// v1Mounts are the cgroup v1 hierarchies mounted under the cgroup root.
func v1Mounts(mounts []Mount) []Mount {
	var out []Mount
	for _, m := range mounts {
		if m.FSType == "cgroup" && strings.HasPrefix(m.Target, CgroupRoot+"/") {
			out = append(out, m)
		}
	}
	return out
}

// mountedIn says whether a v1 controller is among the mounts' options.
func mountedIn(mounts []Mount, controller string) bool {
	for _, m := range mounts {
		if slices.Contains(m.Options, controller) {
			return true
		}
	}
	return false
}

// NodeView is the cgroup mount table a privileged kind node starts with on a
// host with these mounts: with a private cgroup namespace (kind's default),
// the container runtime mounts each v1 hierarchy the host has mounted, at the
// same place, and on cgroup v2 the unified hierarchy at the root; a hybrid
// host's extra cgroup2 mount (/sys/fs/cgroup/unified) is not passed on.
// (Recorded on this project's machines: testdata/*/node-mountinfo.)
func NodeView(host []Mount) []Mount {
	if isV2(host) {
		return []Mount{{Target: CgroupRoot, FSType: "cgroup2"}}
	}
	out := []Mount{{Target: CgroupRoot, FSType: "tmpfs"}}
	return append(out, v1Mounts(host)...)
}
