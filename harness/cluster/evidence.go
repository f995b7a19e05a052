package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kiamol-e2e/kiamol-e2e/harness/docker"
)

// createEvidence keeps what a node shows after kind's create failed (kind is
// told to retain its nodes; the caller's teardown removes them after this)
// and returns the kubelet's last error as a one-line cause. kind's own error
// says only that "kubeadm init" exited 1; why is in the node's journal.
func createEvidence(ctx context.Context, name, dir string) string {
	out, err := docker.Run(ctx, "ps", "--all", "--filter", "label="+nodeLabel+"="+name, "--format", "{{.Names}}")
	if err != nil || out == "" {
		return ""
	}
	var cause, kept string
	for _, node := range strings.Fields(out) {
		journal, _ := docker.Run(ctx, "exec", node, "journalctl", "--no-pager", "-u", "kubelet", "-u", "containerd", "-u", "docker", "-n", "400")
		if dir != "" && os.MkdirAll(dir, 0o755) == nil {
			path := filepath.Join(dir, node+".journal.txt")
			if os.WriteFile(path, []byte(journal), 0o644) == nil {
				kept = dir
			}
		}
		if c := lastKubeletError(journal); c != "" && cause == "" {
			cause = "kubelet on " + node + ": " + c
		}
	}
	if kept != "" {
		cause = strings.TrimPrefix(cause+"; the nodes' journals are in "+kept, "; ")
	}
	return cause
}

// kubeletErr matches a klog error line and a command-line error.
var kubeletErr = regexp.MustCompile(`kubelet\[\d+\]: (?:E\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] |Error: )(.*)$`)

// lastKubeletError is the newest error line the kubelet logged, without
// its klog prefix: `"Failed to run kubelet" err="..."`, or `unknown flag:
// --x` when it would not start at all.
func lastKubeletError(journal string) string {
	lines := strings.Split(strings.TrimSpace(journal), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if m := kubeletErr.FindStringSubmatch(lines[i]); m != nil {
			msg := m[1]
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			return msg
		}
	}
	return ""
}

// withCause adds the node's own words to kind's error.
func withCause(err error, cause string) error {
	if cause == "" {
		return err
	}
	return fmt.Errorf("%s: %w", cause, err)
}
