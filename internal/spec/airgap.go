package spec

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/kiamol-e2e/kiamol-e2e/internal/cluster"
	"github.com/kiamol-e2e/kiamol-e2e/internal/containerruntime"
	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// airgap checks the suite's own air-gapped cluster. These specs read
// configuration and rules; none of them sends anything toward an outside
// address.
func (k *Suite) airgap() {
	Describe("The air-gapped cluster", Label("airgap"), func() {
		BeforeEach(func() {
			if k.run.Mode != images.Airgap || !k.run.Own {
				Skip("not the suite's air-gapped kind cluster (" + k.run.ModeReason + "): there is no air gap of ours to check")
			}
		})

		It("drops on the host whatever its bridge would forward off the machine", func(ctx SpecContext) {
			names := cluster.NamesFor(k.run.ClusterName)
			present, err := cluster.GuardPresent(ctx, names.Bridge)
			Expect(err).NotTo(HaveOccurred())
			Expect(present).To(BeTrue(), "iptables %s has the guard %v", cluster.GuardChain, cluster.GuardRule(names.Bridge))

			opts, err := docker.Run(ctx, "network", "inspect", "--format", "{{json .Options}} {{.EnableIPv6}}", names.Network)
			Expect(err).NotTo(HaveOccurred())
			Expect(opts).To(ContainSubstring(`"com.docker.network.bridge.name":"`+names.Bridge+`"`),
				"the network uses the bridge the guard names")
			Expect(opts).To(ContainSubstring(`"com.docker.network.bridge.enable_ip_masquerade":"false"`))
			Expect(opts).To(HaveSuffix(" false"), "the network has no IPv6, which the guard does not cover")

			nodeNames, err := cluster.NodeContainers(k.run.ClusterName)
			Expect(err).NotTo(HaveOccurred())
			Expect(nodeNames).NotTo(BeEmpty())
			for _, node := range nodeNames {
				nets, err := docker.Run(ctx, "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", node)
				Expect(err).NotTo(HaveOccurred())
				Expect(strings.Fields(nets)).To(ConsistOf(names.Network), "node %s is on the guarded network only", node)
			}
		}, SpecTimeout(k.timeouts.Spec))

		It("points every node's container runtime at the local registry and nowhere else", func(ctx SpecContext) {
			names := cluster.NamesFor(k.run.ClusterName)
			nodeNames, err := cluster.NodeContainers(k.run.ClusterName)
			Expect(err).NotTo(HaveOccurred())
			Expect(nodeNames).NotTo(BeEmpty())
			want := "http://" + images.RegistryHost()
			urlPattern := regexp.MustCompile(`(?m)^\s*(?:server\s*=\s*"([^"]+)"|\[host\."([^"]+)"\])`)
			for _, name := range nodeNames {
				node, ok := cluster.KindNode(ctx, name)
				Expect(ok).To(BeTrue(), "kind lists node %s", name)
				in := func(cmd string, args ...string) string {
					GinkgoHelper()
					out, err := cluster.InNode(ctx, node, cmd, args...)
					Expect(err).NotTo(HaveOccurred())
					return out
				}
				if k.runtimeOf(ctx, name) == "docker" {
					dockerNodeMustUseTheRegistryOnly(ctx, node, names)
					continue
				}
				listing := in("sh", "-c", `for f in /etc/containerd/certs.d/*/hosts.toml; do echo "#file $f"; cat "$f"; done`)
				files := map[string][]string{}
				current := ""
				for _, line := range strings.Split(listing, "\n") {
					if f, ok := strings.CutPrefix(line, "#file "); ok {
						current = f
						files[current] = nil
						continue
					}
					if m := urlPattern.FindStringSubmatch(line); m != nil {
						files[current] = append(files[current], m[1]+m[2])
					}
				}
				var mirrored []string
				for f, urls := range files {
					mirrored = append(mirrored, strings.TrimSuffix(strings.TrimPrefix(f, "/etc/containerd/certs.d/"), "/hosts.toml"))
					Expect(urls).NotTo(BeEmpty(), "%s on %s names a registry", f, name)
					for _, u := range urls {
						if u != want {
							failBecause(LayerCluster, fmt.Sprintf("%s on %s points at %s, not only the local registry %s", f, name, u, want))
						}
					}
				}
				sort.Strings(mirrored)
				Expect(mirrored).To(Equal(images.MirroredRegistries), "node %s mirrors exactly these registries", name)

				dump := in("containerd", "config", "dump")
				Expect(dump).To(ContainSubstring(`config_path = "/etc/containerd/certs.d"`))
				Expect(dump).NotTo(MatchRegexp(`endpoint\s*=\s*\[\s*"`), "no legacy mirror endpoints in containerd's config")

				// The registry's name resolves only through Docker's DNS on
				// this network, to an address on it: this cluster's own
				// registry.
				registryOnTheClusterNetwork(ctx, node, names)
			}
		}, SpecTimeout(k.timeouts.Spec))
	})
}

func inSubnet(ip, cidr string) bool {
	_, n, err := net.ParseCIDR(cidr)
	return err == nil && n.Contains(net.ParseIP(ip))
}

// runtimeOf is the container runtime a node reports ("containerd",
// "docker").
func (k *Suite) runtimeOf(ctx context.Context, node string) string {
	GinkgoHelper()
	var n corev1.Node
	Expect(k.klient.Get(ctx, node, "", &n)).To(Succeed())
	return containerruntime.Scheme(n.Status.NodeInfo.ContainerRuntimeVersion)
}

// registryOnTheClusterNetwork checks that the node resolves the registry's
// name to an address on the cluster's own network.
func registryOnTheClusterNetwork(ctx context.Context, node nodes.Node, names cluster.Names) {
	GinkgoHelper()
	addr, err := cluster.InNode(ctx, node, "getent", "hosts", images.RegistryAlias)
	Expect(err).NotTo(HaveOccurred(), "node %s resolves the registry by name", node)
	subnet, err := docker.Run(ctx, "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", names.Network)
	Expect(err).NotTo(HaveOccurred())
	Expect(inSubnet(strings.Fields(addr)[0], subnet)).To(BeTrue(), "registry address %s is on the cluster network %s", addr, subnet)
}

// dockerNodeMustUseTheRegistryOnly checks a node whose kubelet drives
// Docker: docker.io pulls go to the local registry (the engine's only
// mirror), the control plane's images come from it by name (an insecure
// registry the engine trusts), and Docker Hub's own names, which the engine
// falls back to when the mirror lacks an image, resolve nowhere on the node.
func dockerNodeMustUseTheRegistryOnly(ctx context.Context, node nodes.Node, names cluster.Names) {
	GinkgoHelper()
	mirrors, err := cluster.InNode(ctx, node, "docker", "info", "--format", "{{json .RegistryConfig.Mirrors}}")
	Expect(err).NotTo(HaveOccurred())
	Expect(mirrors).To(Equal(`["http://`+images.RegistryHost()+`/"]`), "node %s's Docker mirrors docker.io to the local registry only", node)
	insecure, err := cluster.InNode(ctx, node, "docker", "info", "--format", "{{json .RegistryConfig.IndexConfigs}}")
	Expect(err).NotTo(HaveOccurred())
	Expect(insecure).To(ContainSubstring(`"`+images.RegistryHost()+`":`), "node %s's Docker trusts the local registry", node)
	for _, hub := range []string{"docker.io", "registry-1.docker.io", "index.docker.io", "auth.docker.io"} {
		addrs, err := cluster.InNode(ctx, node, "getent", "ahosts", hub)
		Expect(err).NotTo(HaveOccurred(), "node %s resolves %s", node, hub)
		for _, line := range strings.Split(strings.TrimSpace(addrs), "\n") {
			Expect(strings.Fields(line)[0]).To(BeElementOf("0.0.0.0", "::"), "node %s points %s nowhere", node, hub)
		}
	}
	registryOnTheClusterNetwork(ctx, node, names)
}
