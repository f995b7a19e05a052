package preflight

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
)

// Manifests parses each chapter's manifests (from dir, or the embedded
// copies) and checks each declares the object the specs look for, so a
// broken file fails here, by name, and not as a timeout minutes later.
func Manifests(dir string) error {
	fix := "fix the file, or unset MANIFESTS to use the suite's own copy"
	for _, c := range fixtures.Chapters {
		for _, m := range c.Objects {
			raw, path, err := c.Manifest(dir, m.File)
			if errors.Is(err, fs.ErrNotExist) {
				return problem("point MANIFESTS at the book's repository (or its "+c.ID+" folder), which has "+m.File, "manifest %s does not exist", path)
			}
			if err != nil {
				return problem(fix, "manifest %s: %s", path, firstLine(err.Error()))
			}
			objs, err := Decode(raw)
			if err != nil {
				return problem(fix, "manifest %s: %s", path, firstLine(err.Error()))
			}
			found := false
			for _, o := range objs {
				if o.GetKind() == m.Kind && o.GetName() == m.Name {
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

// Decode parses every YAML document of a manifest into objects that each
// name their apiVersion, kind and name, as kubectl apply needs them to.
func Decode(raw []byte) ([]*unstructured.Unstructured, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := d.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			continue // an empty document between two ---
		}
		o := &unstructured.Unstructured{Object: m}
		var missing []string
		for what, v := range map[string]string{"apiVersion": o.GetAPIVersion(), "kind": o.GetKind(), "metadata.name": o.GetName()} {
			if v == "" {
				missing = append(missing, what)
			}
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("an object has no %s", strings.Join(missing, ", "))
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, errors.New("manifest has no objects")
	}
	return out, nil
}

// ReplaceImages checks E2E_REPLACE_IMAGES: each entry names one of the
// chapters' images and what to run instead.
func ReplaceImages(replace map[string]string) error {
	known := map[string]bool{}
	var names []string
	for _, i := range fixtures.AllImages() {
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
