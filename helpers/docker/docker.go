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
)

// ErrNoEngine says the engine cannot be used at all.
var ErrNoEngine = errors.New("the Docker engine is not running or not installed: run hack/host-setup.sh (Debian, as root) or start Docker, then retry")

// Run runs `docker args...` and returns its trimmed standard output.
func Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("docker %s: %s", strings.Join(args, " "), msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Ping says whether the engine answers.
func Ping(ctx context.Context) error {
	if _, err := exec.LookPath("docker"); err != nil {
		return ErrNoEngine
	}
	if _, err := Run(ctx, "version", "--format", "{{.Server.Version}}"); err != nil {
		return ErrNoEngine
	}
	return nil
}

// Exists says whether a container or network of that name exists.
func Exists(ctx context.Context, kind, name string) bool {
	_, err := Run(ctx, kind, "inspect", "--format", "{{.Name}}", name)
	return err == nil
}
