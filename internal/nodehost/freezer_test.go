package nodehost

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFreezerRootPerHost(t *testing.T) {
	want := map[string]string{
		"fresh": "/sys/fs/cgroup/freezer", "used-mounted": "/sys/fs/cgroup/freezer",
		"used-unmounted": "/sys/fs/cgroup/freezer", "systemd": "/sys/fs/cgroup/freezer",
		"cgroup2": "", // a fatal signal reaches frozen processes there: nothing to thaw
	}
	for _, name := range hosts {
		h := loadHost(t, name)
		got, ok := FreezerRoot(h.host)
		if got != want[name] || ok != (want[name] != "") {
			t.Errorf("%s: FreezerRoot = %q, %t; want %q", name, got, ok, want[name])
		}
	}
}

// freezerTree is a freezer hierarchy as a node stuck in its own death
// leaves it (recorded on this project's machine: runc's two cgroups of
// Pods being started, FROZEN under the node's cgroup), next to another
// container's frozen cgroup and a systemd-driver node.
func freezerTree(t *testing.T) (root string, states map[string]string) {
	root = t.TempDir()
	states = map[string]string{
		"docker/" + nodeID:                    "THAWED",
		"docker/" + nodeID + "/kubelet.slice": "THAWED",
		"docker/" + nodeID + "/kubelet.slice/pod-a/cri-containerd-a.scope": "FROZEN",
		"docker/" + nodeID + "/kubelet.slice/pod-b":                        "FROZEN",
		"docker/" + nodeID + "/kubelet.slice/pod-b/cri-containerd-b.scope": "FROZEN",
		"docker/" + nodeID + "/system.slice/containerd.service":            "FREEZING",
		"docker/" + otherID:                                      "FROZEN", // paused by its owner: not ours
		"docker/" + otherID + "/x":                               "FROZEN",
		"system.slice/docker-" + systemdID + ".scope":            "THAWED",
		"system.slice/docker-" + systemdID + ".scope/kubepods/p": "FROZEN",
	}
	for dir, s := range states {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, dir, "freezer.state"), []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, states
}

const (
	nodeID    = "00162d9f343523e54bddfff6a31f870d4c5d4d04def3decce426baa9341f9cef"
	otherID   = "00162d9f343523e54bddfff6a31f870d4c5d4d04def3decce426baa93410000"
	systemdID = "7c8dbea46c2d0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
)

func stateOf(t *testing.T, root, dir string) string {
	raw, err := os.ReadFile(filepath.Join(root, dir, "freezer.state"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(raw))
}

func TestThawOnlyTheNodesFrozenCgroups(t *testing.T) {
	root, states := freezerTree(t)
	dirs, err := ContainerCgroups(root, nodeID)
	if err != nil || len(dirs) != 1 || dirs[0] != filepath.Join(root, "docker", nodeID) {
		t.Fatalf("ContainerCgroups(node) = %v, %v; want [%s]", dirs, err, filepath.Join(root, "docker", nodeID))
	}
	thawed, err := Thaw(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kubelet.slice/pod-a/cri-containerd-a.scope", "kubelet.slice/pod-b", "kubelet.slice/pod-b/cri-containerd-b.scope", "system.slice/containerd.service"}
	if !slices.Equal(thawed, want) {
		t.Errorf("thawed %q, want %q (parents before children)", thawed, want)
	}
	for dir, was := range states {
		got := stateOf(t, root, dir)
		mine := strings.HasPrefix(dir, "docker/"+nodeID)
		switch {
		case mine && got != "THAWED":
			t.Errorf("%s: %s, want THAWED", dir, got)
		case !mine && got != was:
			t.Errorf("%s (not the node's): %s, want it left %s", dir, got, was)
		}
	}
	if again, err := Thaw(dirs[0]); err != nil || len(again) != 0 {
		t.Errorf("a second Thaw = %q, %v; want nothing to do", again, err)
	}
}

func TestContainerCgroupsFindsOnlyThatContainer(t *testing.T) {
	root, _ := freezerTree(t)
	if d, err := ContainerCgroups(root, systemdID); err != nil || len(d) != 1 || filepath.Base(d[0]) != "docker-"+systemdID+".scope" {
		t.Errorf("systemd driver: %v, %v", d, err)
	}
	// A prefix of an ID, or an ID nobody runs, matches nothing.
	for _, id := range []string{nodeID[:12], strings.Repeat("a", 64)} {
		if d, err := ContainerCgroups(root, id); err != nil || len(d) != 0 {
			t.Errorf("ContainerCgroups(%s) = %v, %v; want none", id, d, err)
		}
	}
	for _, bad := range []string{"", "../x", "docker/" + nodeID} {
		if _, err := ContainerCgroups(root, bad); err == nil {
			t.Errorf("ContainerCgroups(%q): no error", bad)
		}
	}
	if d, err := ContainerCgroups(filepath.Join(root, "absent"), nodeID); err == nil {
		t.Errorf("absent root: %v, no error", d)
	}
}
