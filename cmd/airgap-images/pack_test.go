package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func packed(t *testing.T, dir string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := packRootfs(dir, out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Two trees with the same names, contents, modes and owners pack to the
// same bytes, whatever their files' times; what a node needs of each entry
// (type, mode, link target, hard link) survives.
func TestPackRootfsDependsOnlyOnTheTree(t *testing.T) {
	make := func(when time.Time) string {
		dir := t.TempDir()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755))
		must(os.WriteFile(filepath.Join(dir, "usr/bin/perl"), []byte("#!perl"), 0o755))
		must(os.Link(filepath.Join(dir, "usr/bin/perl"), filepath.Join(dir, "usr/bin/perl5.36.0")))
		must(os.Symlink("perl", filepath.Join(dir, "usr/bin/p")))
		must(os.MkdirAll(filepath.Join(dir, "tmp"), 0o755))
		must(os.Chmod(filepath.Join(dir, "tmp"), 0o777|os.ModeSticky))
		for _, p := range []string{"usr/bin/perl", "usr/bin", "tmp", "."} {
			must(os.Chtimes(filepath.Join(dir, p), when, when))
		}
		return dir
	}
	a := packed(t, make(time.Now().Add(-48*time.Hour)))
	b := packed(t, make(time.Now()))
	if !bytes.Equal(a, b) {
		t.Fatal("the same tree at other times packed to other bytes")
	}
	r := tar.NewReader(bytes.NewReader(a))
	got := map[string]*tar.Header{}
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
	}
	if h := got["./usr/bin/perl5.36.0"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "./usr/bin/perl" {
		t.Errorf("hard link: %+v", h)
	}
	if h := got["./usr/bin/p"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "perl" {
		t.Errorf("symlink: %+v", h)
	}
	if h := got["./tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("/tmp: %+v", h)
	}
	if h := got["./usr/bin/perl"]; h == nil || h.Mode != 0o755 || !h.ModTime.Equal(time.Unix(0, 0)) {
		t.Errorf("perl: %+v", h)
	}
}

func TestShadowLosesTheDayOfTheBuildOnly(t *testing.T) {
	p := filepath.Join(t.TempDir(), "shadow")
	in := "root:*:20424:0:99999:7:::\nsystemd-network:!*:20424::::::\n"
	if err := os.WriteFile(p, []byte(in), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := blankAccountDates(p); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	if want := "root:*::0:99999:7:::\nsystemd-network:!*:::::::\n"; string(raw) != want {
		t.Errorf("got %q, want %q", raw, want)
	}
}
