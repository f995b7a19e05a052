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
	"strings"
)

// Pinned versions shared by every flavor (each flavor's Kubernetes, etcd
// and CoreDNS are in flavors.go).
const (
	CrictlVersion   = "v1.34.0"
	RegistryVersion = "v3.0.0"   // github.com/distribution/distribution/v3
	DebianSuite     = "bookworm" // trixie's systemd drops cgroup v1
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

// ErrNotBuilt says the images were never built on this machine.
var ErrNotBuilt = errors.New("air-gapped images are not built on this machine")

// makeKnobs are the make arguments that select f.
func makeKnobs(f Flavor) string {
	var s string
	if f.Name != Default.Name {
		s += " CLUSTER=" + f.Name
	}
	if f.Name == Default.Name && !f.IsDefault() {
		s += " K8S_VERSION=" + f.Minor()
	}
	return s
}

// ReadBuiltOf loads the record of a flavor's last build.
func ReadBuiltOf(cache string, f Flavor) (Built, error) {
	var b Built
	path := BuiltPathOf(cache, f)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return b, fmt.Errorf("%w for %s: run 'make images%s'", ErrNotBuilt, f, makeKnobs(f))
	}
	if err != nil {
		return b, err
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("%s is damaged (%v): delete it and run 'make images'", path, err)
	}
	return b, nil
}

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

// loadedPath lists every node and registry image this cache has loaded into
// the Docker engine, one a line: what its builds may later prune.
func loadedPath(cache string) string { return filepath.Join(cache, "state", "loaded-images") }

// RecordLoaded adds refs to the cache's list of images it loaded.
func RecordLoaded(cache string, refs ...string) error {
	if err := os.MkdirAll(filepath.Dir(loadedPath(cache)), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(loadedPath(cache), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, r := range refs {
		if _, err := fmt.Fprintln(f, r); err != nil {
			return err
		}
	}
	return f.Close()
}

// LoadedBefore is the cache's list of images it loaded, each once.
func LoadedBefore(cache string) []string {
	raw, err := os.ReadFile(loadedPath(cache))
	if err != nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Fields(string(raw)) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
