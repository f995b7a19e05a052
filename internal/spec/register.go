package spec

import (
	"context"
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubectl"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

// T is what one claim's body (or one fixture's set-up) works with: the
// run, the namespace it owns, kubectl in it, and the steps it has run.
type T struct {
	*Suite
	chapter *Chapter
	claim   *Claim // nil in a fixture's set-up
	ns      string
	kc      kubectl.Kubectl
	shared  any
	dir     string // the chapter's manifests, as kubectl apply -f reads them
	// steps are the steps this T may run; ran records each as it ran.
	steps []book.Step
	ran   []Ran
}

// Namespace is the namespace the claim (or its fixture) owns.
func (t *T) Namespace() string { return t.ns }

// Kubectl is kubectl in that namespace, for reads that are not the book's.
func (t *T) Kubectl() kubectl.Kubectl { return t.kc }

// Shared is what the fixture the claim shares made.
func (t *T) Shared() any { return t.shared }

// Chapter is the chapter the claim belongs to.
func (t *T) Chapter() *Chapter { return t.chapter }

// register declares every chapter's claims as specs, generically: a claim
// of its own is one It, in a namespace of its own; the claims that share a
// fixture are one Ordered container that makes the fixture first. A claim
// left for later is listed by the verdict, not run.
func (k *Suite) register(chs []*Chapter) {
	for _, ch := range chs {
		var groups []*Fixture
		for i := range ch.Claims {
			c := &ch.Claims[i]
			switch {
			case c.Later != "":
			case c.Shares == nil:
				k.claimSpec(ch, c, func() *T { return k.newT(ch, c, nil) })
			case !slices.Contains(groups, c.Shares):
				groups = append(groups, c.Shares)
			}
		}
		for _, f := range groups {
			k.fixtureSpecs(ch, f)
		}
	}
}

// fixtureSpecs is one fixture and the claims that share it.
func (k *Suite) fixtureSpecs(ch *Chapter, f *Fixture) {
	Describe(f.Name, Ordered, ContinueOnFailure, SpecPriority(f.Priority), func() {
		var setup *T
		BeforeAll(func(ctx SpecContext) {
			setup = k.newT(ch, nil, f)
			k.mustOffer(f.Needs)
			k.mustWork(ctx, f.Needs)
			setup.ns, setup.kc = k.namespace(ctx, f.Namespace)
			setup.shared = f.Setup(ctx, setup)
		}, NodeTimeout(k.timeouts.Chapter))
		for i := range ch.Claims {
			c := &ch.Claims[i]
			if c.Shares != f || c.Later != "" {
				continue
			}
			k.claimSpec(ch, c, func() *T {
				t := k.newT(ch, c, f)
				t.ns, t.kc, t.shared, t.dir = setup.ns, setup.kc, setup.shared, setup.dir
				// The fixture's commands are this claim's first steps; the
				// claim whose report BeforeAll ran in has them already.
				had := map[string]bool{}
				for _, e := range CurrentSpecReport().ReportEntries {
					if e.Name == report.RanEntry {
						had[e.Value.String()] = true
					}
				}
				for _, r := range setup.ran {
					if !had[r.JSON()] {
						AddReportEntry(report.RanEntry, r.JSON())
					}
				}
				return t
			})
		}
		for _, ic := range f.Images {
			k.imageCheck(ch.ID, ic.Ref, func(ctx context.Context) *corev1.Pod { return ic.Of(ctx, setup) })
		}
	})
}

// claimSpec is the It that proves one claim: its text and labels from the
// claim, its needs checked first, and every step it declares run by the
// time it ends.
func (k *Suite) claimSpec(ch *Chapter, c *Claim, newT func() *T) {
	labels := append([]string{ch.ID}, c.Labels...)
	It(book.ClaimPrefix(c.ID)+c.Says, Label(labels...), SpecPriority(c.Priority), func(ctx SpecContext) {
		k.mustOffer(c.Needs)
		k.mustWork(ctx, c.Needs)
		t := newT()
		if c.Shares == nil {
			t.ns, t.kc = k.namespace(ctx, namespacePrefix(c.ID))
		}
		c.Body(ctx, t)
		var missed []string
		for _, s := range c.Steps {
			if !slices.ContainsFunc(t.ran, func(r Ran) bool { return r.Book == s.Book }) {
				missed = append(missed, "`"+s.Book+"`")
			}
		}
		if len(missed) > 0 {
			failBecause(LayerSuite, fmt.Sprintf("claim %s lists steps its body never ran: %s", c.ID, strings.Join(missed, ", ")))
		}
	}, SpecTimeout(k.timeouts.Chapter))
}

// newT is a T for a claim (or, with claim nil, a fixture's set-up).
func (k *Suite) newT(ch *Chapter, c *Claim, f *Fixture) *T {
	t := &T{Suite: k, chapter: ch, claim: c}
	if f != nil && c == nil {
		t.steps = f.Steps
	}
	if c != nil {
		t.steps = c.Steps
	}
	return t
}

// namespacePrefix is a claim's name, as a namespace prefix: "self-healing".
func namespacePrefix(id string) string {
	_, name, _ := strings.Cut(id, "/")
	return name
}
