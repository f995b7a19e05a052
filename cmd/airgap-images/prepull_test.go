package main

import (
	"strings"
	"testing"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/harness/images"
)

// The node pulls the control plane's images by the names its kubelet will
// ask for, then the chapters' own: one image a line.
func TestPrepullListNamesWhatTheKubeletAsksFor(t *testing.T) {
	cp := []string{"registry.k8s.io/kube-apiserver:v1.34.4", "registry.k8s.io/coredns/coredns:v1.12.1"}
	got := strings.Split(strings.TrimSpace(string(prepullList(images.Containerd, cp))), "\n")
	if len(got) < 3 || got[0] != cp[0] || got[1] != cp[1] || got[2] != fixtures.AllImages()[0].Ref {
		t.Errorf("default flavor: got %q", got)
	}
	got = strings.Split(strings.TrimSpace(string(prepullList(images.DockerRuntime, cp))), "\n")
	if want := images.RegistryHost() + "/coredns/coredns:v1.12.1"; got[1] != want {
		t.Errorf("Docker flavor: got %q, want %q second", got, want)
	}
	if last := got[len(got)-1]; last != fixtures.AllImages()[len(fixtures.AllImages())-1].Ref {
		t.Errorf("the chapters' images last, as they write them: got %q", last)
	}
}
