// Package forward runs `kubectl port-forward` as the book does, on a local
// port the kernel picks (so parallel specs never collide), and fetches pages
// through it. kubectl's own code picks the Pod behind `deploy/NAME`.
package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
)

// Session is one running `kubectl port-forward`.
type Session struct {
	Target    string // pod/NAME or deploy/NAME
	LocalPort int
	proc      *kubectl.Process
}

// forwarding is the line kubectl prints once it listens.
var forwarding = regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)`)

// Start runs kubectl with args, a port-forward to target that listens on
// 127.0.0.1 only ("port-forward --address=127.0.0.1 TARGET :PORT"), and waits
// until it listens (within ready).
func Start(ctx context.Context, k kubectl.Kubectl, target string, args []string, ready time.Duration) (*Session, error) {
	p, err := k.Start(ctx, args...)
	if err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, ready)
	defer cancel()
	m, err := p.WaitFor(wait, forwarding)
	if err != nil {
		p.Stop()
		return nil, err
	}
	local, _ := strconv.Atoi(m[1])
	return &Session{Target: target, LocalPort: local, proc: p}, nil
}

// Command is the session's command line, for messages.
func (s *Session) Command() string { return s.proc.Command }

// URL is the forwarded port's base address.
func (s *Session) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.LocalPort) }

// Close stops kubectl and frees the port.
func (s *Session) Close() { s.proc.Stop() }

// Problem is what kubectl has said about the forward, if anything.
func (s *Session) Problem() string { return s.proc.Problem() }

// Ended says whether kubectl has stopped forwarding.
func (s *Session) Ended() bool { return s.proc.Ended() }

// Page is what a GET returned.
type Page struct {
	Status int
	Body   string
}

// Get fetches path through the forward, bounded by ctx and a per-request
// limit.
func Get(ctx context.Context, s *Session, path string, limit time.Duration) (Page, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+path, nil)
	if err != nil {
		return Page{}, err
	}
	// A User-Agent the access-log claim can find its own request by.
	req.Header.Set("User-Agent", UserAgent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Page{}, err // the caller adds s.Problem(): what kubectl said
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return Page{}, err
	}
	return Page{Status: resp.StatusCode, Body: string(body)}, nil
}

// UserAgent is what the suite's requests call themselves.
const UserAgent = "kiamol-e2e"
