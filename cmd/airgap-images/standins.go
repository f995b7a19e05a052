package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/kiamol-e2e/kiamol-e2e/images/standins"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
)

// standInsRecipe changes whenever the stand-in binaries' build does;
// chapterImagesRecipe whenever the layout of the chapters' images does in a
// way their key would not see.
const (
	standInsRecipe      = "standins/v2"
	chapterImagesRecipe = "chapter-images/v1"
)

// imagePath is the PATH of every stand-in image: Alpine's.
const imagePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// pauseProgram is the pod sandbox's stand-in: the cluster's image, not a
// chapter's, but built with the chapters' programs.
const pauseProgram = "images/standins/pause"

// standInPrograms lists the programs to build, binary name -> package folder
// in this repository: pause and every chapter image's.
func standInPrograms(imgs []book.Image) (map[string]string, error) {
	progs := map[string]string{path.Base(pauseProgram): pauseProgram}
	for _, i := range imgs {
		p := i.StandIn.Program
		if p == "" {
			return nil, fmt.Errorf("%s: its stand-in names no Program", i.Ref)
		}
		name := path.Base(p)
		if prev, ok := progs[name]; ok && prev != p {
			return nil, fmt.Errorf("stand-in programs %s and %s would both build a binary named %s", prev, p, name)
		}
		progs[name] = p
	}
	return progs, nil
}

// programsKey hashes the Go files of each program's package and of every
// package of this module it imports, however deeply. Beyond that the
// programs may use only the standard library (programsKey refuses anything
// else), so those files and the Go version are everything their binaries
// depend on.
func programsKey(repo, goVersion string, progs map[string]string) (string, error) {
	parts := []string{standInsRecipe, goVersion}
	for _, bin := range sortedKeys(progs) {
		dirs, err := localPackages(repo, progs[bin])
		if err != nil {
			return "", err
		}
		for _, dir := range dirs {
			files, err := goFiles(filepath.Join(repo, filepath.FromSlash(dir)))
			if err != nil || len(files) == 0 {
				return "", fmt.Errorf("stand-in program %s: no Go files in %s (is -repo the kiamol-e2e checkout?)", progs[bin], dir)
			}
			for _, f := range files {
				raw, err := os.ReadFile(f)
				if err != nil {
					return "", err
				}
				parts = append(parts, bin, dir+"/"+filepath.Base(f), string(raw))
			}
		}
	}
	return keyOf(parts...), nil
}

// modulePath is this repository's module, whose packages a program may
// import.
const modulePath = "github.com/kiamol-e2e/kiamol-e2e"

// localPackages is dir and every package of this module it imports,
// directly or not, as folders of the repository, sorted.
func localPackages(repo, dir string) ([]string, error) {
	seen := map[string]bool{}
	var walk func(string) error
	walk = func(d string) error {
		if seen[d] {
			return nil
		}
		seen[d] = true
		files, err := goFiles(filepath.Join(repo, filepath.FromSlash(d)))
		if err != nil || len(files) == 0 {
			return fmt.Errorf("stand-in program %s: no Go files in %s (is -repo the kiamol-e2e checkout?)", dir, d)
		}
		for _, f := range files {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			for _, imp := range parsed.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if rel, ok := strings.CutPrefix(p, modulePath+"/"); ok {
					if err := walk(rel); err != nil {
						return err
					}
				} else if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
					return fmt.Errorf("stand-in program %s: %s imports %s, which its build key would not see; use the standard library or this module", dir, f, p)
				}
			}
		}
		return nil
	}
	if err := walk(dir); err != nil {
		return nil, err
	}
	return sortedKeys(seen), nil
}

// goFiles lists the non-test Go files of the package in dir.
func goFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, filepath.Join(dir, n))
		}
	}
	return files, nil
}

// chapterImagesKey covers everything that shapes the chapters' images
// besides their binaries and busybox (keyed by their own steps): each
// descriptor's fields, the bytes of the files it copies in, and the base
// files every stand-in gets.
func chapterImagesKey(imgs []book.Image, assets fs.FS) (string, error) {
	parts := []string{chapterImagesRecipe, imagePath}
	base := baseFiles()
	for _, name := range sortedKeys(base) {
		e := base[name]
		parts = append(parts, name, strconv.FormatInt(e.mode, 8), strconv.FormatBool(e.dir), e.symlink, string(e.data))
	}
	sorted := append([]book.Image(nil), imgs...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Ref < sorted[b].Ref })
	for _, i := range sorted {
		s := i.StandIn
		if err := checkStandIn(i); err != nil {
			return "", err
		}
		parts = append(parts, "image", i.Ref, s.Program, s.Entrypoint, strconv.FormatBool(s.Busybox), strconv.Itoa(s.Port))
		for _, dest := range sortedKeys(s.Files) {
			raw, err := fs.ReadFile(assets, s.Files[dest])
			if err != nil {
				return "", fmt.Errorf("%s: stand-in file %s: %w", i.Ref, dest, err)
			}
			sum := sha256.Sum256(raw)
			parts = append(parts, dest, s.Files[dest], hex.EncodeToString(sum[:]))
		}
	}
	return keyOf(parts...), nil
}

// checkStandIn rejects a descriptor the layout could not honour, before any
// long work starts.
func checkStandIn(i book.Image) error {
	s := i.StandIn
	if strings.Contains(i.Ref, "@") || strings.Contains(path.Base(i.Ref), ":") {
		return fmt.Errorf("%s: a chapter image is named untagged (the build pushes it as latest)", i.Ref)
	}
	if !path.IsAbs(s.Entrypoint) || path.Clean(s.Entrypoint) != s.Entrypoint {
		return fmt.Errorf("%s: stand-in Entrypoint %q is not a clean absolute path", i.Ref, s.Entrypoint)
	}
	for dest := range s.Files {
		if !path.IsAbs(dest) || path.Clean(dest) != dest {
			return fmt.Errorf("%s: stand-in file %q is not a clean absolute path", i.Ref, dest)
		}
	}
	if s.Port < 0 || s.Port > 65535 {
		return fmt.Errorf("%s: stand-in Port %d is not a port", i.Ref, s.Port)
	}
	return nil
}

// registryRepoTag is where a chapter image goes in the registry: the nodes
// send docker.io pulls there, and the book's images are untagged, so latest.
func registryRepoTag(ref string) string {
	return strings.TrimPrefix(ref, "docker.io/") + ":latest"
}

// baseFiles are what an Alpine image has that the chapter's commands rely
// on: root in /etc/passwd and /etc/group (tar and id look owners up there),
// an nsswitch.conf that reads /etc/hosts before DNS, as musl always does, so
// `hostname -i` answers from the pod's /etc/hosts (glibc's default without
// one has varied), and /tmp and /root.
func baseFiles() map[string]entry {
	return map[string]entry{
		"/etc/passwd":        {mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
		"/etc/group":         {mode: 0o644, data: []byte("root:x:0:root\nnobody:x:65534:\n")},
		"/etc/nsswitch.conf": {mode: 0o644, data: []byte("hosts: files dns\n")},
		"/tmp":               {dir: true, mode: 0o1777},
		"/root":              {dir: true, mode: 0o700},
	}
}

// standInLayout lays out one chapter image's stand-in as a single layer:
// the base files, busybox and a link per applet in /bin when asked for, the
// program at its entrypoint and the descriptor's files.
func standInLayout(i book.Image, binDir string, bb *busyboxFiles, assets fs.FS) (map[string]entry, v1.Config, error) {
	s := i.StandIn
	if err := checkStandIn(i); err != nil {
		return nil, v1.Config{}, err
	}
	files := baseFiles()
	add := func(name string, e entry) error {
		if _, clash := files[name]; clash {
			return fmt.Errorf("%s: the stand-in lays out %s twice", i.Ref, name)
		}
		files[name] = e
		return nil
	}
	if s.Busybox {
		if bb == nil {
			return nil, v1.Config{}, fmt.Errorf("%s: the stand-in wants busybox, which was not fetched", i.Ref)
		}
		if err := add("/bin/busybox", entry{mode: 0o755, src: bb.bin}); err != nil {
			return nil, v1.Config{}, err
		}
		for _, a := range bb.applets {
			if err := add("/bin/"+a, entry{symlink: "busybox"}); err != nil {
				return nil, v1.Config{}, err
			}
		}
	}
	if err := add(s.Entrypoint, entry{mode: 0o755, src: filepath.Join(binDir, path.Base(s.Program))}); err != nil {
		return nil, v1.Config{}, err
	}
	for _, dest := range sortedKeys(s.Files) {
		raw, err := fs.ReadFile(assets, s.Files[dest])
		if err != nil {
			return nil, v1.Config{}, fmt.Errorf("%s: stand-in file %s: %w", i.Ref, dest, err)
		}
		if err := add(dest, entry{mode: 0o644, data: raw}); err != nil {
			return nil, v1.Config{}, err
		}
	}
	cfg := v1.Config{Entrypoint: []string{s.Entrypoint}, Env: []string{imagePath}}
	if s.Port > 0 {
		cfg.ExposedPorts = map[string]struct{}{fmt.Sprintf("%d/tcp", s.Port): {}}
	}
	return files, cfg, nil
}

// standInImage writes a chapter image's layer into work and makes the image.
func standInImage(work string, i book.Image, binDir string, bb *busyboxFiles) (v1.Image, error) {
	files, cfg, err := standInLayout(i, binDir, bb, standins.Assets)
	if err != nil {
		return nil, err
	}
	layer := filepath.Join(work, strings.NewReplacer("/", "_", ".", "_", ":", "_").Replace(i.Ref)+".tar")
	if err := writeLayer(layer, files); err != nil {
		return nil, err
	}
	return newImage(cfg, layer)
}
