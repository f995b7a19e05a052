package main

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
)

// removePartial deletes a step's unfinished output. debootstrap mounts /proc
// and /sys (and may bind /dev) inside the tree it builds; a run interrupted
// at the wrong moment can leave them mounted, and a recursive delete must
// never walk into the host's /dev or /sys through them. So: unmount whatever
// is under dir first, and delete nothing if that fails.
func removePartial(dir string) error {
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("not deleting %s: %w", dir, err)
	}
	return os.RemoveAll(dir)
}

func unmountUnder(dir string) error {
	points, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	for _, p := range points {
		if err := syscall.Unmount(p, syscall.MNT_DETACH); err != nil && err != syscall.EINVAL && err != syscall.ENOENT {
			return fmt.Errorf("unmount %s: %w", p, err)
		}
	}
	if left, err := mountsUnder(dir); err != nil || len(left) > 0 {
		return fmt.Errorf("still mounted under %s: %v %v", dir, left, err)
	}
	return nil
}

// mountsUnder lists mount points strictly below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	mounts, err := nodehost.ParseMountinfo(string(raw))
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	var points []string
	for _, m := range mounts {
		if strings.HasPrefix(m.Target, prefix) {
			points = append(points, m.Target)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	return points, nil
}
