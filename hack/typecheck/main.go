// Command typecheck type-checks packages, and every package they import,
// from source for each GOOS/GOARCH given: what a build for that platform
// would reject (a symbol a build tag leaves out, a call with the wrong
// signature), without compiling code or linking a binary. make unit runs
// it for every platform make dist builds; make dist links them.
//
//	typecheck -platforms linux/amd64,darwin/arm64 ./cmd/kiamol-e2e
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/tools/go/packages"
)

func main() {
	platforms := flag.String("platforms", "", "comma-separated GOOS/GOARCH pairs")
	flag.Parse()
	if *platforms == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "typecheck: usage: typecheck -platforms os/arch[,os/arch...] package...")
		os.Exit(2)
	}
	failed := false
	for _, p := range strings.Split(*platforms, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok || goos == "" || goarch == "" {
			fmt.Fprintf(os.Stderr, "typecheck: %q is not GOOS/GOARCH\n", p)
			os.Exit(2)
		}
		start := time.Now()
		n, errs, err := check("", goos, goarch, flag.Args())
		if err != nil {
			fmt.Fprintf(os.Stderr, "typecheck: %s/%s: %v\n", goos, goarch, err)
			os.Exit(2)
		}
		if len(errs) > 0 {
			failed = true
			fmt.Printf("  %s/%s: %d errors\n", goos, goarch, len(errs))
			for _, e := range errs {
				fmt.Printf("    %s\n", e)
			}
			continue
		}
		fmt.Printf("  %s/%s: %d packages type-check (%.1fs)\n", goos, goarch, n, time.Since(start).Seconds())
	}
	if failed {
		os.Exit(1)
	}
}

// check loads the patterns and all their dependencies from source for one
// platform. Asking for syntax and types of every dependency makes
// go/packages type-check them itself rather than ask the compiler for
// export data, which would compile each package for that platform.
func check(dir, goos, goarch string, patterns []string) (int, []string, error) {
	cfg := &packages.Config{
		Dir: dir,
		Mode: packages.NeedName | packages.NeedImports | packages.NeedDeps |
			packages.NeedSyntax | packages.NeedTypes,
		Env: append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0"),
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return 0, nil, err
	}
	var errs []string
	n := 0
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		n++
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
	})
	return n, errs, nil
}
