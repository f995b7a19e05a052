// Command airgap-images builds, from Debian packages and Go modules only,
// everything an air-gapped kind cluster needs: the node image, the
// control-plane images under the names kubeadm asks for, a stand-in for each
// of the chapters' images (book.Images of chapters.All), and the registry that serves
// them. Every step is cached by its inputs outside the repository; with
// nothing changed it only checks.
//
//	go run ./cmd/airgap-images [-repo DIR]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"github.com/kiamol-e2e/kiamol-e2e/images/standins"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
)

// assemblySource is where this program's own source is in the checkout:
// the images' key holds its text, so that a change to how images are
// assembled (a file laid into the node, the prepull list) rebuilds them
// with no version to remember to bump.
const assemblySource = "cmd/airgap-images"

// assemblyKey is the text of this program's non-test Go files.
func assemblyKey(repo string) (string, error) {
	files, err := filepath.Glob(filepath.Join(repo, assemblySource, "*.go"))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no image assembly source in %s: is -repo the kiamol-e2e checkout?", filepath.Join(repo, assemblySource))
	}
	sort.Strings(files)
	var parts []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		parts = append(parts, filepath.Base(f), string(raw))
	}
	return keyOf(parts...), nil
}

func main() {
	repo := flag.String("repo", ".", "the kiamol-e2e checkout (for the stand-in images' sources)")
	heartbeat := flag.Duration("heartbeat", 30*time.Second, "how often to say what is still running")
	cluster := flag.String("cluster", os.Getenv("E2E_CLUSTER"), "the kind of cluster to build for: kind (default) or docker-runtime")
	version := flag.String("k8s-version", os.Getenv("E2E_K8S_VERSION"), "the Kubernetes version to build for (v1.37, v1.36, ...; default: the cluster's own)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	flavor, err := images.FlavorFor(*cluster, *version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "airgap-images: %v\n", err)
		os.Exit(2)
	}
	if err := build(ctx, *repo, flavor, *heartbeat); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "airgap-images: interrupted; nothing half-built was kept")
		} else {
			fmt.Fprintf(os.Stderr, "airgap-images: %v\n", err)
		}
		os.Exit(1)
	}
}

type plan struct {
	flavor                         images.Flavor
	cache, repo, goVersion, mirror string
	logPath                        string
	k8s, etcd, coredns, crictl     goModuleBuild
	registry                       goModuleBuild
	chapterImages                  []book.Image
	standins                       map[string]string // binary -> package dir in this repo
	busybox                        *busyboxPkg       // nil when no stand-in wants busybox
	standinKey, chapterImagesKey   string
	rootfsKey, key                 string
}

func (p *plan) proxyBaseKey() string { return keyOf(proxyBaseRecipe, p.rootfsKey) }

func (p *plan) out(name, key string) string { return filepath.Join(p.cache, "out", name+"-"+key) }

func newPlan(ctx context.Context, repo string, flavor images.Flavor) (*plan, error) {
	cache, err := images.CacheDir()
	if err != nil {
		return nil, err
	}
	gov, err := goVersion(ctx)
	if err != nil {
		return nil, err
	}
	repo, err = filepath.Abs(repo)
	if err != nil {
		return nil, err
	}
	p := &plan{flavor: flavor, cache: cache, repo: repo, goVersion: gov, mirror: debianMirror()}
	k8sPkgs := map[string]string{}
	for _, c := range []string{"kubeadm", "kubelet", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		k8sPkgs[c] = "k8s.io/kubernetes/cmd/" + c
	}
	p.k8s = goModuleBuild{label: "kubernetes " + flavor.KubernetesVersion, module: "k8s.io/kubernetes", version: flavor.KubernetesVersion,
		pkgs: k8sPkgs, ldflags: versionLdflags(flavor.KubernetesVersion), generateOpenAPI: needsOpenAPI(flavor.KubernetesVersion),
		toolchain: flavor.GoToolchain}
	p.etcd = goModuleBuild{label: "etcd " + flavor.Etcd.Version, module: "go.etcd.io/etcd/server/v3", version: flavor.Etcd.Version,
		pkgs: map[string]string{"etcd": "go.etcd.io/etcd/server/v3"}, ldflags: "-s -w"}
	p.coredns = goModuleBuild{label: "coredns " + flavor.CoreDNS.Version, module: "github.com/coredns/coredns", version: flavor.CoreDNS.Version,
		pkgs: map[string]string{"coredns": "github.com/coredns/coredns"}, ldflags: "-s -w"}
	p.crictl = goModuleBuild{label: "crictl " + images.CrictlVersion, module: "sigs.k8s.io/cri-tools", version: images.CrictlVersion,
		pkgs:    map[string]string{"crictl": "sigs.k8s.io/cri-tools/cmd/crictl"},
		ldflags: "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=" + strings.TrimPrefix(images.CrictlVersion, "v")}
	p.registry = goModuleBuild{label: "registry " + images.RegistryVersion, module: "github.com/distribution/distribution/v3", version: images.RegistryVersion,
		pkgs: map[string]string{"registry": "github.com/distribution/distribution/v3/cmd/registry"}, ldflags: "-s -w"}
	p.chapterImages = book.Images(chapters.Books())
	if p.standins, err = standInPrograms(p.chapterImages); err != nil {
		return nil, err
	}
	// Every node prepares its cgroups with it (the entrypoint's first step).
	p.standins["kiamol-node-prep"] = "images/node-prep"
	if flavor.Runtime == "docker" {
		// The node's own Docker Engine needs the same filter as this host's:
		// its privileged containers (kube-proxy, the debugging Pods) ask runc
		// for capabilities the host cannot grant, and every Pod's sandbox
		// for an OOM score the node may not set.
		p.standins["runc-capfilter"] = "images/runc-capfilter"
	}
	if p.standinKey, err = programsKey(repo, gov, p.standins); err != nil {
		return nil, err
	}
	if p.chapterImagesKey, err = chapterImagesKey(p.chapterImages, standins.Assets); err != nil {
		return nil, err
	}
	busyboxKey := "no busybox"
	for _, i := range p.chapterImages {
		if i.StandIn.Busybox && p.busybox == nil {
			b, err := resolveBusybox(ctx)
			if err != nil {
				return nil, err
			}
			p.busybox, busyboxKey = &b, b.key()
		}
	}
	p.rootfsKey = rootfsKey(flavor)
	assembly, err := assemblyKey(repo)
	if err != nil {
		return nil, err
	}
	p.key = keyOf(assembly, flavor.ID(), flavor.PauseTag, flavor.Etcd.Tag, flavor.CoreDNS.Tag, p.k8s.key(gov), p.etcd.key(gov), p.coredns.key(gov), p.crictl.key(gov),
		p.registry.key(gov), p.standinKey, p.chapterImagesKey, busyboxKey, p.rootfsKey, p.proxyBaseKey(), nodeFilesHash(), images.RegistryHost())
	return p, nil
}

func build(ctx context.Context, repo string, flavor images.Flavor, heartbeat time.Duration) error {
	started := time.Now()
	choice, err := images.Resolve(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("[images] images: %s (%s)\n", choice.Mode, choice.Reason)
	if choice.Mode != images.Airgap {
		fmt.Println("[images] nothing to build: the cluster pulls kind's node image and the chapter's image from their registries")
		return nil
	}
	p, err := newPlan(ctx, repo, flavor)
	if err != nil {
		return err
	}
	fmt.Printf("[images] cluster: %s\n", flavor)
	if err := preflight(ctx); err != nil {
		return err
	}
	upToDateNow := func() bool {
		prev, err := images.ReadBuiltOf(p.cache, flavor)
		if err != nil {
			fmt.Printf("[images] building air-gapped images: %v\n", err)
			return false
		}
		if why := upToDate(ctx, prev, p.key); why != "" {
			fmt.Printf("[images] rebuilding: %s\n", why)
			return false
		}
		fmt.Printf("[images] air-gapped images up to date (key %s), checked in %s\n", p.key, time.Since(started).Round(time.Millisecond))
		return true
	}
	if upToDateNow() {
		return nil
	}
	// Only an actual build runs debootstrap; a check needs no privileges.
	if os.Geteuid() != 0 {
		return errors.New("building the node image runs debootstrap, which needs root: run 'make images' as root")
	}
	// One build at a time per cache: another's prune would take an image
	// this one has loaded and not yet recorded. Whatever it built may be
	// this one's, so look again once it is done.
	unlock, waited, err := lockCache(ctx, p.cache)
	if err != nil {
		return err
	}
	defer unlock()
	if waited && upToDateNow() {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(p.cache, "logs"), 0o755); err != nil {
		return err
	}
	p.logPath = filepath.Join(p.cache, "logs", "images-"+time.Now().Format("20060102-150405")+".log")
	logf, err := os.Create(p.logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Printf("[images] cache %s; full log %s\n", p.cache, p.logPath)
	log := &lockedWriter{w: logf}

	steps := 10
	if p.busybox != nil {
		steps++
	}
	prog := newProgress(os.Stdout, steps, heartbeat)
	defer prog.close()

	// debootstrap is mostly waiting on the archive and the disk, so it runs
	// beside the compiles, which use every core.
	var wg sync.WaitGroup
	var rootfsErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		rootfsErr = p.buildRootfs(ctx, prog, log)
	}()
	goErr := p.buildBinaries(ctx, prog, log)
	wg.Wait()
	if err := errors.Join(goErr, rootfsErr); err != nil {
		return fmt.Errorf("%w\n(full log: %s)", err, p.logPath)
	}
	if err := p.assemble(ctx, prog, log); err != nil {
		return fmt.Errorf("%w\n(full log: %s)", err, p.logPath)
	}
	prog.printf("done: air-gapped images built in %s", since(started))
	return nil
}

// preflight names a missing tool in one line before any long work starts.
func preflight(ctx context.Context) error {
	for _, tool := range []string{"go", "docker", "debootstrap", "tar"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed: run hack/host-setup.sh (Debian, as root) or install it", tool)
		}
	}
	if err := exec.CommandContext(ctx, "docker", "info").Run(); err != nil {
		return errors.New("the Docker engine is not running: run hack/host-setup.sh or start dockerd")
	}
	// Nine minutes of building are wasted on a machine where no node can
	// start: say so first.
	if r := nodehost.ReadFacts(ctx, false).Check(); len(r.Problems) > 0 {
		return errors.New(r.Problems[0] + "; make doctor prints this machine's facts")
	}
	return nil
}

func (p *plan) buildBinaries(ctx context.Context, prog *progress, log io.Writer) error {
	for _, g := range []goModuleBuild{p.k8s, p.etcd, p.coredns, p.crictl, p.registry} {
		g := g
		work := filepath.Join(p.cache, "build", strings.ReplaceAll(g.label, " ", "-"))
		err := cached(ctx, prog, "build "+g.label, p.out(strings.Fields(g.label)[0], g.key(p.goVersion)), func(ctx context.Context, tmp string) error {
			if g.module == "k8s.io/kubernetes" {
				r, err := kubernetesStaging(ctx, p.flavor.KubernetesVersion, p.flavor.Staging, p.flavor.GoToolchain)
				if err != nil {
					return err
				}
				g.replaces = r
			}
			return g.build(ctx, work, tmp, log)
		})
		if err != nil {
			return err
		}
	}
	what := "build stand-in images' binaries (" + strings.Join(sortedKeys(p.standins), ", ") + ")"
	err := cached(ctx, prog, what, p.out("standins", p.standinKey), func(ctx context.Context, tmp string) error {
		for _, bin := range sortedKeys(p.standins) {
			if err := runGo(ctx, p.repo, log, "build", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(tmp, bin), "./"+p.standins[bin]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || p.busybox == nil {
		return err
	}
	return cached(ctx, prog, "fetch "+p.busybox.String()+" for the stand-in images", p.out("busybox", p.busybox.key()), func(ctx context.Context, tmp string) error {
		return fetchBusybox(ctx, *p.busybox, tmp, log)
	})
}

func (p *plan) buildRootfs(ctx context.Context, prog *progress, log io.Writer) error {
	rootfs := p.out("rootfs", p.rootfsKey)
	err := cached(ctx, prog, "debootstrap Debian "+images.DebianSuite+" for the node", rootfs, func(ctx context.Context, tmp string) error {
		return buildRootfs(ctx, filepath.Join(p.cache, "debs"), p.mirror, tmp, packagesOf(p.flavor), log)
	})
	if err != nil {
		return err
	}
	return cached(ctx, prog, "cut kube-proxy's base layer from the node's Debian", p.out("proxybase", p.proxyBaseKey()), func(ctx context.Context, tmp string) error {
		return proxyBaseLayer(filepath.Join(rootfs, "rootfs.tar"), filepath.Join(tmp, "proxybase.tar"))
	})
}

// assemble stacks the images, pushes them into the registry's storage and
// loads the node and registry images into the Docker engine.
func (p *plan) assemble(ctx context.Context, prog *progress, log io.Writer) error {
	k8sBin := p.out("kubernetes", p.k8s.key(p.goVersion))
	bin := func(step string, key string, file string) string { return filepath.Join(p.out(step, key), file) }
	etcdBin := bin("etcd", p.etcd.key(p.goVersion), "etcd")
	corednsBin := bin("coredns", p.coredns.key(p.goVersion), "coredns")
	crictlDir := p.out("crictl", p.crictl.key(p.goVersion))
	registryBin := bin("registry", p.registry.key(p.goVersion), "registry")
	standins := p.out("standins", p.standinKey)

	done := prog.begin("ask the built kubeadm which control-plane images it needs")
	wanted, err := kubeadmImages(ctx, filepath.Join(k8sBin, "kubeadm"), p.flavor)
	if err != nil {
		done("failed")
		return err
	}
	done(strings.Join(wanted, ", "))

	done = prog.begin("assemble, push and load images")
	work, err := os.MkdirTemp(filepath.Join(p.cache, "out"), "assemble-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	imgs := map[string]v1.Image{}
	for _, ref := range wanted {
		repoTag := strings.TrimPrefix(ref, "registry.k8s.io/")
		repoName, _, _ := strings.Cut(repoTag, ":")
		var img v1.Image
		switch base := filepath.Base(repoName); base {
		case "kube-apiserver", "kube-controller-manager", "kube-scheduler":
			img, err = binaryImage(work, filepath.Join(k8sBin, base), "/usr/local/bin/"+base, nil, v1.Config{})
		case "kube-proxy":
			layer := filepath.Join(work, "kube-proxy.tar")
			if err = writeLayer(layer, map[string]entry{"/usr/local/bin/kube-proxy": {mode: 0o755, src: filepath.Join(k8sBin, "kube-proxy")}}); err == nil {
				img, err = newImage(v1.Config{Entrypoint: []string{"/usr/local/bin/kube-proxy"}},
					filepath.Join(p.out("proxybase", p.proxyBaseKey()), "proxybase.tar"), layer)
			}
		case "etcd":
			img, err = binaryImage(work, etcdBin, "/usr/local/bin/etcd", nil, v1.Config{})
		case "coredns":
			img, err = binaryImage(work, corednsBin, "/coredns", nil, v1.Config{})
		case "pause":
			img, err = binaryImage(work, filepath.Join(standins, "pause"), "/pause", nil, v1.Config{})
		default:
			err = fmt.Errorf("kubeadm %s needs %s, which this build does not make", p.flavor.KubernetesVersion, ref)
		}
		if err != nil {
			done("failed")
			return err
		}
		imgs[repoTag] = img
	}
	var bb *busyboxFiles
	if p.busybox != nil {
		if bb, err = readBusybox(p.out("busybox", p.busybox.key())); err != nil {
			done("failed")
			return err
		}
	}
	for _, ci := range p.chapterImages {
		img, err := standInImage(work, ci, standins, bb)
		if err != nil {
			done("failed")
			return err
		}
		imgs[registryRepoTag(ci.Ref)] = img
	}

	nodeTar := filepath.Join(work, "node.tar")
	if err := nodeLayer(nodeTar, p.flavor, k8sBin, crictlDir, standins, wanted); err != nil {
		return err
	}
	node, err := newImage(v1.Config{
		Entrypoint: []string{"/usr/local/bin/entrypoint", "/sbin/init"},
		Env:        []string{"container=docker", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		StopSignal: "SIGRTMIN+3",
	}, filepath.Join(p.out("rootfs", p.rootfsKey), "rootfs.tar"), nodeTar)
	if err != nil {
		return err
	}
	registryImg, err := binaryImage(work, registryBin, "/registry",
		map[string]entry{"/etc/distribution/config.yml": {mode: 0o644, data: nodeFile("registry.yml")}},
		v1.Config{Entrypoint: []string{"/registry", "serve", "/etc/distribution/config.yml"}, ExposedPorts: map[string]struct{}{"5000/tcp": {}}})
	if err != nil {
		return err
	}

	storage := filepath.Join(p.cache, "registry")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return err
	}
	reg, err := startLocalRegistry(ctx, registryBin, storage, work, log)
	if err != nil {
		return err
	}
	defer reg.stop()
	built := images.Built{Key: p.key, RegistryStorage: storage, Images: map[string]string{},
		NodeImage:     "kiamol-e2e/node:" + p.flavor.ID() + "-" + p.key[:12],
		RegistryImage: "kiamol-e2e/registry:" + images.RegistryVersion + "-" + p.key[:12]}
	for _, repoTag := range sortedKeys(imgs) {
		d, err := reg.push(ctx, repoTag, imgs[repoTag])
		if err != nil {
			return err
		}
		built.Images[repoTag] = d
		prog.printf("  pushed %s (%s)", repoTag, d[:19])
	}
	reg.stop()

	// Recorded before the load: an interrupted load may leave the image.
	if err := images.RecordLoaded(p.cache, built.NodeImage, built.RegistryImage); err != nil {
		return err
	}
	if err := dockerLoad(ctx, map[string]v1.Image{built.NodeImage: node, built.RegistryImage: registryImg}, log); err != nil {
		return err
	}
	for ref, img := range map[string]v1.Image{built.NodeImage: node, built.RegistryImage: registryImg} {
		id, err := img.ConfigName()
		if err != nil {
			return err
		}
		if ref == built.NodeImage {
			built.NodeImageID = id.String()
		} else {
			built.RegistryImageID = id.String()
		}
	}
	if why := upToDate(ctx, built, p.key); why != "" {
		return fmt.Errorf("after loading, %s", why)
	}
	if err := images.WriteBuiltOf(p.cache, p.flavor, built); err != nil {
		return err
	}
	pruneOldImages(ctx, p.cache, log)
	done(fmt.Sprintf("node image %s, %d images in the registry", built.NodeImage, len(built.Images)))
	return nil
}

// pruneOldImages removes node and registry images this cache built before,
// which none of its flavors' records names any more. It never removes an
// image it did not build itself: another cache's (another checkout's, a
// test's) is not in this cache's history; an image a container still uses
// stays, Docker refuses that.
func pruneOldImages(ctx context.Context, cache string, log io.Writer) {
	keep := map[string]bool{}
	for _, f := range images.Flavors {
		if b, err := images.ReadBuiltOf(cache, f); err == nil {
			keep[b.NodeImage], keep[b.RegistryImage] = true, true
		}
	}
	for _, ref := range images.LoadedBefore(cache) {
		if keep[ref] {
			continue
		}
		if err := exec.CommandContext(ctx, "docker", "image", "rm", ref).Run(); err == nil {
			fmt.Fprintf(log, "removed old image %s\n", ref)
		}
	}
}

// kubeadmImages is what the built kubeadm says the control plane needs. A
// flavor whose cluster tells kubeadm other etcd and CoreDNS tags (the
// Docker-runtime one) gets those; for the others the flavor must name what
// kubeadm names, since nothing tells kubeadm otherwise.
func kubeadmImages(ctx context.Context, kubeadm string, f images.Flavor) ([]string, error) {
	out, err := exec.CommandContext(ctx, kubeadm, "config", "images", "list", "--kubernetes-version", f.KubernetesVersion).Output()
	if err != nil {
		return nil, fmt.Errorf("kubeadm config images list: %w", err)
	}
	return controlPlaneImages(strings.Fields(string(out)), f)
}

func controlPlaneImages(listed []string, f images.Flavor) ([]string, error) {
	var wanted []string
	for _, ref := range listed {
		name, tag, _ := strings.Cut(ref, ":")
		want := tag
		switch path.Base(name) {
		case "etcd":
			want = f.Etcd.Tag
		case "coredns":
			want = f.CoreDNS.Tag
		case "pause":
			want = f.PauseTag
		}
		if want != tag && !f.TellsKubeadmImageTags() {
			return nil, fmt.Errorf("kubeadm %s names %s, but internal/images/flavors.go builds %s:%s for it: make the flavor name kubeadm's tag", f.KubernetesVersion, ref, path.Base(name), want)
		}
		wanted = append(wanted, name+":"+want)
	}
	return wanted, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
