package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A module whose Windows build refers to a symbol that only its Linux
// files define: the Linux check passes, the Windows one names the symbol.
func TestAPlatformOnlyBreakIsCaught(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/m\n\ngo 1.22\n")
	write("main.go", "package main\n\nfunc main() { println(home()) }\n")
	write("home_linux.go", "package main\n\nfunc home() string { return \"/root\" }\n")
	write("home_windows.go", "//go:build windows\n\npackage main\n\nfunc home() string { return homeDrive }\n")

	if _, errs, err := check(dir, "linux", "amd64", []string{"."}); err != nil || len(errs) != 0 {
		t.Fatalf("linux/amd64: err=%v errs=%v, want none", err, errs)
	}
	_, errs, err := check(dir, "windows", "amd64", []string{"."})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "homeDrive") {
		t.Fatalf("windows/amd64: errs=%v, want one naming homeDrive", errs)
	}
}
