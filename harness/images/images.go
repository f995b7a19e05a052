// Package images holds what the air-gapped image build and the suite must
// agree on: pinned versions, image names, where the cache lives, and the
// record the build leaves for the suite to find its images by.
package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Pinned versions. Kubernetes stays on 1.34: from 1.35 the kubelet refuses the
// cgroup v1 hosts this project runs on unless told otherwise.
const (
	KubernetesVersion   = "v1.34.4"
	KubernetesStaging   = "v0.34.4" // k8s.io/* staging modules released with KubernetesVersion
	EtcdVersion         = "v3.6.5"  // go.etcd.io/etcd/server/v3; kubeadm tags it 3.6.5-0
	CoreDNSVersion      = "v1.12.1"
	CrictlVersion       = "v1.34.0"
	RegistryVersion     = "v3.0.0" // github.com/distribution/distribution/v3
	PauseTag            = "3.10.1"
	DebianSuite         = "bookworm" // trixie's systemd drops cgroup v1
	HelloImage          = "kiamol/ch02-hello-kiamol"
	HelloImageReference = "docker.io/kiamol/ch02-hello-kiamol:latest"
)

// RegistryAlias is the name every cluster's local registry answers to on
// that cluster's own Docker network (a network alias, so each cluster's
// registry can carry it). Nodes reach the registry by this name, baked into
// their containerd configuration: it resolves only through Docker's DNS on
// the cluster's network, so if the registry is gone a pull fails; it can
// never fall through to a route off this machine.
const (
	RegistryAlias = "kiamol-e2e-registry"
	RegistryPort  = 5000
)

// RegistryHost is the registry as nodes address it.
func RegistryHost() string { return fmt.Sprintf("%s:%d", RegistryAlias, RegistryPort) }

// MirroredRegistries are the upstream registries whose pulls the nodes send
// to the local registry instead.
var MirroredRegistries = []string{"docker.io", "registry.k8s.io"}

// CacheDir is where builds, images and the registry's storage live: outside
// the repository, so a fresh clone on the same machine reuses them.
func CacheDir() (string, error) {
	if d := os.Getenv("KIAMOL_E2E_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: set KIAMOL_E2E_CACHE: %w", err)
	}
	return filepath.Join(base, "kiamol-e2e"), nil
}

// Built is the record of a finished build, written last so its presence means
// every image is in place.
type Built struct {
	Key             string            `json:"key"`
	NodeImage       string            `json:"nodeImage"`
	NodeImageID     string            `json:"nodeImageID"`
	RegistryImage   string            `json:"registryImage"`
	RegistryImageID string            `json:"registryImageID"`
	RegistryStorage string            `json:"registryStorage"`
	Images          map[string]string `json:"images"` // repository:tag in the registry -> manifest digest
}

// BuiltPath is where the build records what it made.
func BuiltPath(cache string) string { return filepath.Join(cache, "state", "built.json") }

// ErrNotBuilt says the images were never built on this machine.
var ErrNotBuilt = errors.New("air-gapped images are not built on this machine: run 'make images' (or 'make e2e', which builds them)")

// ReadBuilt loads the record of the last build of the default flavor.
func ReadBuilt(cache string) (Built, error) { return ReadBuiltOf(cache, Containerd) }

// ReadBuiltOf loads the record of a flavor's last build.
func ReadBuiltOf(cache string, f Flavor) (Built, error) {
	var b Built
	path := BuiltPathOf(cache, f)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if !f.IsDefault() {
			return b, fmt.Errorf("air-gapped images for CLUSTER=%s are not built on this machine: run 'make images CLUSTER=%s'", f.Name, f.Name)
		}
		return b, ErrNotBuilt
	}
	if err != nil {
		return b, err
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("%s is damaged (%v): delete it and run 'make images'", path, err)
	}
	return b, nil
}

// WriteBuilt saves the default flavor's record atomically.
func WriteBuilt(cache string, b Built) error { return WriteBuiltOf(cache, Containerd, b) }

// WriteBuiltOf saves a flavor's record atomically.
func WriteBuiltOf(cache string, f Flavor, b Built) error {
	p := BuiltPathOf(cache, f)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
