//go:build linux

// Command kiamol-node-prep prepares a kind node's cgroups before systemd
// starts: the node image's entrypoint runs `kiamol-node-prep cgroups` as its
// first real step. What it mounts, skips and binds is decided by
// internal/nodehost from this host's /proc/cgroups and the node's mount
// table (unit-tested there on the tables of other hosts); this program only
// carries the plan out and logs each step in one line. A step the host
// cannot allow is skipped with its reason, unless the kubelet cannot run
// without it: then the node exits at once, saying so.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kiamol-node: "+format+"\n", args...)
}

func main() {
	if len(os.Args) != 2 || os.Args[1] != "cgroups" {
		fmt.Fprintln(os.Stderr, "usage: kiamol-node-prep cgroups")
		os.Exit(2)
	}
	if err := cgroups(); err != nil {
		logf("%v", err)
		os.Exit(1)
	}
}

func cgroups() error {
	rawCgroups, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		return err
	}
	rawMounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	ctrls, err := nodehost.ParseProcCgroups(string(rawCgroups))
	if err != nil {
		return err
	}
	mounts, err := nodehost.ParseMountinfo(string(rawMounts))
	if err != nil {
		return err
	}
	plan := nodehost.PlanNode(ctrls, mounts)
	if plan.V2 {
		logf("cgroup v2: nothing to prepare")
		return nil
	}
	// kind waits for this line (or systemd's "Reached target Multi-User
	// System") before it looks into the node.
	logf("detected cgroup v1")
	if plan.Fatal != "" {
		return fmt.Errorf("cannot run here: %s", plan.Fatal)
	}
	roots := slices.Clone(plan.Roots)
	for _, s := range plan.Steps {
		switch s.Action {
		case nodehost.HideMisc:
			logf("%s", s.Line())
			if err := hideMisc(s.Target, string(rawCgroups)); err != nil {
				return fmt.Errorf("hiding the misc controller: %w", err)
			}
		case nodehost.SkipController:
			logf("%s", s.Line())
		case nodehost.MountHierarchy:
			logf("%s", s.Line())
			if err := mountHierarchy(s); err != nil {
				if slices.ContainsFunc(s.Controllers, func(c string) bool { return slices.Contains(nodehost.KubeletNeeds, c) }) {
					return fmt.Errorf("cannot mount cgroup %s, which the kubelet needs: %w", strings.Join(s.Controllers, ","), err)
				}
				logf("skipping cgroup %s after all: mounting it failed (%v); nothing on the node needs it", strings.Join(s.Controllers, ","), err)
				roots = slices.DeleteFunc(roots, func(r string) bool { return r == s.Target })
			}
		}
	}
	// The kubelet's roots are bound onto themselves below: keep those
	// mounts from propagating back to the host.
	if err := syscall.Mount("", nodehost.CgroupRoot, "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", nodehost.CgroupRoot, err)
	}
	for _, root := range roots {
		if err := kubeletRoots(root); err != nil {
			return err
		}
	}
	logf("kubelet cgroup roots (%s) in %d hierarchies", strings.Join(nodehost.KubeletRoots, ", "), len(roots))
	return nil
}

func mountHierarchy(s nodehost.Step) error {
	if err := os.MkdirAll(s.Target, 0o755); err != nil {
		return err
	}
	err := syscall.Mount("cgroup", s.Target, "cgroup", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC|syscall.MS_RELATIME, strings.Join(s.Controllers, ","))
	if err != nil {
		_ = os.Remove(s.Target)
		return err
	}
	for _, c := range s.Links {
		link := filepath.Join(nodehost.CgroupRoot, c)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Base(s.Target), link); err != nil {
			return err
		}
	}
	return nil
}

// kubeletRoots makes the kubelet's cgroups in one hierarchy, each a mount
// point of its own: the kubelet takes a cgroup root that is one for the
// node's own, as kind's entrypoint arranges.
func kubeletRoots(hierarchy string) error {
	for _, group := range nodehost.KubeletRoots {
		dir := filepath.Join(hierarchy, group)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if slices.Contains(strings.Split(filepath.Base(hierarchy), ","), "cpuset") {
			// A new cpuset has no CPUs or memory nodes until given its
			// parent's.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				raw, err := os.ReadFile(filepath.Join(hierarchy, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, f), raw, 0o644); err != nil {
					return fmt.Errorf("%s: %w", filepath.Join(dir, f), err)
				}
			}
		}
		if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s: %w", dir, err)
		}
	}
	return nil
}

// hideMisc unmounts the v1 misc controller and shows the node a
// /proc/cgroups without it.
func hideMisc(target, rawCgroups string) error {
	if target != "" {
		if err := syscall.Unmount(target, syscall.MNT_DETACH); err != nil {
			return err
		}
		_ = os.Remove(target)
	}
	var kept []string
	for _, l := range strings.Split(rawCgroups, "\n") {
		if !strings.HasPrefix(l, "misc\t") && !strings.HasPrefix(l, "misc ") {
			kept = append(kept, l)
		}
	}
	path := "/kind/cgroups-without-misc"
	if err := os.WriteFile(path, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		return err
	}
	return syscall.Mount(path, "/proc/cgroups", "", syscall.MS_BIND, "")
}
