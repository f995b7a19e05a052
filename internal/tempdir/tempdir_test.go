package tempdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "spec")
	for _, f := range []string{"pod.yaml", "kiamol/ch02/index.html"} {
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRemove(t *testing.T) {
	dir := tree(t)
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", dir, err)
	}
	if err := Remove(dir); err != nil {
		t.Errorf("a folder already gone: %v", err)
	}
}

// Where os.RemoveAll fails and leaves every file (as under Wine), the
// folder still goes, one entry at a time.
func TestRemoveWhereRemoveAllFails(t *testing.T) {
	refused := errors.New("Invalid function.")
	defer func(f func(string) error) { removeAll = f }(removeAll)
	removeAll = func(string) error { return refused }
	dir := tree(t)
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", dir, err)
	}
}

// What cannot go at all is said: the folder, how many files stayed, and
// the first cause.
func TestWhatStaysIsSaid(t *testing.T) {
	defer func(a, r func(string) error) { removeAll, remove = a, r }(removeAll, remove)
	refused := errors.New("Invalid function.")
	removeAll = func(string) error { return refused }
	remove = func(p string) error {
		if filepath.Base(p) == "index.html" {
			return errors.New("in use")
		}
		return os.Remove(p)
	}
	dir := tree(t)
	err := Remove(dir)
	if err == nil || !errors.Is(err, refused) || !strings.HasPrefix(err.Error(), "temporary folder "+dir+" not removed (1 file(s) left): ") {
		t.Errorf("Remove: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pod.yaml")); !os.IsNotExist(err) {
		t.Errorf("what could go stayed: %v", err)
	}
}
