package main

import (
	"archive/tar"
	"bufio"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// entry is one file in a layer we assemble: content from memory or from a
// file on disk, a symlink, or a folder whose mode is not the usual 0755
// (/tmp's 1777).
type entry struct {
	mode    int64
	data    []byte
	src     string
	symlink string
	dir     bool
}

// writeLayer writes a reproducible tar (fixed times and owners, sorted
// names, parent folders included) so unchanged inputs give the same digest.
func writeLayer(out string, files map[string]entry) error {
	return createTar(out, func(w *tar.Writer) error { return fillLayer(w, files) })
}

// createTar writes a tar file through a buffer, and makes sure both the tar
// trailer and the buffer reach the disk: a lost final flush leaves a layer
// that only fails when a node unpacks it.
func createTar(out string, fill func(*tar.Writer) error) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := tar.NewWriter(bw)
	if err := fill(w); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func fillLayer(w *tar.Writer, files map[string]entry) error {
	epoch := time.Unix(0, 0)
	dirs := map[string]bool{}
	var names []string
	for name := range files {
		names = append(names, name)
		for d := path.Dir(name); d != "/" && d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	var all []string
	for d := range dirs {
		if !files[d].dir {
			all = append(all, d+"/")
		}
	}
	for _, name := range names {
		if files[name].dir {
			name += "/" // sorts with the implied folders
		}
		all = append(all, name)
	}
	sort.Strings(all)
	for _, name := range all {
		rel := strings.TrimPrefix(name, "/")
		if strings.HasSuffix(name, "/") {
			mode := int64(0o755)
			if e := files[strings.TrimSuffix(name, "/")]; e.dir {
				mode = e.mode
			}
			if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: rel, Mode: mode, ModTime: epoch}); err != nil {
				return err
			}
			continue
		}
		e := files[name]
		if e.symlink != "" {
			if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: rel, Linkname: e.symlink, Mode: 0o777, ModTime: epoch}); err != nil {
				return err
			}
			continue
		}
		var body io.Reader
		size := int64(len(e.data))
		if e.src != "" {
			sf, err := os.Open(e.src)
			if err != nil {
				return err
			}
			defer sf.Close()
			st, err := sf.Stat()
			if err != nil {
				return err
			}
			size, body = st.Size(), sf
		} else {
			body = strings.NewReader(string(e.data))
		}
		if err := w.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: e.mode, Size: size, ModTime: epoch}); err != nil {
			return err
		}
		if _, err := io.Copy(w, body); err != nil {
			return err
		}
	}
	return nil
}
