package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kiamol-e2e/kiamol-e2e/chapters"
	"github.com/kiamol-e2e/kiamol-e2e/chapters/ch02"
	"github.com/kiamol-e2e/kiamol-e2e/images/standins"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
)

func TestMadisonVersionPicksTheNodeSuite(t *testing.T) {
	out := " busybox-static | 1:1.37.0-6+b1 | http://deb.debian.org/debian trixie/main amd64 Packages\n" +
		" busybox-static | 1:1.35.0-4+deb12u2 | http://security.debian.org/debian-security bookworm-security/main amd64 Packages\n" +
		" busybox-static | 1:1.35.0-4+deb12u1+b1 | http://deb.debian.org/debian bookworm/main amd64 Packages\n"
	if got := madisonVersion(out, "bookworm"); got != "1:1.35.0-4+deb12u2" {
		t.Errorf("got %q", got)
	}
	if got := madisonVersion(out, "bullseye"); got != "" {
		t.Errorf("other suite: %q", got)
	}
}

func TestParseAppletsSkipsBusyboxAndWantsTheChaptersTools(t *testing.T) {
	got, err := parseApplets("[\n[[\nbusybox\ncat\nhead\nhostname\nnslookup\nping\nsh\ntar\nwget\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "[ [[ cat head hostname nslookup ping sh tar wget" {
		t.Errorf("applets %q", got)
	}
	if _, err := parseApplets("sh\ncat\n"); err == nil {
		t.Error("a busybox without tar was accepted")
	}
	if _, err := parseApplets("sh\n../x\n"); err == nil {
		t.Error("a path was accepted as an applet")
	}
}

// layerFile is one entry of a layer as a node would unpack it.
type layerFile struct {
	hdr  tar.Header
	data []byte
}

func readLayer(t *testing.T, p string) map[string]layerFile {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]layerFile{}
	r := tar.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[h.Name]; dup {
			t.Errorf("%s twice in the layer", h.Name)
		}
		out[strings.TrimSuffix(h.Name, "/")] = layerFile{hdr: *h, data: data}
	}
}

// TestChapterImagesLayout lays out every chapter image with a stand-in
// busybox and checks what the chapter's commands rely on is in the layer.
func TestChapterImagesLayout(t *testing.T) {
	dir := t.TempDir()
	bb := &busyboxFiles{bin: filepath.Join(dir, "busybox"), applets: []string{"[", "cat", "head", "hostname", "sh", "tar", "wget"}}
	if err := os.WriteFile(bb.bin, []byte("busybox binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	progs, err := standInPrograms(book.Images(chapters.Books()))
	if err != nil {
		t.Fatal(err)
	}
	for bin := range progs {
		if err := os.WriteFile(filepath.Join(dir, bin), []byte("program "+bin), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	page, err := os.ReadFile("../../images/standins/hello-kiamol/html/index.html")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, ci := range book.Images(chapters.Books()) {
		seen[ci.Ref] = true
		files, cfg, err := standInLayout(ci, dir, bb, standins.Assets)
		if err != nil {
			t.Fatal(err)
		}
		layer := filepath.Join(dir, "layer.tar")
		if err := writeLayer(layer, files); err != nil {
			t.Fatal(err)
		}
		got := readLayer(t, layer)
		rel := func(p string) string { return strings.TrimPrefix(p, "/") }
		ep := got[rel(ci.StandIn.Entrypoint)]
		if ep.hdr.Typeflag != tar.TypeReg || ep.hdr.Mode != 0o755 || string(ep.data) != "program "+filepath.Base(ci.StandIn.Program) {
			t.Errorf("%s: entrypoint %s: %+v %q", ci.Ref, ci.StandIn.Entrypoint, ep.hdr, ep.data)
		}
		if len(cfg.Entrypoint) != 1 || cfg.Entrypoint[0] != ci.StandIn.Entrypoint {
			t.Errorf("%s: config entrypoint %v", ci.Ref, cfg.Entrypoint)
		}
		if ci.StandIn.Port == 0 {
			if len(cfg.ExposedPorts) != 0 {
				t.Errorf("%s: exposed ports %v, want none", ci.Ref, cfg.ExposedPorts)
			}
		} else if _, ok := cfg.ExposedPorts[strconv.Itoa(ci.StandIn.Port)+"/tcp"]; !ok || len(cfg.ExposedPorts) != 1 {
			t.Errorf("%s: exposed ports %v, want %d/tcp", ci.Ref, cfg.ExposedPorts, ci.StandIn.Port)
		}
		if len(cfg.Env) != 1 || !strings.Contains(cfg.Env[0], ":/bin") {
			t.Errorf("%s: env %v", ci.Ref, cfg.Env)
		}
		if ci.StandIn.Busybox {
			if b := got["bin/busybox"]; string(b.data) != "busybox binary" || b.hdr.Mode != 0o755 {
				t.Errorf("%s: /bin/busybox %+v", ci.Ref, b.hdr)
			}
			for _, a := range []string{"sh", "tar", "hostname", "wget", "cat", "head", "["} {
				if l := got["bin/"+a]; l.hdr.Typeflag != tar.TypeSymlink || l.hdr.Linkname != "busybox" {
					t.Errorf("%s: /bin/%s is not a link to busybox: %+v", ci.Ref, a, l.hdr)
				}
			}
		}
		if tmp := got["tmp"]; tmp.hdr.Typeflag != tar.TypeDir || tmp.hdr.Mode != 0o1777 {
			t.Errorf("%s: /tmp %+v, want a folder with mode 1777", ci.Ref, tmp.hdr)
		}
		if !strings.HasPrefix(string(got["etc/passwd"].data), "root:x:0:0:") || !strings.HasPrefix(string(got["etc/group"].data), "root:x:0:") {
			t.Errorf("%s: /etc/passwd %q, /etc/group %q", ci.Ref, got["etc/passwd"].data, got["etc/group"].data)
		}
		for dest := range ci.StandIn.Files {
			if _, ok := got[rel(dest)]; !ok {
				t.Errorf("%s: %s missing", ci.Ref, dest)
			}
		}
		if ci.Ref == ch02.HelloKiamol && !bytes.Equal(got[rel("/usr/share/nginx/html/index.html")].data, page) {
			t.Errorf("%s: %s differs from the chapter's page", ci.Ref, "/usr/share/nginx/html/index.html")
		}
		if registryRepoTag(ci.Ref) != ci.Ref+":latest" {
			t.Errorf("%s goes to %s", ci.Ref, registryRepoTag(ci.Ref))
		}
	}
	for _, want := range []string{ch02.HelloKiamol, ch02.Whoami} {
		if !seen[want] {
			t.Errorf("no stand-in for %s", want)
		}
	}
}

func TestChapterImagesKeyCoversTheDescriptor(t *testing.T) {
	assets := fstest.MapFS{"page.html": {Data: []byte("<h1>hi</h1>")}}
	base := book.Image{Ref: "kiamol/x", StandIn: book.StandIn{
		Program: "images/standins/x", Entrypoint: "/usr/local/bin/x", Busybox: true,
		Files: map[string]string{"/srv/index.html": "page.html"}, Port: 80,
	}}
	key := func(i book.Image, a fstest.MapFS) string {
		t.Helper()
		k, err := chapterImagesKey([]book.Image{i}, a)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k0 := key(base, assets)
	if key(base, assets) != k0 {
		t.Fatal("the same descriptor gave two keys")
	}
	changes := map[string]func(*book.Image){
		"ref":        func(i *book.Image) { i.Ref = "kiamol/y" },
		"program":    func(i *book.Image) { i.StandIn.Program = "images/standins/y" },
		"entrypoint": func(i *book.Image) { i.StandIn.Entrypoint = "/x" },
		"busybox":    func(i *book.Image) { i.StandIn.Busybox = false },
		"port":       func(i *book.Image) { i.StandIn.Port = 8080 },
		"file dest":  func(i *book.Image) { i.StandIn.Files = map[string]string{"/srv/other.html": "page.html"} },
	}
	for what, change := range changes {
		i := base
		i.StandIn.Files = map[string]string{"/srv/index.html": "page.html"}
		change(&i)
		if key(i, assets) == k0 {
			t.Errorf("changing the %s kept the key", what)
		}
	}
	if key(base, fstest.MapFS{"page.html": {Data: []byte("<h1>bye</h1>")}}) == k0 {
		t.Error("changing an asset's bytes kept the key")
	}
	if _, err := chapterImagesKey([]book.Image{base}, fstest.MapFS{}); err == nil {
		t.Error("a missing asset was not an error")
	}
	bad := base
	bad.StandIn.Entrypoint = "x"
	if _, err := chapterImagesKey([]book.Image{bad}, assets); err == nil {
		t.Error("a relative entrypoint was not an error")
	}
}

func TestProgramsKeyChangesWithSources(t *testing.T) {
	repo := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(repo, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/main.go", "package main")
	write("a/util.go", "package main // v1")
	write("a/main_test.go", "package main // test")
	progs := map[string]string{"a": "a"}
	k := func() string {
		key, err := programsKey(repo, "go1.26", progs)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	k0 := k()
	write("a/main_test.go", "package main // test changed")
	if k() != k0 {
		t.Error("a test file changed the binaries' key")
	}
	write("a/util.go", "package main // v2")
	if k() == k0 {
		t.Error("a changed source kept the key")
	}
	if _, err := programsKey(repo, "go1.26", map[string]string{"b": "b"}); err == nil {
		t.Error("a missing program was not an error")
	}
	write("a/util.go", "package main\nimport _ \""+modulePath+"/lib\"")
	write("lib/lib.go", "package lib // v1")
	k1 := k()
	write("lib/lib.go", "package lib // v2")
	if k() == k1 {
		t.Error("a changed package of this module that the program imports kept the key")
	}
	write("a/util.go", "package main\nimport _ \"example.com/other\"")
	if _, err := programsKey(repo, "go1.26", progs); err == nil {
		t.Error("an import from outside this module and the standard library was not an error")
	}
}

// TestStandInProgramsAreKeyedByAllTheyImport holds the programs the image
// build makes (the chapters' stand-ins, pause, and what the nodes run) to
// what programsKey can key: the standard library and this module.
func TestStandInProgramsAreKeyedByAllTheyImport(t *testing.T) {
	progs, err := standInPrograms(book.Images(chapters.Books()))
	if err != nil {
		t.Fatal(err)
	}
	progs["kiamol-node-prep"], progs["runc-capfilter"] = "images/node-prep", "images/runc-capfilter"
	for bin, dir := range progs {
		if _, err := localPackages("../..", dir); err != nil {
			t.Errorf("%s: %v", bin, err)
		}
	}
	dirs, err := localPackages("../..", "images/node-prep")
	if err != nil || !slices.Equal(dirs, []string{"images/node-prep", "internal/nodehost"}) {
		t.Errorf("node-prep's packages: %v %v", dirs, err)
	}
}
