package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lines are the two kubelets' own, as a failed create left them.
func TestLastKubeletErrorDropsTheKlogPrefix(t *testing.T) {
	journal := `Nov 27 12:28:50 n kubelet[3810]: I1127 12:28:50.063402    3810 server.go:446] "Kubelet version" kubeletVersion="v1.23.17"
Nov 27 12:28:50 n kubelet[3810]: E1127 12:28:50.063402    3810 server.go:302] "Failed to run kubelet" err="failed to run Kubelet: invalid configuration: cgroup-root [\"kubelet\"] doesn't exist"
Nov 27 12:28:50 n systemd[1]: kubelet.service: Main process exited, code=exited, status=1/FAILURE
Nov 27 13:00:40 n kubelet[1323]: E1127 13:00:40.504496    1323 run.go:72] "command failed" err="failed to run Kubelet: invalid configuration: cgroup [\"kubelet\"] has some missing paths: /sys/fs/cgroup/hugetlb/kubelet.slice"
Nov 27 13:00:41 n systemd[1]: kubelet.service: Failed with result 'exit-code'.`
	got := lastKubeletError(journal)
	want := `"command failed" err="failed to run Kubelet: invalid configuration: cgroup [\"kubelet\"] has some missing paths: /sys/fs/cgroup/hugetlb/kubelet.slice"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := lastKubeletError("Nov 27 14:00:00 n kubelet[99]: Error: unknown flag: --no-such-flag"); got != "unknown flag: --no-such-flag" {
		t.Errorf("command-line error: got %q", got)
	}
	if got := lastKubeletError("Nov 27 12:00:00 n systemd[1]: Started kubelet.service."); got != "" {
		t.Errorf("no kubelet error, got %q", got)
	}
}

// What the node printed on a fresh machine before this project's nodes
// prepared their cgroups from a tested plan: the entrypoint's own words.
const freshHostNodeOutput = `kiamol-node: detected cgroup v1
mount: /sys/fs/cgroup/net_cls,perf_event,net_prio,hugetlb: permission denied.
       dmesg(1) may have more information after failed mount system call.
`

func TestANodeThatDiedSaysWhy(t *testing.T) {
	dir := t.TempDir()
	exited := nodeSeen{Name: "kiamol-e2e-control-plane", State: "exited", ExitCode: 32, Output: freshHostNodeOutput,
		JournalWhy: "not read: the node container exited with status 32; its own output is in kiamol-e2e-control-plane.output.txt"}
	running := nodeSeen{Name: "kiamol-e2e-worker", State: "running",
		Journal: `Nov 27 13:00:40 n kubelet[1323]: E1127 13:00:40.504496    1323 run.go:72] "command failed" err="failed to run Kubelet: boom"`}
	cause := keepEvidence([]nodeSeen{running, exited}, dir)
	want := "node container kiamol-e2e-control-plane exited with status 32, its last words: kiamol-node: detected cgroup v1 | " +
		"mount: /sys/fs/cgroup/net_cls,perf_event,net_prio,hugetlb: permission denied. | dmesg(1) may have more information after failed mount system call.; " +
		"each node's output, state and journal are in " + dir
	if cause != want {
		t.Errorf("cause\n got %s\nwant %s", cause, want)
	}
	for file, has := range map[string]string{
		"kiamol-e2e-control-plane.output.txt":  "permission denied",
		"kiamol-e2e-control-plane.state.txt":   "exit status: 32",
		"kiamol-e2e-control-plane.journal.txt": "(no journal: not read: the node container exited with status 32",
		"kiamol-e2e-worker.journal.txt":        "failed to run Kubelet: boom",
		"kiamol-e2e-worker.output.txt":         "(the node container printed nothing",
	} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || !strings.Contains(string(raw), has) {
			t.Errorf("%s: want %q in it, got %q (%v)", file, has, raw, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, _ := e.Info(); info.Size() == 0 {
			t.Errorf("%s is empty and says not why", e.Name())
		}
	}

	if got := keepEvidence([]nodeSeen{running}, ""); got != `kubelet on kiamol-e2e-worker: "command failed" err="failed to run Kubelet: boom"` {
		t.Errorf("a running node's cause is the kubelet's last error, got %q", got)
	}
	silent := nodeSeen{Name: "n", State: "exited", ExitCode: 1}
	if got := silent.cause(); got != "node container n exited with status 1, having printed nothing" {
		t.Errorf("got %q", got)
	}
	stuck := nodeSeen{Name: "n", State: "running", JournalWhy: "journalctl in the node failed: OCI runtime exec failed"}
	if got := stuck.files()["n.journal.txt"]; got != "(no journal: journalctl in the node failed: OCI runtime exec failed)\n" {
		t.Errorf("a node that cannot be exec'd into: journal file %q", got)
	}
}
