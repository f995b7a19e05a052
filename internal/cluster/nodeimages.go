package cluster

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

// NodeImages are kind node images built for kind v0.33.0 (the kind this
// module requires), keyed by Kubernetes minor version. Every image is pinned
// by digest: kind's release notes say only the digest guarantees an image
// built for that kind release, and a tag alone can be re-pushed.
//
// Where each digest was read (none is typed from memory):
//   - v1.37: kind's own default node image, sigs.k8s.io/kind@v0.33.0
//     pkg/apis/config/defaults/image.go (in the Go module cache).
//   - v1.36 and v1.35: the "Images pre-built for this release" list of the
//     kind v0.33.0 release notes
//     (https://github.com/kubernetes-sigs/kind/releases/tag/v0.33.0), as
//     quoted in https://github.com/polarsquad/krops/pull/112; the same list
//     repeats v1.37.0's digest as in image.go above.
//   - v1.34: the same release notes' list as quoted by several public
//     repositories pinning kind v0.33.0's images (each with the same v1.35,
//     v1.36 and v1.37 digests as above), read through this project's code
//     search: found under the string "kindest/node:v1.34.11@sha256:44e2".
//
// When kind is bumped, replace the whole table from the new release's notes:
// images are built per kind release and are not promised to work with another.
// The CI matrix in .github/workflows/e2e.yml is checked against this table
// by hack/workflow, and this table against the minors built here
// (images.Minors) by TestOnlineAndAirgapOfferTheSameMinors.
var NodeImages = map[string]string{
	"v1.37": "kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5",
	"v1.36": "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
	"v1.35": "kindest/node:v1.35.8@sha256:07b2536e30b803ed61d1677a79df6115f798ce64c80f9e22f6ed45afd09323c0",
	"v1.34": "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d",
}

// versionArg is what NodeImageFor accepts: v1.NN or v1.NN.P, the v optional.
var versionArg = regexp.MustCompile(`^v?(1\.\d+)(\.\d+)?$`)

// NodeImageFor returns the pinned node image for a Kubernetes version given
// as "v1.36", "1.36" or "v1.36.4". A full version must name the patch the
// table pins: any other patch would not be the image kind built and tested.
func NodeImageFor(version string) (string, error) {
	m := versionArg.FindStringSubmatch(strings.TrimSpace(version))
	if m == nil {
		return "", fmt.Errorf("node image: %q is not a Kubernetes version like v1.36 or v1.36.4; known: %s", version, knownVersions())
	}
	minor := "v" + m[1]
	image, ok := NodeImages[minor]
	if !ok {
		return "", fmt.Errorf("node image: no kind node image pinned for Kubernetes %s; known: %s", minor, knownVersions())
	}
	if m[2] != "" {
		want := minor + m[2]
		if got := imageVersion(image); got != want {
			return "", fmt.Errorf("node image: Kubernetes %s is pinned at %s, not %s; known: %s", minor, got, want, knownVersions())
		}
	}
	return image, nil
}

// imageVersion is the tag of a kindest/node:TAG@sha256:... reference.
func imageVersion(image string) string {
	_, tag, _ := strings.Cut(image, ":")
	tag, _, _ = strings.Cut(tag, "@")
	return tag
}

// knownVersions lists the table on one line, newest minor first, each with
// the patch it pins.
func knownVersions() string {
	minors := make([]string, 0, len(NodeImages))
	for k := range NodeImages {
		minors = append(minors, k)
	}
	slices.SortFunc(minors, func(a, b string) int { return minorNumber(b) - minorNumber(a) })
	out := make([]string, len(minors))
	for i, k := range minors {
		out[i] = fmt.Sprintf("%s (%s)", k, imageVersion(NodeImages[k]))
	}
	return strings.Join(out, ", ")
}

// minorNumber is NN of "v1.NN", or -1 when the key is malformed.
func minorNumber(key string) int {
	var n int
	if _, err := fmt.Sscanf(key, "v1.%d", &n); err != nil {
		return -1
	}
	return n
}

// Choose decides the flavor and node image from the CLUSTER, K8S_VERSION
// and NODE_IMAGE knobs. Air-gapped, the flavor is the one built here for
// that cluster and version, and its node image is the built one (""
// here). Online, the only cluster is kind's: an explicit image wins, then a
// pinned version, then kind's own default (""); the flavor then carries
// the version only.
func Choose(airgapped bool, clusterKind, version, image string) (images.Flavor, string, error) {
	if airgapped {
		f, err := images.FlavorFor(clusterKind, version)
		if err != nil {
			return f, "", err
		}
		if image != "" {
			return f, "", fmt.Errorf("NODE_IMAGE=%s needs images from a registry (IMAGES=online); air-gapped runs use the node image built here (K8S_VERSION picks its Kubernetes: %s)", image, strings.Join(images.Minors(), ", "))
		}
		return f, "", nil
	}
	if c := strings.TrimSpace(clusterKind); c != "" && c != "kind" && c != "containerd" {
		return images.Flavor{}, "", fmt.Errorf("CLUSTER=%s is built on this machine and runs air-gapped only; drop IMAGES=online, or drop CLUSTER", c)
	}
	if image == "" && version != "" {
		var err error
		if image, err = NodeImageFor(version); err != nil {
			return images.Flavor{}, "", err
		}
	}
	f, _ := images.FlavorOfNodeImage(image)
	return f, image, nil
}
