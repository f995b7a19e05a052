package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
)

// nodeSeen is what one node container showed after kind's create failed.
type nodeSeen struct {
	Name string
	// State is Docker's for the container: running, exited, ...; ExitCode
	// and DockerError go with it.
	State       string
	ExitCode    int
	DockerError string
	// Output is the container's own output (its entrypoint's, then
	// systemd's): kind's SerialLogs, `docker logs`.
	Output string
	// Journal is the kubelet's and runtime's journal, read inside the
	// node; JournalWhy says why there is none.
	Journal, JournalWhy string
}

// running says whether the node could be looked into.
func (n nodeSeen) running() bool { return n.State == "running" }

// cause is the node's one line: a node that is not running leads with its
// state, its exit status and the last lines it printed; a running one with
// the kubelet's last error.
func (n nodeSeen) cause() string {
	if !n.running() {
		s := fmt.Sprintf("node container %s %s", n.Name, n.stateWords())
		if words := lastWords(n.Output, 3); words != "" {
			s += ", its last words: " + words
		} else {
			s += ", having printed nothing"
		}
		return s
	}
	if c := lastKubeletError(n.Journal); c != "" {
		return "kubelet on " + n.Name + ": " + c
	}
	return ""
}

func (n nodeSeen) stateWords() string {
	switch {
	case n.State == "exited":
		return "exited with status " + strconv.Itoa(n.ExitCode)
	case n.State == "":
		return "could not be inspected"
	}
	s := "is " + n.State
	if n.DockerError != "" {
		s += " (" + n.DockerError + ")"
	}
	return s
}

// files are the evidence to keep: the container's output and state always,
// the journal when there is one; an empty one says why it is empty.
func (n nodeSeen) files() map[string]string {
	state := fmt.Sprintf("state: %s\nexit status: %d\n", orDefault(n.State, "unknown"), n.ExitCode)
	if n.DockerError != "" {
		state += "docker's error: " + n.DockerError + "\n"
	}
	out := map[string]string{
		n.Name + ".state.txt":  state,
		n.Name + ".output.txt": orDefault(n.Output, "(the node container printed nothing: `docker logs "+n.Name+"` is empty)\n"),
	}
	journal := n.Journal
	if strings.TrimSpace(journal) == "" {
		journal = "(no journal: " + orDefault(n.JournalWhy, "journalctl printed nothing for the kubelet, containerd or docker") + ")\n"
	}
	out[n.Name+".journal.txt"] = journal
	return out
}

// lastWords are the last n non-empty lines of a container's output, joined.
func lastWords(output string, n int) string {
	var kept []string
	lines := strings.Split(strings.TrimSpace(output), "\n")
	for i := len(lines) - 1; i >= 0 && len(kept) < n; i-- {
		if l := strings.Join(strings.Fields(lines[i]), " "); l != "" {
			kept = append([]string{l}, kept...)
		}
	}
	s := strings.Join(kept, " | ")
	if len(s) > 400 {
		s = "…" + s[len(s)-400:]
	}
	return s
}

// lookAt reads what a node shows: its state and output from Docker, and,
// while it runs, its journal through kind's node API.
//
// A node that dies at start is started once more by Docker (kind's restart
// policy, on-failure:1): caught in that second life it looks "running"
// until it dies again, and reading its journal then fails with "is not
// running". Then it waits for the container to stop (bounded) and looks
// again, so the state and exit status are the final ones.
func lookAt(ctx context.Context, n nodes.Node) nodeSeen {
	s := nodeSeen{Name: n.String()}
	s.inspect(ctx)
	if s.State == "restarting" {
		s.settle(ctx)
	}
	s.readOutput(n)
	if !s.running() {
		s.JournalWhy = fmt.Sprintf("not read: the node container %s; its own output is in %s.output.txt", s.stateWords(), s.Name)
		return s
	}
	var journal, stderr bytes.Buffer
	err := n.Command("journalctl", "--no-pager", "-u", "kubelet", "-u", "containerd", "-u", "docker", "-n", "400").
		SetStdout(&journal).SetStderr(&stderr).Run()
	s.Journal = journal.String()
	if err != nil {
		said := strings.TrimSpace(orDefault(stderr.String(), err.Error()))
		if strings.Contains(said, "is not running") {
			s.settle(ctx)
			s.readOutput(n)
			if !s.running() {
				s.JournalWhy = fmt.Sprintf("not read: the node container %s; its own output is in %s.output.txt", s.stateWords(), s.Name)
				return s
			}
		}
		s.JournalWhy = "journalctl in the node failed: " + said
	}
	return s
}

// nodeSettle bounds the wait for a node that is dying to have died.
const nodeSettle = 30 * time.Second

// settle waits until the node container has stopped (docker wait returns
// at once for one that has), for at most nodeSettle, and reads its state
// again.
func (s *nodeSeen) settle(ctx context.Context) {
	wctx, cancel := context.WithTimeout(ctx, nodeSettle)
	defer cancel()
	_, _ = docker.Run(wctx, "wait", s.Name)
	s.inspect(ctx)
}

// inspect reads the node container's state, exit status and Docker's error.
func (s *nodeSeen) inspect(ctx context.Context) {
	s.State, s.ExitCode, s.DockerError = "", 0, ""
	st, err := docker.Run(ctx, "inspect", "--type", "container", "--format", "{{.State.Status}}|{{.State.ExitCode}}|{{.State.Error}}", s.Name)
	if err != nil {
		s.DockerError = err.Error()
		return
	}
	parts := strings.SplitN(st, "|", 3)
	s.State = parts[0]
	if len(parts) == 3 {
		s.ExitCode, _ = strconv.Atoi(parts[1])
		s.DockerError = parts[2]
	}
}

// readOutput keeps what the node container printed.
func (s *nodeSeen) readOutput(n nodes.Node) {
	var out bytes.Buffer
	if err := n.SerialLogs(&out); err != nil {
		s.Output = "(docker logs failed: " + err.Error() + ")\n"
		return
	}
	s.Output = out.String()
}

// createEvidence keeps what each node shows after kind's create failed (kind
// is told to retain its nodes; the caller's teardown removes them after
// this) and returns a one-line cause. kind's own error says only what step
// failed ("kubeadm init" exited 1, "cat /kind/version" failed); why is in the
// node: a node that exited says it in its own output, a running one in the
// kubelet's journal.
func createEvidence(ctx context.Context, name, dir string) string {
	list, err := provider(io.Discard).ListNodes(name)
	if err != nil || len(list) == 0 {
		return ""
	}
	var seen []nodeSeen
	for _, n := range list {
		seen = append(seen, lookAt(ctx, n))
	}
	return keepEvidence(seen, dir)
}

// keepEvidence writes each node's files to dir and returns the cause: a
// node that is not running first, since kind's error about it only says
// that a command in it failed.
func keepEvidence(seen []nodeSeen, dir string) string {
	kept := ""
	if dir != "" && os.MkdirAll(dir, 0o755) == nil {
		kept = dir
		for _, n := range seen {
			for file, text := range n.files() {
				if os.WriteFile(filepath.Join(dir, file), []byte(text), 0o644) != nil {
					kept = ""
				}
			}
		}
	}
	var cause string
	for _, n := range seen {
		if !n.running() {
			cause = n.cause()
			break
		}
	}
	for _, n := range seen {
		if cause == "" {
			cause = n.cause()
		}
	}
	if kept != "" {
		cause = strings.TrimPrefix(cause+"; each node's output, state and journal are in "+kept, "; ")
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

// createFailed says why kind could not create the cluster: a node that
// died first (its own words), then what the command kind ran in a node
// said when it failed (kubeadm's "error: ..." line), then the kubelet's
// last error; kind's own error, which names only the step and the command,
// after.
func createFailed(name string, err error, cause string) error {
	if said := commandSaid(err); said != "" && !strings.HasPrefix(cause, "node container ") {
		cause = strings.TrimSuffix(said+"; "+cause, "; ")
	}
	if cause == "" {
		return fmt.Errorf("kind could not create cluster %q: %w", name, err)
	}
	return fmt.Errorf("%s (kind could not create cluster %q: %w)", cause, name, err)
}

// commandSaid is the last error line of the command kind ran when it
// failed, named by that command: `kubeadm init: error: json: cannot
// unmarshal ...`. kubeadm prints its error last but for a stack trace at
// high verbosity, so the newest line that starts with "error" wins.
func commandSaid(err error) string {
	var run *kindexec.RunError
	if !errors.As(err, &run) {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(run.Output)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.Join(strings.Fields(lines[i]), " ")
		if !strings.HasPrefix(strings.ToLower(l), "error") {
			continue
		}
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		if cmd := commandInNode(run.Command); cmd != "" {
			return cmd + ": " + l
		}
		return l
	}
	return ""
}

// commandInNode names the command kind ran through `docker exec [flags]
// NODE CMD SUB ...`: "kubeadm init". Other commands go unnamed.
func commandInNode(argv []string) string {
	if len(argv) < 2 || argv[0] != "docker" || argv[1] != "exec" {
		return ""
	}
	var words []string
	node := false
	for _, a := range argv[2:] {
		if strings.HasPrefix(a, "-") {
			if node {
				break
			}
			continue
		}
		if !node {
			node = true
			continue
		}
		words = append(words, a)
		if len(words) == 2 {
			break
		}
	}
	return strings.Join(words, " ")
}
