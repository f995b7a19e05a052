package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kiamol-cni refuses, in the node, a Pod's packet to a Service address that
// kube-proxy has not translated, for the range kind gave kubeadm; once,
// however often it is asked. Run with a fake iptables that records its
// arguments and holds the rule once inserted.
func TestKiamolCNIRefusesUntranslatedServiceAddresses(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "kiamol-cni")
	if err := os.WriteFile(script, nodeFile("kiamol-cni"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := `#!/bin/bash
echo "$*" >>"$LOG"
case "$2" in
  -C) [ -f "$STATE" ] ;;
  -I) touch "$STATE" ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "iptables"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	// As kind renders it (v1beta3), indented under networking.
	conf := filepath.Join(dir, "kubeadm.conf")
	if err := os.WriteFile(conf, []byte("kind: ClusterConfiguration\nnetworking:\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/16\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(conf string) error {
		cmd := exec.Command("bash", "-c", `source "$1" && refuse_unserved_services "$2"`, "test", script, conf)
		cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "LOG="+filepath.Join(dir, "log"), "STATE="+filepath.Join(dir, "state"))
		out, err := cmd.CombinedOutput()
		if len(out) > 0 {
			t.Logf("output: %s", out)
		}
		return err
	}
	for i := 0; i < 2; i++ {
		if err := run(conf); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	inserts := strings.Count(string(log), " -I ")
	want := `-w -I FORWARD -d 10.96.0.0/16 -m comment --comment kiamol-cni: a Service address kube-proxy has not translated -j REJECT`
	if inserts != 1 || !strings.Contains(string(log), want) {
		t.Errorf("want the rule inserted once:\n%s\ngot:\n%s", want, log)
	}
	if _, err := os.Stat("/etc/cni/net.d/10-kiamol-e2e.conflist.tmp"); err == nil {
		t.Error("sourcing the script ran its loop")
	}
	// No range: refused, so the loop says so and goes on without the rule.
	empty := filepath.Join(dir, "empty.conf")
	_ = os.WriteFile(empty, []byte("kind: InitConfiguration\n"), 0o644)
	if err := run(empty); err == nil {
		t.Error("a config without serviceSubnet: want a failure to report")
	}
}
