package spec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gtypes "github.com/onsi/gomega/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/forward"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

// Ran is one of the book's commands as a claim ran it (report.Ran): the
// verdict prints a claim's commands from these and nothing else.
type Ran = report.Ran

// Option changes how a step runs.
type Option func(*stepRun)

type stepRun struct {
	put map[string]string
	dir string
}

// Put gives the word the step substitutes at run time.
func Put(word, as string) Option {
	return func(r *stepRun) {
		if r.put == nil {
			r.put = map[string]string{}
		}
		r.put[word] = as
	}
}

// In runs kubectl in dir (relative paths in the step are read there).
func In(dir string) Option { return func(r *stepRun) { r.dir = dir } }

// Run runs one of the claim's steps through kubectl and fails the claim,
// with kubectl's own words, if it fails.
func (t *T) Run(ctx context.Context, step book.Step, opts ...Option) kubectl.Result {
	GinkgoHelper()
	return t.runStep(ctx, step, opts, false)
}

// Exec runs one of the claim's `kubectl exec` steps whose command in the
// container may end non-zero and still have said what the claim reads
// (nslookup fails for every search domain without the name): what it
// printed is returned; kubectl failing to reach the container fails the
// claim with kubectl's own words, as Run does.
func (t *T) Exec(ctx context.Context, step book.Step, opts ...Option) kubectl.Result {
	GinkgoHelper()
	return t.runStep(ctx, step, opts, true)
}

// commandEndedNonZero: kubectl reached the container, whose command ended
// non-zero (kubectl's own words for it).
func commandEndedNonZero(e *kubectl.Error) bool {
	return strings.Contains(e.Stderr, "command terminated with exit code")
}

// runStep runs a step once and fails the claim with kubectl's reason
// first, then the command: one line that says why. containerExit lets a
// container's command end non-zero.
func (t *T) runStep(ctx context.Context, step book.Step, opts []Option, containerExit bool) kubectl.Result {
	GinkgoHelper()
	kc, args := t.prepare(ctx, step, opts)
	By(kubectl.Line(args...))
	r, err := kc.Run(ctx, args...)
	var e *kubectl.Error
	switch {
	case err == nil:
	case containerExit && errors.As(err, &e) && commandEndedNonZero(e):
	case errors.As(err, &e):
		failBecause(LayerKubectl, fmt.Sprintf("%s (%s, exit %d)", e.Said(), kubectl.Line(args...), e.ExitCode))
	default:
		failBecause(LayerKubectl, fmt.Sprintf("%s: %v", kubectl.Line(args...), err))
	}
	return r
}

// Try runs one of the claim's steps and returns what kubectl said, failing
// nothing: for a step repeated until the cluster shows what it should.
func (t *T) Try(ctx context.Context, step book.Step, opts ...Option) (kubectl.Result, error) {
	GinkgoHelper()
	kc, args := t.prepare(ctx, step, opts)
	return kc.Run(ctx, args...)
}

// Forward runs one of the claim's port-forward steps for the rest of the
// claim and returns once kubectl listens.
func (t *T) Forward(ctx context.Context, step book.Step, opts ...Option) *forward.Session {
	GinkgoHelper()
	kc, args := t.prepare(ctx, step, opts)
	if len(args) < 3 || args[0] != "port-forward" {
		failBecause(LayerSuite, fmt.Sprintf("step %q is not kubectl port-forward TARGET PORTS", step.Book))
	}
	target := args[len(args)-2]
	By(kubectl.Line(args...))
	s, err := forward.Start(ctx, kc, target, args, t.timeouts.PortForward)
	if err != nil {
		// kubectl's own words lead: the API server's or the kubelet's.
		failBecause(LayerPortForward, err.Error())
	}
	DeferCleanup(s.Close)
	return s
}

// AppMustListen waits, after a container was replaced, until the app in
// the new one answers on the port a port-forward step forwards, asking
// through forwards of its own started from the same step. The kubelet
// calls a container Ready once its process started, before the app may
// listen, and kubectl port-forward ends at the first connection the Pod
// refuses: a claim's own forward must not be the one that finds out.
// Any HTTP answer counts: the claim reads the page itself.
func (t *T) AppMustListen(ctx context.Context, step book.Step, opts ...Option) {
	GinkgoHelper()
	kc, args := t.prepare(ctx, step, opts)
	if len(args) < 3 || args[0] != "port-forward" {
		failBecause(LayerSuite, fmt.Sprintf("step %q is not kubectl port-forward TARGET PORTS", step.Book))
	}
	target := args[len(args)-2]
	var last string
	Eventually(ctx, func() error {
		s, err := forward.Start(ctx, kc, target, args, t.timeouts.PortForward)
		if err != nil {
			last = err.Error()
			return err
		}
		defer s.Close()
		_, err = forward.Get(ctx, s, "/", t.timeouts.PortForward/4)
		if err != nil {
			last = s.Problem()
			if last == "" {
				last = err.Error()
			}
		}
		return err
	}).WithTimeout(t.timeouts.PortForward).WithPolling(t.timeouts.Poll).Should(Succeed(), because(LayerPortForward, func() string {
		return fmt.Sprintf("%s: nothing answers through `%s` in the new container", last, kubectl.Line(args...))
	}))
}

// prepare is the kubectl and the arguments a step runs with; it records
// the step as it runs, once however often it is repeated.
func (t *T) prepare(ctx context.Context, step book.Step, opts []Option) (kubectl.Kubectl, []string) {
	GinkgoHelper()
	var r stepRun
	for _, o := range opts {
		o(&r)
	}
	if !t.lists(step) {
		failBecause(LayerSuite, fmt.Sprintf("step `%s` is not one the claim lists: list it in the claim's Steps", step.Book))
	}
	args, err := step.Args(r.put)
	if err != nil {
		failBecause(LayerSuite, err.Error())
	}
	var why []string
	for _, s := range step.Subs {
		why = append(why, s.Why)
	}
	args, replaced := t.replaceImages(args)
	if replaced != "" {
		why = append(why, replaced)
	}
	kc := t.kc
	kc.Dir = r.dir
	if kc.Dir == "" && usesManifest(t.chapter, args) {
		kc.Dir = t.manifestDir(ctx)
	}
	t.record(Ran{Book: step.Book, Ran: kubectl.Line(args...), Why: strings.Join(why, "; ")})
	return kc, args
}

// record adds a step as it ran to the claim's report, once.
func (t *T) record(r Ran) {
	if slices.Contains(t.ran, r) {
		return
	}
	if words, err := book.Words(r.Book); err == nil && r.Why == "" {
		if got, err := book.Words(r.Ran); err == nil && slices.Equal(words, got) {
			r.Ran = r.Book
		}
	}
	t.ran = append(t.ran, r)
	AddReportEntry(report.RanEntry, r.JSON())
}

// replaceImages swaps the chapter's images in --image=REF for what
// E2E_REPLACE_IMAGES gives, and says so.
func (t *T) replaceImages(args []string) ([]string, string) {
	var said []string
	out := slices.Clone(args)
	for i, a := range out {
		ref, ok := strings.CutPrefix(a, "--image=")
		if !ok {
			continue
		}
		if to := t.image(ref); to != ref {
			out[i] = "--image=" + to
			said = append(said, ref+" replaced by "+to+" (E2E_REPLACE_IMAGES)")
		}
	}
	return out, strings.Join(said, "; ")
}

// usesManifest says the arguments read one of the chapter's manifests by
// its path in the chapter's folder (kubectl apply -f pod.yaml).
func usesManifest(ch *Chapter, args []string) bool {
	for i, a := range args {
		if (a == "-f" || a == "--filename") && i+1 < len(args) {
			for _, o := range ch.Objects {
				if args[i+1] == o.File {
					return true
				}
			}
		}
	}
	return false
}

// RunUntil runs one of the claim's steps again, every poll, until what it
// prints (as Transform makes it, or its lines) matches, within limit; it
// fails with what the step printed last, led by what: the book's command
// repeated, as a reader would, until the cluster shows what it should.
func (t *T) RunUntil(ctx context.Context, step book.Step, limit time.Duration, what string, m gtypes.GomegaMatcher) kubectl.Result {
	GinkgoHelper()
	return t.until(ctx, step, limit, what, m, false)
}

// ExecUntil is RunUntil for a `kubectl exec` step whose command may end
// non-zero and still have printed what the claim reads, as Exec: a Service
// name, say, that CoreDNS answers only once its watch has the Service.
func (t *T) ExecUntil(ctx context.Context, step book.Step, limit time.Duration, what string, m gtypes.GomegaMatcher) kubectl.Result {
	GinkgoHelper()
	return t.until(ctx, step, limit, what, m, true)
}

func (t *T) until(ctx context.Context, step book.Step, limit time.Duration, what string, m gtypes.GomegaMatcher, containerExit bool) kubectl.Result {
	GinkgoHelper()
	var last kubectl.Result
	Eventually(ctx, func() ([]string, error) {
		var err error
		last, err = t.Try(ctx, step)
		var e *kubectl.Error
		switch {
		case !containerExit || err == nil:
		case errors.As(err, &e) && commandEndedNonZero(e):
			err = nil
		case errors.As(err, &e):
			// kubectl did not reach the container: asking again will
			// not make the cluster answer, so its reason ends the claim.
			stopBecause(LayerKubectl, fmt.Sprintf("%s (%s, exit %d)", e.Said(), step.Book, e.ExitCode))
		}
		return Lines(last.Stdout), err
	}).WithTimeout(limit).WithPolling(t.timeouts.Poll).Should(m, because(LayerClaim, func() string {
		return fmt.Sprintf("%s: `%s` printed %q", what, step.Book, strings.Join(append(Lines(last.Stdout), Lines(last.Stderr)...), " | "))
	}))
	return last
}
