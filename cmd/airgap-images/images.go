package main

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

//go:embed nodefiles
var nodeFiles embed.FS

func nodeFile(name string) []byte {
	raw, err := nodeFiles.ReadFile("nodefiles/" + name)
	if err != nil {
		panic(err) // embedded at build time: a missing file is a programming error
	}
	return raw
}

func render(name string, data any) ([]byte, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(string(nodeFile(name)))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// nodeFilesHash keys everything baked into the node layer besides binaries.
func nodeFilesHash() string {
	entries, _ := nodeFiles.ReadDir("nodefiles")
	var parts []string
	for _, e := range entries {
		parts = append(parts, e.Name(), string(nodeFile(e.Name())))
	}
	return keyOf(parts...)
}

// nodeLayer lays the Kubernetes binaries and the node's configuration out
// the way kind expects of a node image.
func nodeLayer(out string, f images.Flavor, k8sBin, crictlBin, programs string, controlPlane []string) error {
	containerdConfig, err := render("containerd-config.toml", map[string]string{"PauseTag": f.PauseTag})
	if err != nil {
		return err
	}
	bin := func(p string) entry { return entry{mode: 0o755, src: p} }
	conf := func(name string) entry { return entry{mode: 0o644, data: nodeFile(name)} }
	files := map[string]entry{
		"/usr/bin/kubeadm":                                               bin(filepath.Join(k8sBin, "kubeadm")),
		"/usr/bin/kubelet":                                               bin(filepath.Join(k8sBin, "kubelet")),
		"/usr/bin/kubectl":                                               bin(filepath.Join(k8sBin, "kubectl")),
		"/usr/local/bin/crictl":                                          bin(filepath.Join(crictlBin, "crictl")),
		"/usr/local/bin/entrypoint":                                      {mode: 0o755, data: nodeFile("entrypoint")},
		"/usr/local/bin/kiamol-node-prep":                                bin(filepath.Join(programs, "kiamol-node-prep")),
		"/etc/containerd/config.toml":                                    {mode: 0o644, data: containerdConfig},
		"/etc/systemd/system/containerd.service":                         conf("containerd.service"),
		"/etc/systemd/system/kubelet.service":                            conf("kubelet.service"),
		"/etc/systemd/system/kubelet.slice":                              conf("kubelet.slice"),
		"/etc/systemd/system/kubelet.service.d/10-kubeadm.conf":          conf("10-kubeadm.conf"),
		"/etc/systemd/system/multi-user.target.wants/kubelet.service":    {symlink: "/etc/systemd/system/kubelet.service"},
		"/etc/systemd/system/multi-user.target.wants/containerd.service": {symlink: "/etc/systemd/system/containerd.service"},
		"/etc/systemd/system/systemd-binfmt.service":                     {symlink: "/dev/null"},
		"/etc/systemd/journald.conf.d/kiamol-e2e.conf":                   conf("journald.conf"),
		"/etc/default/kubelet":                                           conf("kubelet.default"),
		"/etc/crictl.yaml":                                               conf("crictl.yaml"),
		// No static CNI configuration: kiamol-cni writes it once the node
		// has its pod CIDR, one range per node.
		"/usr/local/bin/kiamol-cni":                                          {mode: 0o755, data: nodeFile("kiamol-cni")},
		"/usr/local/bin/kiamol-prepull":                                      {mode: 0o755, data: nodeFile("kiamol-prepull")},
		"/etc/systemd/system/kiamol-prepull.service":                         conf("kiamol-prepull.service"),
		"/etc/systemd/system/multi-user.target.wants/kiamol-prepull.service": {symlink: "/etc/systemd/system/kiamol-prepull.service"},
		"/etc/kiamol-e2e/prepull-images":                                     {mode: 0o644, data: prepullList(f, controlPlane)},
		"/etc/systemd/system/kiamol-cni.service":                             conf("kiamol-cni.service"),
		"/etc/systemd/system/multi-user.target.wants/kiamol-cni.service":     {symlink: "/etc/systemd/system/kiamol-cni.service"},
		"/opt/cni/bin":                         {symlink: "/usr/lib/cni"},
		"/kind/version":                        {mode: 0o644, data: []byte(f.KubernetesVersion)},
		"/kind/manifests/default-storage.yaml": conf("default-storage.yaml"),
	}
	for _, upstream := range images.MirroredRegistries {
		hosts, err := render("hosts.toml", map[string]string{"Upstream": upstream, "Registry": images.RegistryHost()})
		if err != nil {
			return err
		}
		files["/etc/containerd/certs.d/"+upstream+"/hosts.toml"] = entry{mode: 0o644, data: hosts}
	}
	if f.Runtime == "docker" {
		if err := dockerNode(files, programs); err != nil {
			return err
		}
	}
	return writeLayer(out, files)
}

// prepullList is what kiamol-prepull pulls as the node boots, one a line:
// the control plane's images first, by the names its kubelet asks for (the
// default flavor's runtime mirrors registry.k8s.io to the local registry;
// the Docker flavor's kubeadm names the registry itself), so that neither
// kubeadm nor the add-ons wait on a pull and the kubelet's one-at-a-time
// pulls are free for the chapters' Pods; then the chapters' images, as the
// chapters write them.
func prepullList(f images.Flavor, controlPlane []string) []byte {
	var b strings.Builder
	for _, ref := range bootOrder(controlPlane) {
		if f.Runtime == "docker" {
			ref = images.RegistryHost() + "/" + strings.TrimPrefix(ref, "registry.k8s.io/")
		}
		b.WriteString(ref + "\n")
	}
	for _, i := range book.Images(chapters.Books()) {
		b.WriteString(i.Ref + "\n")
	}
	return []byte(b.String())
}

// bootOrder is the control plane's images in the order the node needs
// them: the sandbox, etcd, the API server, the rest; kubeadm lists them
// alphabetically but for etcd.
func bootOrder(refs []string) []string {
	rank := map[string]int{"pause": 0, "etcd": 1, "kube-apiserver": 2, "kube-controller-manager": 3, "kube-scheduler": 4, "kube-proxy": 5, "coredns": 6}
	ordered := slices.Clone(refs)
	slices.SortStableFunc(ordered, func(a, b string) int {
		ra, ok := rank[path.Base(strings.Split(a, ":")[0])]
		if !ok {
			ra = len(rank)
		}
		rb, ok := rank[path.Base(strings.Split(b, ":")[0])]
		if !ok {
			rb = len(rank)
		}
		return ra - rb
	})
	return ordered
}

// dockerNode adds what a node whose kubelet drives Docker needs: the
// engine's configuration (the local registry as docker.io's mirror and an
// insecure registry for the control plane's images, no bridge or iptables of
// its own: the pods' network is CNI's), this host's capability filter as its
// runtime, and Docker Hub's names pointed nowhere.
func dockerNode(files map[string]entry, programs string) error {
	daemon, err := render("docker-daemon.json", map[string]string{"Registry": images.RegistryHost()})
	if err != nil {
		return err
	}
	files["/etc/docker/daemon.json"] = entry{mode: 0o644, data: daemon}
	files["/usr/local/libexec/kiamol-e2e/runc-capfilter"] = entry{mode: 0o755, src: filepath.Join(programs, "runc-capfilter")}
	files["/etc/systemd/system/multi-user.target.wants/docker.service"] = entry{symlink: "/lib/systemd/system/docker.service"}
	files["/etc/default/kubelet"] = entry{mode: 0o644, data: []byte("KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/docker.service\n")}
	files["/etc/default/kiamol-cni"] = entry{mode: 0o644, data: []byte("# dockershim's CNI library (Kubernetes 1.23) reads configurations up to 0.4.0\nCNI_VERSION=0.4.0\n")}
	files["/etc/kiamol-e2e/hosts"] = entry{mode: 0o644, data: nodeFile("docker-hosts")}
	return nil
}

// newImage stacks layer tars into an image for this machine's platform.
func newImage(cfg v1.Config, layers ...string) (v1.Image, error) {
	if len(cfg.Env) == 0 {
		cfg.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: runtime.GOARCH,
		OS:           "linux",
		Config:       cfg,
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		layer, err := tarball.LayerFromFile(l, tarball.WithCompressedCaching)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// binaryImage is one static binary on an empty filesystem.
func binaryImage(dir, src, dest string, extra map[string]entry, cfg v1.Config) (v1.Image, error) {
	files := map[string]entry{dest: {mode: 0o755, src: src}}
	for k, v := range extra {
		files[k] = v
	}
	layer := filepath.Join(dir, strings.ReplaceAll(strings.Trim(dest, "/"), "/", "_")+".tar")
	if err := writeLayer(layer, files); err != nil {
		return nil, err
	}
	if cfg.Entrypoint == nil {
		cfg.Entrypoint = []string{dest}
	}
	return newImage(cfg, layer)
}

// localRegistry runs the registry binary on loopback for as long as the
// build pushes into its storage folder.
type localRegistry struct {
	addr string
	cmd  *exec.Cmd
}

func startLocalRegistry(ctx context.Context, registryBin, storage, work string, log io.Writer) (*localRegistry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(work, "registry.yml")
	if err := os.WriteFile(cfg, nodeFile("registry.yml"), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, registryBin, "serve", cfg)
	cmd.Env = append(os.Environ(), "REGISTRY_HTTP_ADDR="+addr, "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="+storage)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &localRegistry{addr: addr, cmd: cmd}
	var last error
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if last = err; err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		r.stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("local registry on %s did not answer within 20s: %v", addr, last)
	}
	return r, nil
}

func (r *localRegistry) stop() {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

func (r *localRegistry) push(ctx context.Context, repoTag string, img v1.Image) (string, error) {
	ref, err := name.ParseReference(r.addr+"/"+repoTag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("push %s: %w", repoTag, err)
	}
	d, err := img.Digest()
	return d.String(), err
}

// dockerLoad hands images to the Docker engine, which kind runs nodes from.
func dockerLoad(ctx context.Context, images map[string]v1.Image, log io.Writer) error {
	refs := map[name.Reference]v1.Image{}
	for tag, img := range images {
		t, err := name.NewTag(tag)
		if err != nil {
			return err
		}
		refs[t] = img
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.MultiRefWrite(refs, pw)) }()
	cmd := exec.CommandContext(ctx, "docker", "load")
	cmd.Stdin = pr
	var tail bytes.Buffer
	cmd.Stdout = io.MultiWriter(log, &tail)
	cmd.Stderr = io.MultiWriter(log, &tail)
	err := cmd.Run()
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return fmt.Errorf("docker load: %w\n%s", err, lastLines(tail.String(), 10))
	}
	return nil
}

func dockerImageIDs(ctx context.Context, refs ...string) (map[string]string, error) {
	out := map[string]string{}
	for _, ref := range refs {
		raw, err := exec.CommandContext(ctx, "docker", "image", "inspect", "-f", "{{.Id}}", ref).Output()
		if err != nil {
			continue // absent
		}
		out[ref] = strings.TrimSpace(string(raw))
	}
	return out, nil
}

// upToDate says what, if anything, is missing from a previous build.
func upToDate(ctx context.Context, b images.Built, key string) string {
	if b.Key != key {
		return "inputs changed since the last build"
	}
	ids, _ := dockerImageIDs(ctx, b.NodeImage, b.RegistryImage)
	if ids[b.NodeImage] != b.NodeImageID {
		return "the Docker engine lacks " + b.NodeImage
	}
	if ids[b.RegistryImage] != b.RegistryImageID {
		return "the Docker engine lacks " + b.RegistryImage
	}
	for repoTag, digest := range b.Images {
		repo, tag, _ := strings.Cut(repoTag, ":")
		link := filepath.Join(b.RegistryStorage, "docker/registry/v2/repositories", repo, "_manifests/tags", tag, "current/link")
		raw, err := os.ReadFile(link)
		if err != nil || strings.TrimSpace(string(raw)) != digest {
			return "the registry storage lacks " + repoTag
		}
	}
	return ""
}
