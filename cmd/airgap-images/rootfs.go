package main

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// nodePackages is what a kind node runs besides the Kubernetes binaries.
var nodePackages = []string{
	"systemd", "systemd-sysv", "dbus", "containerd", "runc", "containernetworking-plugins",
	"iptables", "nftables", "iproute2", "ethtool", "socat", "conntrack", "mount",
	"util-linux", "kmod", "procps", "ca-certificates", "bash", "libseccomp2",
}

// rootfsRecipe and proxyBaseRecipe change whenever buildRootfs' or
// proxyBaseLayer's output would.
const (
	rootfsRecipe    = "rootfs/v2"
	proxyBaseRecipe = "proxybase/v2"
)

// packagesOf is what a flavor's node runs besides the Kubernetes binaries.
func packagesOf(f images.Flavor) []string {
	return append(append([]string{}, nodePackages...), f.Packages...)
}

func rootfsKey(f images.Flavor) string {
	return keyOf(append([]string{rootfsRecipe, images.DebianSuite}, packagesOf(f)...)...)
}

// buildRootfs debootstraps the node's Debian and packs it as rootfs.tar.
func buildRootfs(ctx context.Context, debCache, mirror, out string, packages []string, log io.Writer) error {
	dir := filepath.Join(out, "rootfs")
	if err := os.MkdirAll(debCache, 0o755); err != nil {
		return err
	}
	args := []string{"--variant=minbase", "--cache-dir=" + debCache, "--include=" + strings.Join(packages, ","), images.DebianSuite, dir}
	if mirror != "" {
		args = append(args, mirror)
	}
	if err := run(ctx, log, "debootstrap", args...); err != nil {
		return err
	}
	if err := trimRootfs(dir); err != nil {
		return err
	}
	if err := packRootfs(dir, filepath.Join(out, "rootfs.tar")); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

// removeGlobs removes whatever each pattern matches under dir.
func removeGlobs(dir string, globs ...string) error {
	for _, g := range globs {
		matches, err := filepath.Glob(filepath.Join(dir, g))
		if err != nil {
			return err
		}
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	return nil
}

// trimRootfs removes what a container node never uses: package caches, and
// units that only make sense on a real machine (gettys, timers).
func trimRootfs(dir string) error {
	globs := []string{
		"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*",
		"etc/systemd/system/getty.target.wants/*", "etc/systemd/system/timers.target.wants/*",
		"etc/systemd/system/sysinit.target.wants/*",
		"etc/systemd/system/multi-user.target.wants/e2scrub_reap.service",
		"etc/systemd/system/multi-user.target.wants/remote-fs.target",
	}
	if err := removeGlobs(dir, globs...); err != nil {
		return err
	}
	// What differs between two debootstraps of the same packages: the
	// logs of the install, ldconfig's cache of file times, dbus's copy of
	// the machine-id (dbus reads /etc/machine-id without it), shadow's
	// backup and the day each account was made. Same packages, same bytes.
	if err := removeGlobs(dir, "var/cache/ldconfig/aux-cache", "var/lib/dbus/machine-id", "etc/*-", "var/lib/dpkg/*-old", "var/cache/debconf/*-old", "var/cache/apt/*.bin"); err != nil {
		return err
	}
	if err := removeFilesUnder(filepath.Join(dir, "var/log")); err != nil {
		return err
	}
	if err := blankAccountDates(filepath.Join(dir, "etc/shadow")); err != nil {
		return err
	}
	// The entrypoint makes a fresh machine-id for every node.
	return os.WriteFile(filepath.Join(dir, "etc/machine-id"), nil, 0o444)
}

// removeFilesUnder removes the files under dir and keeps its folders,
// which services expect to find.
func removeFilesUnder(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return os.Remove(p)
		}
		return nil
	})
}

// blankAccountDates empties shadow's third field, the day of the last
// password change (the build's day for every account): an empty one turns
// password ageing off, which no account of a node uses.
func blankAccountDates(path string) error {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	lines := strings.Split(string(raw), "\n")
	for i, l := range lines {
		f := strings.Split(l, ":")
		if len(f) >= 3 {
			f[2] = ""
			lines[i] = strings.Join(f, ":")
		}
	}
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")), st.Mode().Perm())
}

// proxyBaseLayer keeps from the node's rootfs what kube-proxy execs: the
// iptables and conntrack tools and the libraries they load.
func proxyBaseLayer(rootfsTar, out string) error {
	keep := func(name string) bool {
		name = strings.TrimPrefix(name, "./")
		for _, exact := range []string{"", "bin", "sbin", "lib", "lib64", "usr", "usr/lib", "etc", "tmp", "run", "var", "etc/ld.so.cache"} {
			if strings.TrimSuffix(name, "/") == exact {
				return true
			}
		}
		for _, prefix := range []string{"usr/lib/x86_64-linux-gnu/", "usr/lib64/", "usr/sbin/", "etc/alternatives/", "etc/ld.so.conf"} {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		}
		return false
	}
	in, err := os.Open(rootfsTar)
	if err != nil {
		return err
	}
	defer in.Close()
	return createTar(out, func(w *tar.Writer) error {
		r := tar.NewReader(bufio.NewReaderSize(in, 1<<20))
		for {
			h, err := r.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if !keep(h.Name) {
				continue
			}
			if err := w.WriteHeader(h); err != nil {
				return err
			}
			if _, err := io.Copy(w, r); err != nil {
				return err
			}
		}
	})
}

// debianMirror reuses the archive this host's apt already uses, so the node
// image comes from the same place the host's packages do.
func debianMirror() string {
	if m := os.Getenv("KIAMOL_E2E_DEBIAN_MIRROR"); m != "" {
		return m
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append([]string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"}, files...)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := mirrorIn(string(raw)); m != "" {
			return m
		}
	}
	return "" // debootstrap's own default
}

// mirrorIn finds the archive serving the node's suite in an apt sources file,
// one-line or deb822 style.
func mirrorIn(text string) string {
	var uri string
	suiteOK := false
	for _, line := range strings.Split(text+"\n\n", "\n") {
		line = strings.TrimSpace(line)
		fields := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "#"):
		case len(fields) >= 3 && fields[0] == "deb":
			i := 1
			if strings.HasPrefix(fields[1], "[") {
				for i < len(fields) && !strings.HasSuffix(fields[i], "]") {
					i++
				}
				i++
			}
			if i+1 < len(fields) && fields[i+1] == images.DebianSuite {
				return fields[i]
			}
		case strings.HasPrefix(line, "URIs:"):
			uri = strings.TrimSpace(strings.TrimPrefix(line, "URIs:"))
		case strings.HasPrefix(line, "Suites:"):
			for _, s := range strings.Fields(strings.TrimPrefix(line, "Suites:")) {
				suiteOK = suiteOK || s == images.DebianSuite
			}
		case line == "":
			if uri != "" && suiteOK {
				return strings.Fields(uri)[0]
			}
			uri, suiteOK = "", false
		}
	}
	return ""
}

func run(ctx context.Context, log io.Writer, name string, args ...string) error {
	return runIn(ctx, "", log, name, args...)
}

// runIn runs a command in dir ("" for ours), its output to the log and the
// tail of it in the error.
func runIn(ctx context.Context, dir string, log io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// On interrupt, TERM rather than KILL: debootstrap's exit trap unmounts
	// what it mounted inside the tree, which a KILL would leave behind.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var tail strings.Builder
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = io.MultiWriter(log, &tail)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", name, err, lastLines(tail.String(), 15))
	}
	return nil
}
