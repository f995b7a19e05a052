package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// progress prints "[k/n] what" lines with elapsed times, and a heartbeat
// naming whatever is still running, so a half-hour cold build never looks hung.
type progress struct {
	mu      sync.Mutex
	out     io.Writer
	total   int
	next    int
	start   time.Time
	running map[string]time.Time
	stop    chan struct{}
}

func newProgress(out io.Writer, total int, heartbeat time.Duration) *progress {
	p := &progress{out: out, total: total, start: time.Now(), running: map[string]time.Time{}, stop: make(chan struct{})}
	go func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.beat()
			}
		}
	}()
	return p
}

func (p *progress) close() { close(p.stop) }

func (p *progress) printf(format string, args ...any) {
	fmt.Fprintf(p.out, "[images %s] %s\n", since(p.start), fmt.Sprintf(format, args...))
}

// begin numbers a step and marks it running; the returned func ends it.
func (p *progress) begin(what string) func(result string) {
	p.mu.Lock()
	p.next++
	k := p.next
	p.running[what] = time.Now()
	p.mu.Unlock()
	p.printf("step %d/%d: %s ...", k, p.total, what)
	return func(result string) {
		p.mu.Lock()
		began := p.running[what]
		delete(p.running, what)
		p.mu.Unlock()
		p.printf("step %d/%d: %s: %s (%s)", k, p.total, what, result, since(began))
	}
}

func (p *progress) beat() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.running) == 0 {
		return
	}
	var names []string
	for what, began := range p.running {
		names = append(names, fmt.Sprintf("%s (%s)", what, since(began)))
	}
	sort.Strings(names)
	p.printf("still working: %s", strings.Join(names, "; "))
}

func since(t time.Time) string { return time.Since(t).Round(time.Second).String() }
