package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// packRootfs writes the tree at dir as a tar whose bytes depend only on the
// tree's names, contents, modes and owners: entries in lexical order, every
// time the same fixed one, owners by number, hard links as links. (GNU
// tar keeps each file's time and the order the file system lists it in,
// so two debootstraps of the same packages gave two node images.)
func packRootfs(dir, out string) error {
	epoch := time.Unix(0, 0)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	return createTar(out, func(w *tar.Writer) error {
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			name := "./" + filepath.ToSlash(rel)
			if rel == "." {
				name = "./"
			}
			info, err := os.Lstat(p)
			if err != nil {
				return err
			}
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok {
				return fmt.Errorf("%s: no stat", p)
			}
			h := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), Uid: int(st.Uid), Gid: int(st.Gid),
				ModTime: epoch, Format: tar.FormatPAX}
			if info.Mode()&fs.ModeSetuid != 0 {
				h.Mode |= 0o4000
			}
			if info.Mode()&fs.ModeSetgid != 0 {
				h.Mode |= 0o2000
			}
			if info.Mode()&fs.ModeSticky != 0 {
				h.Mode |= 0o1000
			}
			var body *os.File
			switch m := info.Mode(); {
			case m.IsDir():
				h.Typeflag = tar.TypeDir
				if rel != "." {
					h.Name += "/"
				}
			case m&fs.ModeSymlink != 0:
				h.Typeflag = tar.TypeSymlink
				if h.Linkname, err = os.Readlink(p); err != nil {
					return err
				}
			case m&fs.ModeDevice != 0:
				h.Typeflag = tar.TypeBlock
				if m&fs.ModeCharDevice != 0 {
					h.Typeflag = tar.TypeChar
				}
				h.Devmajor, h.Devminor = int64(major(uint64(st.Rdev))), int64(minor(uint64(st.Rdev)))
			case m&fs.ModeNamedPipe != 0:
				h.Typeflag = tar.TypeFifo
			case m.IsRegular():
				key := inode{uint64(st.Dev), uint64(st.Ino)}
				if first, ok := seen[key]; ok && st.Nlink > 1 {
					h.Typeflag, h.Linkname = tar.TypeLink, first
					break
				}
				seen[key] = name
				h.Typeflag, h.Size = tar.TypeReg, info.Size()
				if body, err = os.Open(p); err != nil {
					return err
				}
				defer body.Close()
			default:
				return nil // a socket: nothing a node image carries
			}
			if err := w.WriteHeader(h); err != nil {
				return err
			}
			if body != nil {
				if _, err := io.Copy(w, body); err != nil {
					return err
				}
				return body.Close()
			}
			return nil
		})
	})
}

// major and minor split a Linux device number as the kernel's glibc
// macros do.
func major(dev uint64) uint64 { return (dev>>8)&0xfff | (dev>>32)&^0xfff }
func minor(dev uint64) uint64 { return dev&0xff | (dev>>12)&^0xff }
