package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// goModuleBuild builds binaries from a released Go module, through a small
// wrapper module so `go build` can resolve it like any dependency.
type goModuleBuild struct {
	label    string
	module   string
	version  string
	replaces map[string]string // module -> version, for modules that replace parts of themselves
	pkgs     map[string]string // output file name -> package path
	ldflags  string
}

func (g goModuleBuild) key(goVersion string) string {
	parts := []string{"gomodule/v1", goVersion, g.module, g.version, g.ldflags}
	for _, k := range sortedKeys(g.pkgs) {
		parts = append(parts, k, g.pkgs[k])
	}
	for _, k := range sortedKeys(g.replaces) {
		parts = append(parts, k, g.replaces[k])
	}
	return keyOf(parts...)
}

func (g goModuleBuild) build(ctx context.Context, work, out string, log io.Writer) error {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	var mod strings.Builder
	fmt.Fprintf(&mod, "module kiamol-e2e.local/build\n\ngo 1.24.0\n\nrequire %s %s\n", g.module, g.version)
	for _, k := range sortedKeys(g.replaces) {
		fmt.Fprintf(&mod, "\nreplace %s => %s %s\n", k, k, g.replaces[k])
	}
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(mod.String()), 0o644); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(work, "go.sum"))
	if err := os.WriteFile(filepath.Join(work, "build.go"), []byte("// Package build pins the module to build.\npackage build\n"), 0o644); err != nil {
		return err
	}
	// One `go build` for all packages shares compiled dependencies between them.
	args := []string{"build", "-trimpath", "-ldflags", g.ldflags}
	if len(g.pkgs) == 1 {
		for name, pkg := range g.pkgs {
			args = append(args, "-o", filepath.Join(out, name), pkg)
		}
	} else {
		args = append(args, "-o", out+string(filepath.Separator))
		for _, name := range sortedKeys(g.pkgs) {
			args = append(args, g.pkgs[name])
		}
	}
	if err := runGo(ctx, work, log, args...); err != nil {
		return err
	}
	for name := range g.pkgs {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			return fmt.Errorf("go build made no %s", name)
		}
	}
	return nil
}

func runGo(ctx context.Context, dir string, log io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOTOOLCHAIN=local")
	var tail bytes.Buffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = io.MultiWriter(log, &tail)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", args[0], err, lastLines(tail.String(), 15))
	}
	return nil
}

// kubernetesStaging lists the staging modules k8s.io/kubernetes replaces with
// its own folders; the wrapper replaces each with its published release.
func kubernetesStaging(ctx context.Context, version, staging string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download k8s.io/kubernetes@%s: %w", version, err)
	}
	var info struct{ GoMod, Error string }
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, err
	}
	if info.Error != "" {
		return nil, fmt.Errorf("k8s.io/kubernetes@%s: %s", version, info.Error)
	}
	f, err := os.Open(info.GoMod)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	re := regexp.MustCompile(`^\s*(k8s\.io/\S+)\s+=>\s+\./staging/`)
	out := map[string]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m := re.FindStringSubmatch(s.Text()); m != nil {
			out[m[1]] = staging
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no staging modules found in %s", info.GoMod)
	}
	return out, s.Err()
}

func goVersion(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w (is Go installed?)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func versionLdflags(version string) string {
	v := strings.TrimPrefix(version, "v")
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	var b strings.Builder
	b.WriteString("-s -w")
	// Without these, kubeadm reports v0.0.0-master and refuses the config.
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fmt.Fprintf(&b, " -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitVersion=%s -X %s.gitTreeState=clean -X %s.buildDate=1970-01-01T00:00:00Z",
			pkg, major, pkg, minor, pkg, version, pkg, pkg)
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
