package cluster

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A second claim on the same name fails with who holds it; a claim on
// another name succeeds; a released name can be claimed again.
func TestClaim(t *testing.T) {
	name := "kiamol-e2e-claim-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	first, err := Take(name, "run-a")
	if err != nil {
		t.Fatal(err)
	}
	// flock is per open file description: a second Take in this process
	// conflicts exactly as another process's would.
	_, err = Take(name, "run-b")
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "E2E_CLUSTER_NAME") {
		t.Fatalf("second claim: %v", err)
	}
	if !strings.Contains(err.Error(), "pid") {
		t.Errorf("the message does not name the holder: %v", err)
	}
	other, err := Take(name+"-other", "run-b")
	if err != nil {
		t.Fatalf("claim on another name: %v", err)
	}
	other.Release()
	first.Release()
	again, err := Take(name, "run-c")
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	again.Release()
}

// A process that dies holding a claim loses it: the kernel drops the lock.
func TestClaimDiesWithItsProcess(t *testing.T) {
	if os.Getenv("CLAIM_CHILD") != "" {
		if _, err := Take(os.Getenv("CLAIM_CHILD"), "child"); err != nil {
			os.Exit(3)
		}
		os.Exit(0) // no Release: only the process's end frees it
	}
	name := "kiamol-e2e-claim-test-dies"
	cmd := exec.Command(os.Args[0], "-test.run=^TestClaimDiesWithItsProcess$")
	cmd.Env = append(os.Environ(), "CLAIM_CHILD="+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v %s", err, out)
	}
	c, err := Take(name, "parent")
	if err != nil {
		t.Fatalf("the dead child's claim is still held: %v", err)
	}
	c.Release()
}
