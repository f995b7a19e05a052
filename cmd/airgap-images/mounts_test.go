package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A partial tree with a mount inside it (as debootstrap leaves /proc when
// killed) is unmounted before it is deleted, and the mount's own files are
// untouched.
func TestRemovePartialUnmountsFirst(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	outside := t.TempDir()
	keep := filepath.Join(outside, "precious")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(t.TempDir(), "step.partial")
	inner := filepath.Join(partial, "rootfs", "proc")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", outside, inner).CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount here: %s", out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", inner).Run() })
	if err := removePartial(partial); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", partial, err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file behind the mount was deleted: %v", err)
	}
}
