package nodehost

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Why a node can refuse to die on a cgroup v1 host: runc, inside the node,
// freezes a container's cgroup while it changes the container's device
// rules, and thaws it after. When the node is killed in that window (a
// run's teardown while Pods start), runc dies with the cgroup still FROZEN.
// The node's init then waits, in the kernel, for every process of its PID
// namespace to exit, and the frozen ones cannot until thawed: Docker gives
// up after 12 s ("tried to kill container, but did not receive an exit
// event") and the node stays, running, for ever. On cgroup v2 a fatal
// signal reaches frozen processes, so only the v1 freezer needs this.

// FreezerRoot is where the host's cgroup v1 freezer hierarchy is mounted,
// if it is.
func FreezerRoot(mounts []Mount) (string, bool) {
	for _, m := range v1Mounts(mounts) {
		if slices.Contains(m.Options, "freezer") {
			return m.Target, true
		}
	}
	return "", false
}

// HostFreezerRoot is FreezerRoot of this process's own mount table
// (false off Linux, or when it cannot be read).
func HostFreezerRoot() (string, bool) {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	mounts, err := ParseMountinfo(string(raw))
	if err != nil {
		return "", false
	}
	return FreezerRoot(mounts)
}

// containerDirDepth bounds the search for a container's cgroup below the
// freezer's root: docker/<id> (cgroupfs driver), system.slice/docker-<id>.scope
// (systemd driver), deeper under a custom cgroup parent.
const containerDirDepth = 4

// ContainerCgroups finds the freezer cgroup directories of container id
// (the full 64-hex ID) under root: only a directory named after that ID.
func ContainerCgroups(root, id string) ([]string, error) {
	if len(id) < 12 || strings.ContainsAny(id, "/.") {
		return nil, fmt.Errorf("container ID %q is not one", id)
	}
	var found []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != root {
				return nil // a cgroup that went while we looked
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if name := d.Name(); path != root && (name == id || name == "docker-"+id+".scope") {
			found = append(found, path)
			return fs.SkipDir
		}
		if rel, _ := filepath.Rel(root, path); rel != "." && strings.Count(rel, string(filepath.Separator))+1 >= containerDirDepth {
			return fs.SkipDir
		}
		return nil
	})
	return found, err
}

// Thaw sets every frozen (or freezing) cgroup at or below dir to THAWED,
// parents before children (a child cannot thaw while its parent is frozen),
// and returns the ones it thawed, relative to dir. A cgroup that goes while
// it looks is not an error: the node is being removed.
func Thaw(dir string) ([]string, error) {
	var thawed []string
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		state := filepath.Join(path, "freezer.state")
		raw, err := os.ReadFile(state)
		if err != nil {
			return nil // gone, or the node's own root before it has one
		}
		if s := strings.TrimSpace(string(raw)); s != "FROZEN" && s != "FREEZING" {
			return nil
		}
		if err := os.WriteFile(state, []byte("THAWED"), 0); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		thawed = append(thawed, rel)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	return thawed, errors.Join(errs...)
}
