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
	"path"
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
	// generateOpenAPI: the module's release lacks generated code its own
	// build generates first (kube-apiserver's OpenAPI definitions, before
	// Kubernetes 1.24): generate it into a writable copy and build that.
	generateOpenAPI bool
	// toolchain is the Go that builds the module when it needs a newer one
	// than this machine's ("go1.27.3": the go command fetches it from the
	// module proxy); "" is this machine's own.
	toolchain string
}

func (g goModuleBuild) key(goVersion string) string {
	if g.toolchain != "" {
		goVersion = g.toolchain
	}
	parts := []string{"gomodule/v1", goVersion, g.module, g.version, g.ldflags}
	if g.generateOpenAPI {
		parts = append(parts, "openapi/v1")
	}
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
	fmt.Fprintf(&mod, "module kiamol-e2e.local/build\n\ngo %s\n\nrequire %s %s\n", g.goLine(), g.module, g.version)
	for _, k := range sortedKeys(g.replaces) {
		fmt.Fprintf(&mod, "\nreplace %s => %s %s\n", k, k, g.replaces[k])
	}
	if g.generateOpenAPI {
		fmt.Fprintf(&mod, "\nreplace %s => ./source\n", g.module)
	}
	if err := os.WriteFile(filepath.Join(work, "go.mod"), []byte(mod.String()), 0o644); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(work, "go.sum"))
	if err := os.WriteFile(filepath.Join(work, "build.go"), []byte("// Package build pins the module to build.\npackage build\n"), 0o644); err != nil {
		return err
	}
	if g.generateOpenAPI {
		if err := generateOpenAPI(ctx, g, work, log); err != nil {
			return err
		}
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
	if err := runGoWith(ctx, g.toolchain, work, log, args...); err != nil {
		return err
	}
	for name := range g.pkgs {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			return fmt.Errorf("go build made no %s", name)
		}
	}
	return nil
}

// goLine is the wrapper module's go line: what the toolchain that builds
// it is (a module needing a newer Go than 1.24 says so itself).
func (g goModuleBuild) goLine() string {
	if v := strings.TrimPrefix(g.toolchain, "go"); v != "" {
		major, rest, _ := strings.Cut(v, ".")
		minor, _, _ := strings.Cut(rest, ".")
		return major + "." + minor + ".0"
	}
	return "1.24.0"
}

func runGo(ctx context.Context, dir string, log io.Writer, args ...string) error {
	return runGoWith(ctx, "", dir, log, args...)
}

// runGoWith runs the go command with toolchain ("" for this machine's Go).
func runGoWith(ctx context.Context, toolchain, dir string, log io.Writer, args ...string) error {
	if toolchain == "" {
		toolchain = "local"
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false", "GOTOOLCHAIN="+toolchain)
	var tail bytes.Buffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = io.MultiWriter(log, &tail)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go %s: %s\n%s", args[0], goCause(tail.String(), err), lastLines(tail.String(), 15))
	}
	return nil
}

// goCause is the go command's own first error line, with where it was
// raised after it ("pkg/x.go:28:2: module@v1: reading ...: 403 Forbidden"
// becomes "module@v1: reading ...: 403 Forbidden (pkg/x.go:28:2)"), or
// the exit status when it printed none: the line that says why leads.
func goCause(output string, err error) string {
	for _, l := range strings.Split(output, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "go: downloading ") || strings.HasPrefix(l, "go: finding ") || strings.HasPrefix(l, "#") {
			continue
		}
		if m := sourcePosition.FindStringSubmatch(l); m != nil {
			return m[2] + " (" + m[1] + ")"
		}
		return strings.TrimPrefix(l, "go: ")
	}
	return err.Error()
}

var sourcePosition = regexp.MustCompile(`^(\S+\.go:\d+(?::\d+)?): (.+)$`)

// kubernetesStaging lists the staging modules k8s.io/kubernetes replaces with
// its own folders; the wrapper replaces each with its published release.
func kubernetesStaging(ctx context.Context, version, staging, toolchain string) (map[string]string, error) {
	if toolchain == "" {
		toolchain = "local"
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain)
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

// needsOpenAPI says whether a Kubernetes release's module lacks the
// generated OpenAPI definitions kube-apiserver is built with: releases before
// v1.24 generated them at build time and did not publish them.
func needsOpenAPI(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(version, "v"), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major == 1 && minor < 24
}

// openAPITag marks the packages openapi-gen reads.
const openAPITag = "+k8s:openapi-gen=true"

// generateOpenAPI copies the module's source into work/source (writable)
// and generates pkg/generated/openapi there, with the openapi-gen of the
// k8s.io/kube-openapi the module itself requires, over every package of the
// module and of its staging modules tagged for it: what Kubernetes' own
// build did for these releases.
func generateOpenAPI(ctx context.Context, g goModuleBuild, work string, log io.Writer) error {
	src, err := moduleDir(ctx, g.module+"@"+g.version)
	if err != nil {
		return err
	}
	dst := filepath.Join(work, "source")
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := runIn(ctx, "", log, "cp", "-r", src, dst); err != nil {
		return err
	}
	if err := runIn(ctx, "", log, "chmod", "-R", "u+w", dst); err != nil {
		return err
	}
	// The packages to read: this module's, and its staging modules'.
	var inputs []string
	dirs := map[string]string{g.module: dst}
	for mod, ver := range g.replaces {
		d, err := moduleDir(ctx, mod+"@"+ver)
		if err != nil {
			// Some staging modules are samples never released (sample-
			// cli-plugin): nothing the build uses can come from them.
			fmt.Fprintf(log, "openapi: skipping %s: %v\n", mod, err)
			continue
		}
		dirs[mod] = d
	}
	for _, mod := range sortedKeys(dirs) {
		found, err := taggedPackages(dirs[mod], mod)
		if err != nil {
			return err
		}
		inputs = append(inputs, found...)
	}
	if len(inputs) == 0 {
		return fmt.Errorf("no package of %s is tagged %s", g.module, openAPITag)
	}
	gen := filepath.Join(work, "openapi-gen")
	if err := runGo(ctx, work, log, "build", "-o", gen, "k8s.io/kube-openapi/cmd/openapi-gen"); err != nil {
		return err
	}
	header := filepath.Join(work, "header.txt")
	if err := os.WriteFile(header, []byte("// Generated by kiamol-e2e's image build with openapi-gen.\n"), 0o644); err != nil {
		return err
	}
	out := filepath.Join(work, "gen")
	cmd := exec.CommandContext(ctx, gen, "--input-dirs", strings.Join(inputs, ","),
		"--output-package", g.module+"/pkg/generated/openapi", "-O", "zz_generated.openapi",
		"--output-base", out, "--go-header-file", header, "--report-filename", filepath.Join(work, "openapi-violations.report"))
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	var tail bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(log, &tail), io.MultiWriter(log, &tail)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("openapi-gen: %w\n%s", err, lastLines(tail.String(), 15))
	}
	generated := filepath.Join(out, filepath.FromSlash(g.module), "pkg", "generated", "openapi", "zz_generated.openapi.go")
	raw, err := os.ReadFile(generated)
	if err != nil {
		return fmt.Errorf("openapi-gen wrote no %s: %w", generated, err)
	}
	return os.WriteFile(filepath.Join(dst, "pkg", "generated", "openapi", "zz_generated.openapi.go"), raw, 0o644)
}

// moduleDir is where the Go module cache holds module@version.
func moduleDir(ctx context.Context, modVersion string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modVersion)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	raw, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", modVersion, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(raw, &info); err != nil {
		return "", err
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("%s: %s", modVersion, info.Error)
	}
	return info.Dir, nil
}

// taggedPackages lists the import paths of root's packages (module mod)
// whose non-test Go files carry the openapi-gen tag; tests, examples and
// fakes are not API.
func taggedPackages(root, mod string) ([]string, error) {
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "test", "fake", "example", "examples", "vendor", "third_party", "staging":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(raw, []byte(openAPITag)) {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			seen[path.Join(mod, filepath.ToSlash(rel))] = true
		}
		return nil
	})
	return sortedKeys(seen), err
}
