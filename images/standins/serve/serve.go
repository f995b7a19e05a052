// Package serve is how every stand-in web app runs: it exits at once on
// SIGTERM or SIGINT (nothing in them needs draining, and a Pod's deletion,
// and with it every claim's clean-up, is faster for it), and serves its
// handler on the address the environment gives, :80 by default.
package serve

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main serves h for the program name on $addrEnv (default :80) until a
// signal ends the process; it exits 1, saying why, if it cannot listen.
func Main(name, addrEnv string, h http.Handler) {
	ExitOnSignal()
	addr := ":80"
	if a := os.Getenv(addrEnv); a != "" {
		addr = a
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// ExitOnSignal ends the process at once on SIGTERM or SIGINT.
func ExitOnSignal() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sigs
		os.Exit(0)
	}()
}
