// Package book is what the suite knows of the book's chapters as data: each
// chapter's manifests, images and claims, each claim's sentence, labels,
// needs and the book's commands. The claims' bodies live with the chapters
// (chapters/chNN); everything that only reads about a chapter (preflight,
// the image build, the verdict) reads this.
package book

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
)

// Chapter is what the suite knows about one chapter of the book.
type Chapter struct {
	// ID is the chapter's folder in the book's repository ("ch02") and the
	// Ginkgo label every spec of the chapter carries.
	ID string
	// Title is how the verdict heads the chapter's claims.
	Title string
	// Manifests holds the chapter's manifests at the paths the book's
	// chapter folder has them ("pod.yaml", "lab/deployment.yaml").
	Manifests fs.FS
	// Objects are what each manifest must declare; preflight checks a
	// user's copy (MANIFESTS) against them before anything is created.
	Objects []Object
	// Images are the images the chapter runs.
	Images []Image
	// Claims are what the chapter says that the suite proves, in the
	// book's order: the verdict owes a line to each.
	Claims []Claim
}

// Claim is one thing a chapter says that the suite proves: one spec proves
// each, and the verdict owes one line to each, in the book's order.
type Claim struct {
	// ID is stable across releases of the suite: "2.1/pod-ready", the
	// section, then a name.
	ID string
	// Says is the claim in one sentence.
	Says string
	// Labels select the claim (LABELS=...) besides its chapter's ID.
	Labels []string
	// Needs are what the claim needs of the cluster beyond a working one; a
	// run whose cluster does not offer one skips the claim, saying which.
	Needs []Need
	// Steps are the book's commands the claim runs, in order: those of the
	// fixture it shares first.
	Steps []Step
	// Later, when set, says why the suite does not check the claim yet: it
	// is listed, with its needs, and no spec runs it.
	Later string
}

// Need is something a claim needs of the cluster that not every cluster
// gives.
type Need string

// The needs a claim can declare.
const (
	// NodeRuntime: the container runtime of the Pod's node, reached from
	// this machine, or by a privileged Pod on the node where that is allowed.
	NodeRuntime Need = "node-runtime"
	// ClusterDNS: Pods resolve Service names (kube-dns).
	ClusterDNS Need = "cluster-dns"
	// LoadBalancer: a Service of type LoadBalancer gets an address this
	// machine reaches.
	LoadBalancer Need = "loadbalancer"
	// NodePort: a Service's node port answers on a node address this
	// machine reaches.
	NodePort Need = "nodeport"
)

// Says is the need in words, for a skip's reason.
func (n Need) Says() string {
	switch n {
	case NodeRuntime:
		return "the node's container runtime"
	case ClusterDNS:
		return "the cluster's DNS"
	case LoadBalancer:
		return "a LoadBalancer Service's address"
	case NodePort:
		return "a node port reachable from this machine"
	}
	return string(n)
}

// Object is an object a manifest declares.
type Object struct {
	File string // path within the chapter folder
	Kind string
	Name string
}

// Image is one of the chapter's images and its air-gapped stand-in.
type Image struct {
	// Ref is the image as the book writes it: a Docker Hub repository,
	// untagged (so latest, pulled Always).
	Ref     string
	StandIn StandIn
}

// StandIn is how the air-gapped build makes an image that a reader doing
// the chapter's exercises could not tell apart from the real one.
type StandIn struct {
	// Program is a Go main package of this repository ("images/standins/
	// hello-kiamol"), built static and installed at Entrypoint.
	Program    string
	Entrypoint string
	// Busybox lays Debian's static busybox in /bin with its applets linked
	// (sh, hostname, wget, tar, ...): the real images are Alpine-based, and
	// the chapters' exec and cp need a shell and tar in the container.
	Busybox bool
	// Applets are the busybox applets the chapter's commands run in the
	// container ("sh", "wget"): the build refuses a busybox without one.
	Applets []string
	// Files are extra files: path in the image -> path in
	// images/standins.Assets.
	Files map[string]string
	// Port is the port the image exposes; 0 for none.
	Port int
}

// Manifest reads one of the chapter's manifests (a path within its folder):
// from dir when set (MANIFESTS: the book's repository, or its chapter
// folder), else the suite's embedded copy. Where it came from is returned.
func (c *Chapter) Manifest(dir, file string) (raw []byte, path string, err error) {
	if dir == "" {
		raw, err = fs.ReadFile(c.Manifests, file)
		return raw, "chapters/" + c.ID + "/" + file, err
	}
	path = filepath.Join(c.Folder(dir), filepath.FromSlash(file))
	raw, err = os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("cannot read %s: %w", path, err)
	}
	return raw, path, nil
}

// Folder is the chapter's folder in dir (MANIFESTS): dir/chNN in the book's
// repository, else dir itself.
func (c *Chapter) Folder(dir string) string {
	if st, err := os.Stat(filepath.Join(dir, c.ID)); err == nil && st.IsDir() {
		return filepath.Join(dir, c.ID)
	}
	return dir
}

// Claim finds one of the chapter's claims by ID.
func (c *Chapter) Claim(id string) (Claim, bool) {
	for _, cl := range c.Claims {
		if cl.ID == id {
			return cl, true
		}
	}
	return Claim{}, false
}

// claimID is a section, a slash, and a name of lower-case words.
var claimID = regexp.MustCompile(`^\d+\.\d+/[a-z][a-z0-9-]*$`)

// ClaimPrefix is how a spec's text starts with its claim's ID: "[2.1/pod-ready] ".
func ClaimPrefix(id string) string { return "[" + id + "] " }

// claimInText finds the ID a spec's text starts with.
var claimInText = regexp.MustCompile(`^\[(\d+\.\d+/[a-z][a-z0-9-]*)\] `)

// ClaimIDOf is the claim ID a spec's own text starts with, "" if none.
func ClaimIDOf(text string) string {
	if m := claimInText.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return ""
}

// Validate checks a chapter's claims: well-formed, unique IDs, each with a
// sentence and its commands, each command one the suite knows how to run.
func (c *Chapter) Validate() error {
	seen := map[string]bool{}
	for _, cl := range c.Claims {
		switch {
		case !claimID.MatchString(cl.ID):
			return fmt.Errorf("%s: claim ID %q is not <section>/<name>", c.ID, cl.ID)
		case seen[cl.ID]:
			return fmt.Errorf("%s: claim %s is listed twice", c.ID, cl.ID)
		case cl.Says == "" || len(cl.Steps) == 0:
			return fmt.Errorf("%s: claim %s needs a sentence and the book's commands", c.ID, cl.ID)
		}
		for _, s := range cl.Steps {
			if err := s.Check(); err != nil {
				return fmt.Errorf("%s: claim %s: %w", c.ID, cl.ID, err)
			}
		}
		seen[cl.ID] = true
	}
	return nil
}

// Images lists the chapters' images, each once.
func Images(chs []*Chapter) []Image {
	seen := map[string]bool{}
	var out []Image
	for _, c := range chs {
		for _, i := range c.Images {
			if !seen[i.Ref] {
				seen[i.Ref] = true
				out = append(out, i)
			}
		}
	}
	return out
}

// ManifestsHash is a short sha256 of the chapters' manifests as read from
// dir (MANIFESTS), in descriptor order: what the verdict names so a PASS on
// a user's manifests says which ones.
func ManifestsHash(chs []*Chapter, dir string) (string, error) {
	h := sha256.New()
	for _, c := range chs {
		for _, o := range c.Objects {
			raw, _, err := c.Manifest(dir, o.File)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s/%s %d\n", c.ID, o.File, len(raw))
			h.Write(raw)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}
