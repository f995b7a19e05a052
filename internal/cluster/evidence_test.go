package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kindexec "sigs.k8s.io/kind/pkg/exec"
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

// kubeadm's output when a config patch gave extraArgs in the wrong shape,
// as kind's error carried it: kind's own message names only the command.
const kubeadmBadConfig = `I1130 00:47:47.138891     108 initconfiguration.go:260] loading configuration from "/kind/kubeadm.conf"
W1130 00:47:47.139488     108 initconfiguration.go:332] error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"v1beta3", Kind:"ClusterConfiguration"}: json: cannot unmarshal array into Go struct field ControlPlaneComponent.controllerManager.extraArgs of type map[string]string
error: json: cannot unmarshal array into Go struct field ControlPlaneComponent.controllerManager.extraArgs of type map[string]string
k8s.io/kubernetes/cmd/kubeadm/app/cmd.newCmdInit.func1
	k8s.io/kubernetes/cmd/kubeadm/app/cmd/init.go:135
runtime.goexit
	runtime/asm_amd64.s:1700
`

func TestAFailedKubeadmSaysWhyFirst(t *testing.T) {
	run := &kindexec.RunError{
		Command: []string{"docker", "exec", "--privileged", "kiamol-e2e-control-plane", "kubeadm", "init", "--config=/kind/kubeadm.conf", "--v=6"},
		Output:  []byte(kubeadmBadConfig),
		Inner:   errors.New("exit status 1"),
	}
	err := fmt.Errorf("failed to init node with kubeadm: %w", run)
	got := createFailed("kiamol-e2e", err, "each node's output, state and journal are in /x").Error()
	want := "kubeadm init: error: json: cannot unmarshal array into Go struct field ControlPlaneComponent.controllerManager.extraArgs of type map[string]string; " +
		"each node's output, state and journal are in /x (kind could not create cluster \"kiamol-e2e\": failed to init node with kubeadm: command"
	if !strings.HasPrefix(got, want) {
		t.Errorf("got  %s\nwant %s…", got, want)
	}
	// A node that died speaks first: what kubeadm then said follows from it.
	dead := "node container n exited with status 32, its last words: x"
	if got := createFailed("kiamol-e2e", err, dead).Error(); !strings.HasPrefix(got, dead+" (kind could not") {
		t.Errorf("dead node first: got %s", got)
	}
	if got := createFailed("k", errors.New("boom"), "").Error(); got != `kind could not create cluster "k": boom` {
		t.Errorf("no command output: got %s", got)
	}
}

func TestAFailedDeleteSaysWhyFirst(t *testing.T) {
	run := &kindexec.RunError{
		Command: []string{"docker", "rm", "-f", "-v", "k-control-plane"},
		Output:  []byte("Error response from daemon: Could not kill running container 00162d9f3435, cannot remove - tried to kill container, but did not receive an exit event\n"),
		Inner:   errors.New("exit status 1"),
	}
	err := fmt.Errorf("failed to delete nodes: %w", run)
	got := deleteFailed("k", err).Error()
	want := `Error response from daemon: Could not kill running container 00162d9f3435, cannot remove - tried to kill container, but did not receive an exit event (kind delete "k": failed to delete nodes: `
	if !strings.HasPrefix(got, want) {
		t.Errorf("got  %s\nwant %s…", got, want)
	}
	if got := deleteFailed("k", errors.New("boom")).Error(); got != `kind delete "k": boom` {
		t.Errorf("no command output: got %s", got)
	}
}
