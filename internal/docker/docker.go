// Package docker runs the docker CLI, the same way kind talks to the engine,
// and turns its failures into one readable error.
package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// Why the engine cannot be used, as Ping reports it.
var (
	ErrNotInstalled = errors.New("Docker is not installed (no docker on PATH)")
	ErrNotRunning   = errors.New("the Docker engine is not running")
)

// Ping says whether the engine answers, and if not, why.
func Ping(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return ErrNotInstalled
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		cause := strings.TrimSpace(string(out))
		if lines := strings.Split(cause, "\n"); cause != "" {
			cause = strings.TrimSpace(lines[len(lines)-1])
		} else {
			cause = err.Error()
		}
		return fmt.Errorf("%w (%s)", ErrNotRunning, cause)
	}
	return nil
}

// Run runs `docker args...` and returns its trimmed standard output.
func Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// Lead with what went wrong (a tool's klog header stripped), then
		// the command: a one-line summary keeps the beginning.
		msg := oneline.Collapse(oneline.StripLogPrefix(stderr.String()))
		if msg == "" {
			msg = err.Error()
		}
		if ctx.Err() != nil {
			msg = ctx.Err().Error() + ": " + msg
		}
		return "", fmt.Errorf("%s (docker %s)", msg, strings.Join(args, " "))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Exists says whether a container or network of that name exists.
func Exists(ctx context.Context, kind, name string) bool {
	_, err := Run(ctx, kind, "inspect", "--format", "{{.Name}}", name)
	return err == nil
}
