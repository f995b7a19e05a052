// Package hostsetup tests hack/host-setup.sh where it cannot fix the host
// itself (not root): a missing or stopped Docker engine must end in one line
// that says what to do, and a non-zero exit.
package hostsetup

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// asNobody runs a copy of the script as an unprivileged user, with PATH
// holding only the tools named (linked into a folder of their own).
func asNobody(t *testing.T, tools []string, env ...string) (int, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to drop to an unprivileged user with setpriv")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv (util-linux)")
	}
	// t.TempDir's parent is private to root; the unprivileged user must
	// be able to read the script.
	dir, err := os.MkdirTemp("", "host-setup-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../host-setup.sh")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "host-setup.sh")
	if err := os.WriteFile(script, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("needs %s", tool)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", filepath.Join(bin, "bash"), script)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + bin, "HOME=" + dir}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout should be empty: %q", stdout.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

var basics = []string{"bash", "id", "awk", "cat", "dirname", "seq", "grep", "sleep"}

func expectOneLine(t *testing.T, code int, stderr string, wants ...string) {
	t.Helper()
	if code == 0 {
		t.Errorf("exit code 0 for a host that cannot run the suite")
	}
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one line on stderr, got %d:\n%s", len(lines), stderr)
	}
	for _, w := range wants {
		if !strings.Contains(lines[0], w) {
			t.Errorf("%q does not say %q", lines[0], w)
		}
	}
}

func TestDockerNotInstalled(t *testing.T) {
	code, stderr := asNobody(t, basics)
	expectOneLine(t, code, stderr, "missing: docker dockerd", "Install Docker Engine")
}

func TestDockerNotRunning(t *testing.T) {
	sock := filepath.Join(os.TempDir(), "kiamol-e2e-no-engine.sock")
	code, stderr := asNobody(t, append(basics, "docker", "dockerd", "debootstrap", "tar", "gzip", "iptables"), "DOCKER_HOST=unix://"+sock)
	expectOneLine(t, code, stderr, "Docker engine is not running", "start it")
}
