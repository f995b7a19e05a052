// Command cpuhog keeps every core of this machine busy until it is stopped
// (SIGINT or SIGTERM), for the load test: `make e2e-load` runs the suite
// with it beside, to show no bound in the suite is an expected duration.
//
//	cpuhog [-n N]   N busy goroutines (default: one per core)
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	n := flag.Int("n", runtime.NumCPU(), "busy goroutines (default: one per core)")
	flag.Parse()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	for i := 0; i < *n; i++ {
		go spin()
	}
	fmt.Printf("cpuhog: %d busy goroutines on %d cores (pid %d)\n", *n, runtime.NumCPU(), os.Getpid())
	<-stop
}

// spin burns a core on arithmetic the compiler cannot drop.
func spin() {
	x := uint64(1)
	for {
		for i := 0; i < 1<<20; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
		if x == 0 {
			fmt.Println(x)
		}
	}
}
