package cluster

// The air-gapped cluster's image registry: a
// distribution registry container on the cluster's Docker network, serving
// the storage folder the image build pushed into. It lives exactly as long as
// the cluster.

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// startRegistry runs the cluster's registry container (replacing a stale
// one of the same cluster's) and waits until it serves every image the build
// recorded. On the cluster's network it also answers to images.RegistryAlias,
// the name the nodes' containerd configuration uses.
func startRegistry(ctx context.Context, built images.Built, n Names) error {
	if owner, ok := labelOf(ctx, "container", n.Registry); ok && owner == n.Cluster {
		if err := stopRegistry(ctx, n); err != nil {
			return err
		}
	} else if docker.Exists(ctx, "container", n.Registry) {
		return fmt.Errorf("a container %q exists that this cluster did not make: the suite will not replace it; remove it, or set E2E_CLUSTER_NAME to another name", n.Registry)
	}
	_, err := docker.Run(ctx, "run", "--detach", "--name", n.Registry,
		"--network", n.Network, "--network-alias", images.RegistryAlias,
		"--label", OwnerLabel+"="+n.Cluster,
		"--volume", built.RegistryStorage+":/var/lib/registry",
		built.RegistryImage)
	if err != nil {
		return fmt.Errorf("cannot start the local registry: %w", err)
	}
	ip, err := docker.Run(ctx, "inspect", "--format", `{{(index .NetworkSettings.Networks "`+n.Network+`").IPAddress}}`, n.Registry)
	if err != nil {
		return err
	}
	return waitServing(ctx, fmt.Sprintf("http://%s:%d", ip, images.RegistryPort), built.Images)
}

// waitServing polls the registry from the host (over the bridge, which is
// this machine) until each manifest answers with the digest the build pushed.
func waitServing(ctx context.Context, base string, images map[string]string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	var repoTags []string
	for rt := range images {
		repoTags = append(repoTags, rt)
	}
	sort.Strings(repoTags)
	ctx, cancel := context.WithTimeout(ctx, registryServing)
	defer cancel()
	for _, rt := range repoTags {
		repo, tag, _ := strings.Cut(rt, ":")
		last := ""
		err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodHead, base+"/v2/"+repo+"/manifests/"+tag, nil)
			req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
			resp, err := client.Do(req)
			if err != nil {
				last = err.Error()
				return false, nil
			}
			resp.Body.Close()
			got := resp.Header.Get("Docker-Content-Digest")
			last = fmt.Sprintf("HTTP %d, digest %q, want %s", resp.StatusCode, got, images[rt])
			return resp.StatusCode == http.StatusOK && got == images[rt], nil
		})
		if err != nil {
			return fmt.Errorf("local registry does not serve %s after %s (last: %s): run 'make images' to rebuild", rt, registryServing, last)
		}
	}
	return nil
}

// stopRegistry removes the cluster's registry container; its storage stays
// in the cache.
func stopRegistry(ctx context.Context, n Names) error {
	if !docker.Exists(ctx, "container", n.Registry) {
		return nil
	}
	_, err := docker.Run(ctx, "rm", "--force", "--volumes", n.Registry)
	return err
}

// registryServing bounds the registry's start until it serves every image:
// 0.5-0.8 s measured here on an idle machine, far more on a loaded one.
const registryServing = 60 * time.Second
