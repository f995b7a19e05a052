// Package tempdir removes the run's temporary folders, and says what it
// could not remove instead of failing whoever made them.
//
// os.RemoveAll on Windows deletes each file with POSIX semantics
// (FileDispositionInformationEx); a system that does not implement that
// information class (Wine 8.0 answers STATUS_NOT_IMPLEMENTED, which Go does
// not take as "unsupported") leaves every file in place. Remove then
// deletes what is left one entry at a time through os.Remove (DeleteFileW
// and RemoveDirectoryW, which such a system has).
package tempdir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// removeAll and remove are os.RemoveAll and os.Remove; a test replaces
// them with ones that fail.
var removeAll, remove = os.RemoveAll, os.Remove

// Remove removes dir and everything in it. It returns nil when dir is gone
// (or was never there); otherwise an error naming what stayed and why.
func Remove(dir string) error {
	first := removeAll(dir)
	if first == nil {
		return nil
	}
	// Deepest first: each folder is empty by the time its turn comes.
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return nil
	})
	slices.Reverse(paths)
	for _, p := range paths {
		_ = remove(p)
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	left := 0
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left++
		}
		return nil
	})
	return fmt.Errorf("temporary folder %s not removed (%d file(s) left): %w", dir, left, first)
}
