package cluster

import (
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

func patches(t *testing.T, in ConfigInput) string {
	t.Helper()
	c, err := KindConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(c.KubeadmConfigPatches, "---\n")
}

func TestAKubeletThatRefusesCgroupV1IsToldNotToOnlyOnACgroupV1Host(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   ConfigInput
		want bool
	}{
		{"v1.37 on cgroup v1", ConfigInput{Airgap: true, Flavor: images.K8s137, HostCgroupV1: true}, true},
		{"v1.35 on cgroup v1", ConfigInput{Airgap: true, Flavor: images.K8s135, HostCgroupV1: true}, true},
		{"v1.34 on cgroup v1: its default already runs", ConfigInput{Airgap: true, Flavor: images.K8s134, HostCgroupV1: true}, false},
		{"v1.23 on cgroup v1", ConfigInput{Airgap: true, Flavor: images.DockerRuntime, HostCgroupV1: true}, false},
		{"v1.37 on cgroup v2", ConfigInput{Airgap: true, Flavor: images.K8s137}, false},
		{"online, kind's default image (v1.37) on cgroup v1", ConfigInput{HostCgroupV1: true}, true},
		{"online, a v1.34 image on cgroup v1", ConfigInput{Flavor: images.Flavor{KubernetesVersion: "v1.34.11"}, HostCgroupV1: true}, false},
	} {
		got := strings.Contains(patches(t, tc.in), "failCgroupV1: false")
		if got != tc.want || tc.in.CgroupV1Override() != tc.want {
			t.Errorf("%s: failCgroupV1 patch %v, override %v; want %v", tc.name, got, tc.in.CgroupV1Override(), tc.want)
		}
	}
}

// The kubeadm patches name no API version and keep extraArgs as a map,
// which kind merges into v1beta3 (before v1.36) and v1beta4 (from it)
// alike; a versioned patch would apply to one of them only.
func TestKubeadmPatchesFitEveryVersionKindWrites(t *testing.T) {
	for _, f := range images.Flavors {
		p := patches(t, ConfigInput{Airgap: true, Flavor: f, HostCgroupV1: true})
		if strings.Contains(p, "kubeadm.k8s.io/") {
			t.Errorf("%s: a patch names a kubeadm API version:\n%s", f.ID(), p)
		}
		for _, want := range []string{"kind: ClusterConfiguration", "kube-api-qps: \"200\"", "leader-elect-retry-period: 500ms", "resolvConf: /kind/pod-resolv.conf"} {
			if !strings.Contains(p, want) {
				t.Errorf("%s: no %q in\n%s", f.ID(), want, p)
			}
		}
		docker := strings.Contains(p, "criSocket: /var/run/dockershim.sock")
		if docker != (f.Runtime == "docker") {
			t.Errorf("%s: dockershim socket patch %v", f.ID(), docker)
		}
	}
}

func TestTheConfigHasOneControlPlaneThenWorkers(t *testing.T) {
	c, err := KindConfig(ConfigInput{Airgap: true, Flavor: images.Default, Nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes) != 3 || c.Nodes[0].Role != v1alpha4.ControlPlaneRole || c.Nodes[2].Role != v1alpha4.WorkerRole {
		t.Errorf("nodes %+v", c.Nodes)
	}
	if !c.Networking.DisableDefaultCNI || c.Networking.IPFamily != v1alpha4.IPv4Family {
		t.Errorf("air-gapped networking %+v", c.Networking)
	}
	online, _ := KindConfig(ConfigInput{Nodes: 1})
	if online.Networking.DisableDefaultCNI || strings.Contains(strings.Join(online.KubeadmConfigPatches, ""), "resolvConf") {
		t.Errorf("online keeps kind's network and DNS: %+v", online)
	}
}
