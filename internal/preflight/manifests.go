package preflight

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// Manifests parses each chapter's manifests (from dir, or the embedded
// copies) and checks each declares the object the specs look for, so a
// broken file fails here, by name, and not as a timeout minutes later.
func Manifests(chapters []*book.Chapter, dir string) error {
	fix := "fix the file, or unset MANIFESTS to use the suite's own copy"
	for _, c := range chapters {
		for _, m := range c.Objects {
			raw, path, err := c.Manifest(dir, m.File)
			if errors.Is(err, fs.ErrNotExist) {
				return problem("point MANIFESTS at the book's repository (or its "+c.ID+" folder), which has "+m.File, "manifest %s does not exist", path)
			}
			if err != nil {
				return problem(fix, "manifest %s: %s", path, oneline.First(err.Error()))
			}
			objs, err := Decode(raw)
			if err != nil {
				return problem(fix, "manifest %s: %s", path, oneline.First(err.Error()))
			}
			found := false
			for _, o := range objs {
				if o.GetObjectKind().GroupVersionKind().Kind == m.Kind && o.GetName() == m.Name {
					found = true
				}
			}
			if !found {
				return problem("the chapter's "+m.File+" declares "+m.Kind+" "+m.Name+"; restore it or unset MANIFESTS", "manifest %s declares no %s named %s", path, m.Kind, m.Name)
			}
		}
	}
	return nil
}

// Decode parses every YAML document of a manifest with e2e-framework's
// decoder (typed where the kind is known, unstructured otherwise), and
// checks each object names its apiVersion, kind and name, as kubectl apply
// needs them to.
func Decode(raw []byte) ([]k8s.Object, error) {
	objs, err := decoder.DecodeAll(context.Background(), bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		var missing []string
		for what, v := range map[string]string{"apiVersion": gvk.Version, "kind": gvk.Kind, "metadata.name": o.GetName()} {
			if v == "" {
				missing = append(missing, what)
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			return nil, fmt.Errorf("an object has no %s", strings.Join(missing, ", "))
		}
	}
	if len(objs) == 0 {
		return nil, errors.New("manifest has no objects")
	}
	return objs, nil
}

// ReplaceImages checks E2E_REPLACE_IMAGES: each entry names one of the
// chapters' images and what to run instead.
func ReplaceImages(chapters []*book.Chapter, replace map[string]string) error {
	known := map[string]bool{}
	var names []string
	for _, i := range book.Images(chapters) {
		known[i.Ref] = true
		names = append(names, i.Ref)
	}
	for from, to := range replace {
		if to == "" {
			return problem("write it as E2E_REPLACE_IMAGES='kiamol/ch02-hello-kiamol=my/image:tag,...'", "E2E_REPLACE_IMAGES entry %q names no image to run instead", from)
		}
		if !known[from] {
			return problem("replace one of: "+strings.Join(names, ", "), "E2E_REPLACE_IMAGES names %q, which no chapter runs", from)
		}
	}
	return nil
}
