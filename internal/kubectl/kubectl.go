// Package kubectl runs the book's commands through kubectl itself: the
// binary cmd/kubectl builds from the k8s.io/kubectl module at the version
// go.mod pins. A spec writes the command as the book prints it
// (`kubectl run hello-kiamol --image=kiamol/ch02-hello-kiamol`); this package
// adds only what points it at the run's cluster and the spec's namespace.
package kubectl

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// Kubectl is kubectl pointed at one cluster, and at one namespace once In
// has named it.
type Kubectl struct {
	Binary     string // the built kubectl
	Kubeconfig string // a path, or a KUBECONFIG list
	Context    string
	CacheDir   string // discovery and HTTP cache; never the user's ~/.kube/cache
	Namespace  string
	// Dir is the folder commands run in, where a relative path in an
	// argument is read from; empty: this process's own.
	Dir string
	// Timeout bounds one command (not a Start-ed one).
	Timeout time.Duration
}

// In returns k scoped to namespace ns: the specs' commands then read as
// the book's, which never name one.
func (k Kubectl) In(ns string) Kubectl { k.Namespace = ns; return k }

// Result is what a command printed and how it ended.
type Result struct {
	Command  string // as the reader types it
	Stdout   string
	Stderr   string
	ExitCode int
}

// Error is a command that failed; its message leads with what kubectl said.
type Error struct {
	Result
	Err error // how it ended: an exit status, a timeout, a cancel
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (`%s`, exit %d)", e.Said(), e.Command, e.ExitCode)
}

// Said is what kubectl said went wrong, in one line, the runtime's and API
// server's boilerplate wrappers dropped so the root cause shows:
// `Internal error occurred: error executing command in container: failed
// to exec in container: ... exec: "sh": executable file not found in $PATH`
// says `exec: "sh": executable file not found in $PATH`.
func (e *Error) Said() string {
	said := oneline.First(oneline.StripLogPrefix(e.Stderr))
	if said == "" {
		return e.Err.Error()
	}
	return compact(said)
}

// boilerplate are links of an error chain that only say where it passed:
// exec's through the API server and the runtime, port-forward's through the
// kubelet into the Pod's network namespace.
var boilerplate = regexp.MustCompile(`^(error|Internal error occurred|error upgrading connection|error executing command in container|failed to exec in container|OCI runtime exec failed|exec failed|unable to start container process|unknown|failed to start exec "[0-9a-f]+"` +
	`|Unhandled Error|an error occurred forwarding \d+ -> \d+|error forwarding port \d+ to pod \S+, uid ?|failed to execute portforward in network namespace ".*"` +
	`|(Get|Post|Head|GET|POST) "[^"]*")$`)

func compact(chain string) string {
	var kept []string
	seen := map[string]bool{}
	for _, link := range strings.Split(chain, ": ") {
		link = strings.TrimSpace(link)
		if link == "" || boilerplate.MatchString(link) || seen[link] {
			continue
		}
		seen[link] = true
		kept = append(kept, link)
	}
	if len(kept) == 0 {
		return chain
	}
	return strings.Join(kept, ": ")
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs `kubectl args...` and waits for it. The error, if any, is an
// *Error carrying the whole Result.
func (k Kubectl) Run(ctx context.Context, args ...string) (Result, error) {
	return k.RunWithInput(ctx, nil, args...)
}

// RunWithInput is Run with stdin (for `apply -f -`).
func (k Kubectl) RunWithInput(ctx context.Context, stdin io.Reader, args ...string) (Result, error) {
	if k.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, k.Timeout)
		defer cancel()
	}
	cmd := k.command(ctx, args)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Command: Line(args...), Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: cmd.ProcessState.ExitCode()}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return r, &Error{Result: r, Err: err}
	}
	return r, nil
}

func (k Kubectl) command(ctx context.Context, args []string) *exec.Cmd {
	var global []string
	if k.Context != "" {
		global = append(global, "--context", k.Context)
	}
	if k.Namespace != "" {
		global = append(global, "--namespace", k.Namespace)
	}
	if k.CacheDir != "" {
		global = append(global, "--cache-dir", k.CacheDir)
	}
	cmd := exec.CommandContext(ctx, k.Binary, append(global, args...)...)
	cmd.Dir = k.Dir
	// The kubeconfig goes by environment, which (unlike --kubeconfig) takes
	// a list; a user's kuberc (aliases, default flags) must not change what
	// the book's commands do.
	cmd.Env = append(os.Environ(), "KUBECONFIG="+k.Kubeconfig, "KUBERC=off")
	// On cancel, ask kubectl to stop as Ctrl-C would, then make sure.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Process is a kubectl command that keeps running (port-forward).
type Process struct {
	Command string
	cmd     *exec.Cmd
	mu      sync.Mutex
	stdout  []string
	stderr  bytes.Buffer
	lines   chan string
	done    chan struct{}
	err     error
}

// Start starts `kubectl args...` and returns while it runs; Stop ends it.
// ctx bounds its whole life.
func (k Kubectl) Start(ctx context.Context, args ...string) (*Process, error) {
	cmd := k.command(ctx, args)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Process{Command: Line(args...), cmd: cmd, lines: make(chan string, 64), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &p.mu, b: &p.stderr}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start `%s`: %w", p.Command, err)
	}
	go func() {
		// Drain stdout whole, so kubectl never blocks on a full pipe.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stdout = append(p.stdout, line)
			p.mu.Unlock()
			select {
			case p.lines <- line:
			default:
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// WaitFor waits until the process prints a line matching re and returns
// its submatches; it fails if the process ends first or ctx ends.
func (p *Process) WaitFor(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	p.mu.Lock()
	for _, l := range p.stdout {
		if m := re.FindStringSubmatch(l); m != nil {
			p.mu.Unlock()
			return m, nil
		}
	}
	p.mu.Unlock()
	for {
		select {
		case l := <-p.lines:
			if m := re.FindStringSubmatch(l); m != nil {
				return m, nil
			}
		case <-p.done:
			// kubectl's own words first: why it stopped, not what it
			// was waited for.
			if said := p.Said(); said != "" {
				return nil, fmt.Errorf("%s (`%s` exited, %v, before it was ready)", said, p.Command, p.err)
			}
			return nil, fmt.Errorf("`%s` exited (%v) before printing %q, saying nothing", p.Command, p.err, re)
		case <-ctx.Done():
			if said := p.Said(); said != "" {
				return nil, fmt.Errorf("%s (`%s` was not ready before %v)", said, p.Command, ctx.Err())
			}
			return nil, fmt.Errorf("`%s` printed no %q before %w", p.Command, re, ctx.Err())
		}
	}
}

// Said is the most telling thing the process has said on stderr, in one
// line: the first error it printed (port-forward's later "lost connection
// to pod" only says that it gave up), without log prefixes, and without the
// links of the error chain that only say where the error passed.
func (p *Process) Said() string {
	p.mu.Lock()
	text := oneline.StripLogPrefix(p.stderr.String())
	p.mu.Unlock()
	var first string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || afterthought.MatchString(line) {
			continue
		}
		first = line
		break
	}
	if first == "" {
		return ""
	}
	// klog's structured form: "Unhandled Error" err="..." carries the
	// error in err.
	if m := structuredErr.FindStringSubmatch(first); m != nil {
		first = strings.ReplaceAll(m[1], `\"`, `"`)
	}
	return compact(oneline.Collapse(first))
}

// afterthought is what kubectl prints once it has given up, after the line
// that says why.
var afterthought = regexp.MustCompile(`^(error: )?lost connection to pod$`)

// Problem is what the process has said, and whether it has ended: when a
// request through a forward fails, the cause is usually here.
func (p *Process) Problem() string {
	said := p.Said()
	select {
	case <-p.done:
		if said == "" {
			return fmt.Sprintf("`%s` has exited (%v), saying nothing", p.Command, p.err)
		}
		return fmt.Sprintf("%s (`%s` has exited, %v)", said, p.Command, p.err)
	default:
	}
	return said
}

// Stop ends the process as Ctrl-C would and waits for it.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	grace := time.NewTimer(5 * time.Second)
	defer grace.Stop()
	select {
	case <-p.done:
	case <-grace.C:
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// Ended says whether the process has exited.
func (p *Process) Ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(b)
}

// Line is a command as the reader types it: kubectl and its arguments,
// each quoted as a shell would need.
func Line(args ...string) string {
	parts := []string{"kubectl"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"$`\\|&;<>(){}*?!#") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// structuredErr is the err="..." field of a klog structured line.
var structuredErr = regexp.MustCompile(`\berr="((?:[^"\\]|\\.)*)"`)
