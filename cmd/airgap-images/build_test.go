package main

import (
	"archive/tar"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMirrorInDeb822AndOneLineSources(t *testing.T) {
	deb822 := "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n" +
		"Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
	if got := mirrorIn(deb822); got != "http://mirror.example/debian" {
		t.Errorf("deb822: %q", got)
	}
	oneLine := "# comment\ndeb [arch=amd64] http://other.example/debian bookworm main\n"
	if got := mirrorIn(oneLine); got != "http://other.example/debian" {
		t.Errorf("one-line: %q", got)
	}
	if got := mirrorIn("deb http://x.example/debian trixie main\n"); got != "" {
		t.Errorf("other suite: %q", got)
	}
}

func TestWriteLayerIsReproducible(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "bin")
	if err := os.WriteFile(src, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]entry{
		"/usr/local/bin/x": {mode: 0o755, src: src},
		"/etc/x.conf":      {mode: 0o644, data: []byte("a=1")},
		"/opt/link":        {symlink: "/usr/lib"},
	}
	var sums [2][32]byte
	for i := range sums {
		out := filepath.Join(dir, "layer.tar")
		if err := writeLayer(out, files); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(out)
		sums[i] = sha256.Sum256(raw)
	}
	if sums[0] != sums[1] {
		t.Error("the same files gave different layers")
	}
	f, _ := os.Open(filepath.Join(dir, "layer.tar"))
	defer f.Close()
	r := tar.NewReader(f)
	var names []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	want := []string{"etc/", "etc/x.conf", "opt/", "opt/link", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/x"}
	if len(names) != len(want) {
		t.Fatalf("entries %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("entry %d = %q, want %q", i, names[i], want[i])
		}
	}
}

func TestKeysChangeWithAnyInput(t *testing.T) {
	a := goModuleBuild{module: "m", version: "v1", pkgs: map[string]string{"x": "m/x"}}
	b := a
	b.version = "v2"
	if a.key("go1.26") == b.key("go1.26") || a.key("go1.26") == a.key("go1.27") {
		t.Error("a changed input kept the same key")
	}
}

func TestVersionLdflagsNameTheRelease(t *testing.T) {
	got := versionLdflags("v1.34.4")
	for _, want := range []string{"k8s.io/component-base/version.gitVersion=v1.34.4", "k8s.io/client-go/pkg/version.gitMinor=34", "gitMajor=1"} {
		if !contains(got, want) {
			t.Errorf("ldflags lack %s: %s", want, got)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestProxyBaseLayerIsACompleteTar(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 3<<20) // larger than the writer's buffer
	in := filepath.Join(dir, "rootfs.tar")
	if err := writeLayer(in, map[string]entry{
		"/usr/sbin/iptables-nft":                   {mode: 0o755, data: big},
		"/usr/lib/x86_64-linux-gnu/libnftnl.so.11": {mode: 0o644, data: []byte("lib")},
		"/usr/share/doc/readme":                    {mode: 0o644, data: []byte("dropped")},
	}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "proxy.tar")
	if err := proxyBaseLayer(in, out); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	defer f.Close()
	r := tar.NewReader(f)
	var kept []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("truncated layer: %v", err)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil || n != h.Size {
			t.Fatalf("%s: read %d of %d: %v", h.Name, n, h.Size, err)
		}
		if h.Typeflag == tar.TypeReg {
			kept = append(kept, h.Name)
		}
	}
	if strings.Join(kept, ",") != "usr/lib/x86_64-linux-gnu/libnftnl.so.11,usr/sbin/iptables-nft" {
		t.Errorf("kept %v", kept)
	}
}

// A failed go build's own reason leads its error, not its exit status.
func TestAGoBuildFailureLeadsWithGosReason(t *testing.T) {
	out := "go: downloading golang.org/x/tools v0.51.0\n" +
		"/root/go/pkg/mod/k8s.io/kubernetes@v1.38.0-beta.0/pkg/proxy/iptables/cleanup.go:28:2: sigs.k8s.io/iptables-wrappers@v1.0.0: reading https://proxy.golang.org/sigs.k8s.io/iptables-wrappers/@v/v1.0.0.zip: 403 Forbidden\n" +
		"\tserver response: This module version is not available.\n"
	got := goCause(out, errors.New("exit status 1"))
	want := "sigs.k8s.io/iptables-wrappers@v1.0.0: reading https://proxy.golang.org/sigs.k8s.io/iptables-wrappers/@v/v1.0.0.zip: 403 Forbidden (/root/go/pkg/mod/k8s.io/kubernetes@v1.38.0-beta.0/pkg/proxy/iptables/cleanup.go:28:2)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := goCause("go: downloading x v1\n", errors.New("exit status 1")); got != "exit status 1" {
		t.Errorf("no reason printed: got %q", got)
	}
	if got := goCause("go: module k8s.io/kubernetes@v1.38.0-beta.0 requires go >= 1.27.0\n", errors.New("exit status 1")); got != "module k8s.io/kubernetes@v1.38.0-beta.0 requires go >= 1.27.0" {
		t.Errorf("got %q", got)
	}
}
