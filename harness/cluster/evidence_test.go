package cluster

import "testing"

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
