package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// The chapter's real images are Alpine-based, so a reader's `kubectl exec`
// finds a shell and busybox's tools, and `kubectl cp` finds tar. The stand-ins
// carry Debian's static busybox: one binary, no libraries to bring along.
const busyboxPackage = "busybox-static"

// busyboxNeeded are the applets the chapters' commands run in a container
// (each stand-in's Applets); a busybox without them is not the busybox we
// expect.
func busyboxNeeded() []string {
	var out []string
	for _, i := range book.Images(chapters.Books()) {
		for _, a := range i.StandIn.Applets {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out
}

// busyboxPkg is the exact package the stand-ins' busybox comes from; its
// key names the cached download.
type busyboxPkg struct{ version, arch string }

func (b busyboxPkg) key() string {
	return keyOf(append([]string{"busybox/v1", busyboxPackage, b.version, b.arch}, busyboxNeeded()...)...)
}

func (b busyboxPkg) String() string { return busyboxPackage + " " + b.version }

// resolveBusybox asks the host's apt which version of busybox-static the
// node's Debian suite has: a local look-up, cheap enough for every check,
// and exact, so the download can be keyed by it and asked for by it.
func resolveBusybox(ctx context.Context) (busyboxPkg, error) {
	if _, err := exec.LookPath("apt-cache"); err != nil {
		return busyboxPkg{}, fmt.Errorf("apt-cache is not installed: the stand-in images take busybox from Debian's %s package, so build them on Debian (hack/host-setup.sh)", busyboxPackage)
	}
	out, err := exec.CommandContext(ctx, "apt-cache", "madison", busyboxPackage).Output()
	if err != nil {
		return busyboxPkg{}, fmt.Errorf("apt-cache madison %s: %w", busyboxPackage, err)
	}
	v := madisonVersion(string(out), images.DebianSuite)
	if v == "" {
		return busyboxPkg{}, fmt.Errorf("apt knows no %s from Debian %s: run 'apt-get update' as root (apt's sources must include %s)", busyboxPackage, images.DebianSuite, images.DebianSuite)
	}
	return busyboxPkg{version: v, arch: debArch(runtime.GOARCH)}, nil
}

// madisonVersion picks from `apt-cache madison` output the newest version
// (madison lists newest first) served by suite or its -updates/-security.
func madisonVersion(out, suite string) string {
	for _, line := range strings.Split(out, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) != 3 {
			continue
		}
		src := strings.Fields(cols[2]) // "http://deb.debian.org/debian bookworm/main amd64 Packages"
		if len(src) < 2 {
			continue
		}
		s, _, _ := strings.Cut(src[1], "/")
		if s == suite || strings.HasPrefix(s, suite+"-") {
			return strings.TrimSpace(cols[1])
		}
	}
	return ""
}

// debArch is Debian's name for a Go architecture.
func debArch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	}
	return goarch
}

// fetchBusybox downloads the exact package through the host's apt, checks it
// is what was asked for, and keeps only the binary and its applet list.
func fetchBusybox(ctx context.Context, b busyboxPkg, out string, log io.Writer) error {
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed: the stand-in images take busybox from Debian's %s package, so build them on Debian", tool, busyboxPackage)
		}
	}
	dl := filepath.Join(out, "download")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return err
	}
	if err := runIn(ctx, dl, log, "apt-get", "download", busyboxPackage+"="+b.version); err != nil {
		return fmt.Errorf("%w\n(if apt's lists are stale, run 'apt-get update' as root)", err)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	if len(debs) != 1 {
		return fmt.Errorf("apt-get download %s left %d .deb files, want 1", busyboxPackage, len(debs))
	}
	for field, want := range map[string]string{"Package": busyboxPackage, "Version": b.version, "Architecture": b.arch} {
		got, err := exec.CommandContext(ctx, "dpkg-deb", "-f", debs[0], field).Output()
		if err != nil {
			return fmt.Errorf("dpkg-deb -f %s %s: %w", debs[0], field, err)
		}
		if strings.TrimSpace(string(got)) != want {
			return fmt.Errorf("%s: %s is %q, want %q", filepath.Base(debs[0]), field, strings.TrimSpace(string(got)), want)
		}
	}
	x := filepath.Join(out, "extracted")
	if err := run(ctx, log, "dpkg-deb", "-x", debs[0], x); err != nil {
		return err
	}
	bin := filepath.Join(out, "busybox")
	if err := os.Rename(filepath.Join(x, "bin", "busybox"), bin); err != nil {
		return fmt.Errorf("%s has no /bin/busybox: %w", debs[0], err)
	}
	// The static binary runs here as it will in the image; it says which
	// applets it has.
	list, err := exec.CommandContext(ctx, bin, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	applets, err := parseApplets(string(list))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "applets"), []byte(strings.Join(applets, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return errors.Join(os.RemoveAll(dl), os.RemoveAll(x))
}

// parseApplets reads `busybox --list`, leaving out busybox itself (the link
// would point at itself), and checks the chapter's commands are there.
func parseApplets(list string) ([]string, error) {
	var applets []string
	have := map[string]bool{}
	for _, a := range strings.Fields(list) {
		if strings.Contains(a, "/") || a == "." || a == ".." {
			return nil, fmt.Errorf("busybox --list gave %q, not an applet name", a)
		}
		if a != "busybox" && !have[a] {
			have[a] = true
			applets = append(applets, a)
		}
	}
	for _, a := range busyboxNeeded() {
		if !have[a] {
			return nil, fmt.Errorf("%s lacks the %s applet a chapter runs", busyboxPackage, a)
		}
	}
	sort.Strings(applets)
	return applets, nil
}

// busyboxFiles is a fetched busybox: its binary and applet names.
type busyboxFiles struct {
	bin     string
	applets []string
}

func readBusybox(dir string) (*busyboxFiles, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "applets"))
	if err != nil {
		return nil, err
	}
	applets, err := parseApplets(string(raw))
	if err != nil {
		return nil, err
	}
	return &busyboxFiles{bin: filepath.Join(dir, "busybox"), applets: applets}, nil
}
