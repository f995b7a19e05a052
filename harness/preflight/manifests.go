package preflight

import (
	"context"
	"errors"
	"io/fs"

	"github.com/kiamol-e2e/kiamol-e2e/fixtures"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/manifest"
)

// Manifests parses each of the chapter's manifests (from dir, or the
// embedded copies) and checks it declares the object the specs look for, so
// a broken file fails here, by name, and not as a timeout minutes later.
func Manifests(ctx context.Context, dir string) error {
	fix := "fix the file, or unset MANIFESTS to use the suite's own copy"
	for _, m := range fixtures.Chapter2Manifests {
		raw, path, err := fixtures.Chapter2(dir, m.File)
		if errors.Is(err, fs.ErrNotExist) {
			return problem("point MANIFESTS at a folder holding the chapter's pod.yaml and deployment.yaml (the book's ch02 folder)", "manifest %s does not exist", path)
		}
		if err != nil {
			return problem(fix, "manifest %s: %s", path, firstLine(err.Error()))
		}
		objs, err := manifest.Decode(ctx, raw, "")
		if err != nil {
			return problem(fix, "manifest %s: %s", path, firstLine(err.Error()))
		}
		found := false
		for _, o := range objs {
			kind := o.GetObjectKind().GroupVersionKind().Kind
			if kind == m.Kind && o.GetName() == m.Name {
				found = true
			}
		}
		if !found {
			return problem("the chapter's "+m.File+" declares "+m.Kind+" "+m.Name+"; restore it or unset MANIFESTS", "manifest %s declares no %s named %s", path, m.Kind, m.Name)
		}
	}
	return nil
}
