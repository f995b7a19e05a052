package cluster

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
)

var pinnedImage = regexp.MustCompile(`^kindest/node:v1\.\d+\.\d+@sha256:[0-9a-f]{64}$`)

func TestNodeImagesArePinnedAndKeyedByTheirMinor(t *testing.T) {
	if len(NodeImages) == 0 {
		t.Fatal("NodeImages is empty: at least kind's default node image belongs in it")
	}
	for key, image := range NodeImages {
		if !pinnedImage.MatchString(image) {
			t.Errorf("NodeImages[%q] = %q: want kindest/node:v1.N.P@sha256:<64 hex>", key, image)
			continue
		}
		if !regexp.MustCompile(`^v1\.\d+$`).MatchString(key) {
			t.Errorf("NodeImages key %q: want a minor version like v1.36", key)
			continue
		}
		if tag := imageVersion(image); !strings.HasPrefix(tag, key+".") {
			t.Errorf("NodeImages[%q] is Kubernetes %s: the key must be the image's minor", key, tag)
		}
	}
}

func TestNodeImagesAreDistinct(t *testing.T) {
	seen := map[string]string{}
	for key, image := range NodeImages {
		_, digest, _ := strings.Cut(image, "@")
		if other, dup := seen[digest]; dup {
			t.Errorf("NodeImages[%q] and NodeImages[%q] share digest %s: one of them was copied wrong", key, other, digest)
		}
		seen[digest] = key
	}
}

func TestNodeImageFor(t *testing.T) {
	// Derive the inputs from the table so the test outlives a kind bump.
	for key, image := range NodeImages {
		full := imageVersion(image)
		for _, in := range []string{key, strings.TrimPrefix(key, "v"), full, strings.TrimPrefix(full, "v"), " " + key + " "} {
			got, err := NodeImageFor(in)
			if err != nil {
				t.Errorf("NodeImageFor(%q): unexpected error %v", in, err)
				continue
			}
			if got != image {
				t.Errorf("NodeImageFor(%q) = %q, want %q", in, got, image)
			}
		}
	}
}

func TestNodeImageForRefuses(t *testing.T) {
	// Some known entry, to build a wrong patch of a known minor from.
	var key, full string
	for k, image := range NodeImages {
		key, full = k, imageVersion(image)
		break
	}
	tests := []struct {
		name, in, mentions string
	}{
		{"empty", "", "is not a Kubernetes version"},
		{"word", "latest", "is not a Kubernetes version"},
		{"major only", "v1", "is not a Kubernetes version"},
		{"image reference", NodeImages[key], "is not a Kubernetes version"},
		{"pre-release", full + "-rc.0", "is not a Kubernetes version"},
		{"too many parts", full + ".1", "is not a Kubernetes version"},
		{"v2", "v2.0", "is not a Kubernetes version"},
		{"unknown minor", "v1.99", "no kind node image pinned for Kubernetes v1.99"},
		{"unknown old minor", "1.20.15", "no kind node image pinned for Kubernetes v1.20"},
		{"other patch of a known minor", key + ".999", "pinned at " + full + ", not " + key + ".999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NodeImageFor(tt.in)
			if err == nil {
				t.Fatalf("NodeImageFor(%q) = %q, want an error", tt.in, got)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.mentions) {
				t.Errorf("NodeImageFor(%q) error %q: want it to say %q", tt.in, msg, tt.mentions)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("NodeImageFor(%q) error spans lines: %q", tt.in, msg)
			}
			for k, image := range NodeImages {
				if want := k + " (" + imageVersion(image) + ")"; !strings.Contains(msg, want) {
					t.Errorf("NodeImageFor(%q) error %q: want it to list %s", tt.in, msg, want)
				}
			}
		})
	}
}

func TestKnownVersionsNewestFirst(t *testing.T) {
	saved := NodeImages
	t.Cleanup(func() { NodeImages = saved })
	NodeImages = map[string]string{
		"v1.9":  "kindest/node:v1.9.1@sha256:" + strings.Repeat("a", 64),
		"v1.10": "kindest/node:v1.10.2@sha256:" + strings.Repeat("b", 64),
		"v1.11": "kindest/node:v1.11.3@sha256:" + strings.Repeat("c", 64),
	}
	// Numeric, not lexical: v1.9 is older than v1.10.
	if got, want := knownVersions(), "v1.11 (v1.11.3), v1.10 (v1.10.2), v1.9 (v1.9.1)"; got != want {
		t.Errorf("knownVersions() = %q, want %q", got, want)
	}
}

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		airgapped             bool
		cluster               string
		version, image        string
		wantFlavor, wantImage string
		wantErrHas            string
	}{
		{"air-gapped, no knob: the default flavor", true, "", "", "", "kind-v1.37", "", ""},
		{"air-gapped, a built minor", true, "", "v1.35", "", "kind-v1.35", "", ""},
		{"air-gapped, a built version", true, "kind", "1.34.4", "", "kind-v1.34", "", ""},
		{"air-gapped, another patch", true, "", "v1.34.2", "", "", "", "built here at v1.34.4"},
		{"air-gapped, a minor not built here", true, "", "v1.31", "", "", "", "built here: v1.38"},
		{"air-gapped, the pre-release", true, "", "v1.38", "", "kind-v1.38", "", ""},
		{"air-gapped, the Docker-runtime cluster", true, "docker-runtime", "", "", "docker-runtime", "", ""},
		{"air-gapped, the Docker-runtime cluster at another version", true, "docker-runtime", "v1.35", "", "", "", "v1.23.17 only"},
		{"air-gapped, an explicit image", true, "", "", "kindest/node:v1.36.4", "", "", "IMAGES=online"},
		{"online, no knob: kind's default", false, "", "", "", "", "", ""},
		{"online, a pinned minor", false, "", "v1.36", "", "kind-v1.36", NodeImages["v1.36"], ""},
		{"online, an explicit image wins", false, "", "v1.36", "example/node:x", "", "example/node:x", ""},
		{"online, an unknown minor", false, "", "v1.20", "", "", "", "known:"},
		{"online, the Docker-runtime cluster", false, "docker-runtime", "", "", "", "", "air-gapped only"},
	} {
		f, got, err := Choose(tc.airgapped, tc.cluster, tc.version, tc.image)
		id := ""
		if f.KubernetesVersion != "" {
			id = f.ID()
		}
		switch {
		case tc.wantErrHas != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrHas)):
			t.Errorf("%s: err %v, want one saying %q", tc.name, err, tc.wantErrHas)
		case tc.wantErrHas == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.wantErrHas == "" && (got != tc.wantImage || id != tc.wantFlavor):
			t.Errorf("%s: got %q, %q; want %q, %q", tc.name, id, got, tc.wantFlavor, tc.wantImage)
		}
	}
}

// Online and air-gapped runs prove the chapter on the same Kubernetes
// minors: a version the CI matrix runs online is built here, and the
// other way round (a pre-release is built here only: kind publishes no
// node image for it).
func TestOnlineAndAirgapOfferTheSameMinors(t *testing.T) {
	var online []string
	for minor := range NodeImages {
		online = append(online, minor)
	}
	slices.Sort(online)
	airgap := images.Minors()
	slices.Sort(airgap)
	if !slices.Equal(online, airgap) {
		t.Errorf("online node images pin %v, the air-gapped build makes %v: add the missing ones to NodeImages or images.Flavors", online, airgap)
	}
}
