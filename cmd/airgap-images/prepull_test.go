package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// The node pulls the control plane's images by the names its kubelet will
// ask for, then the chapters' own: one image a line.
func TestPrepullListNamesWhatTheKubeletAsksFor(t *testing.T) {
	// kubeadm's own order (v1.34): alphabetical but for etcd.
	cp := []string{"registry.k8s.io/kube-apiserver:v1.34.4", "registry.k8s.io/coredns/coredns:v1.12.1",
		"registry.k8s.io/pause:3.10.1", "registry.k8s.io/etcd:3.6.5-0"}
	got := strings.Split(strings.TrimSpace(string(prepullList(images.Default, cp))), "\n")
	want := []string{"registry.k8s.io/pause:3.10.1", "registry.k8s.io/etcd:3.6.5-0", "registry.k8s.io/kube-apiserver:v1.34.4",
		"registry.k8s.io/coredns/coredns:v1.12.1", book.Images(chapters.Books())[0].Ref}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("default flavor, in the order the node needs them:\n got %q\nwant %q…", got, want)
	}
	got = strings.Split(strings.TrimSpace(string(prepullList(images.DockerRuntime, cp))), "\n")
	if want := images.RegistryHost() + "/coredns/coredns:v1.12.1"; got[3] != want {
		t.Errorf("Docker flavor: got %q, want %q second", got, want)
	}
	if last := got[len(got)-1]; last != book.Images(chapters.Books())[len(book.Images(chapters.Books()))-1].Ref {
		t.Errorf("the chapters' images last, as they write them: got %q", last)
	}
}

// The images' key follows the assembly's own source: a change to it is a
// rebuild, a change to a test is not.
func TestAssemblyKeyFollowsTheSource(t *testing.T) {
	repo := t.TempDir()
	dir := filepath.Join(repo, assemblySource)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := assemblyKey(repo); err == nil || !strings.Contains(err.Error(), "is -repo the kiamol-e2e checkout?") {
		t.Errorf("no source: want one clear error, got %v", err)
	}
	write("images.go", "package main // one")
	k1, _ := assemblyKey(repo)
	write("images_test.go", "package main // a test")
	if k2, _ := assemblyKey(repo); k2 != k1 {
		t.Errorf("a test changed the key")
	}
	write("images.go", "package main // two")
	if k3, _ := assemblyKey(repo); k3 == k1 {
		t.Errorf("a change to the assembly kept the key")
	}
}
