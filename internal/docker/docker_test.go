package docker

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A failed command's error leads with the tool's own words, its klog header
// stripped, and names the command after them.
func TestRunErrorLeadsWithTheCause(t *testing.T) {
	dir := t.TempDir()
	fake := "#!/bin/sh\necho 'E1127 07:41:31.384731    2492 remote_runtime.go:366] \"StopContainer from runtime service failed\" err=\"rpc error: code = DeadlineExceeded desc = context deadline exceeded\"' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	_, err := Run(context.Background(), "exec", "node", "crictl", "rm", "--force", "3c1b")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `"StopContainer from runtime service failed" err="rpc error: code = DeadlineExceeded`) {
		t.Errorf("error does not lead with the cause: %s", msg)
	}
	if !strings.HasSuffix(msg, "(docker exec node crictl rm --force 3c1b)") || strings.Contains(msg, "E1127") {
		t.Errorf("error: %s", msg)
	}
}
