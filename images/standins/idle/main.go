// Command idle stands in for the kiamol/ch03-sleep image on machines that
// cannot pull it. The real image is Alpine with curl and jq whose command
// sleeps until it is told to stop: a Pod to run commands in with kubectl
// exec (its busybox gives ping, nslookup, wget and a shell; the stand-in
// image carries Debian's). This program is that command: it does nothing,
// and exits at once on SIGTERM or SIGINT, as the real one's trap does.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}
