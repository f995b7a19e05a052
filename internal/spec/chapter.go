package spec

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
)

// Chapter is a chapter of the book as the suite runs it: its data (book)
// and its claims, each one value with its body. The claims' data is the
// book.Chapter's Claims, filled from them by NewChapter.
type Chapter struct {
	*book.Chapter
	Claims []Claim
}

// Claim is one claim: what the book says (its ID, sentence, labels, needs
// and the book's commands as the steps its body runs) and the body that
// proves it.
type Claim struct {
	book.Claim
	// Shares is the fixture the claim reads, with the other claims that
	// share it; nil gives the claim a namespace of its own.
	Shares *Fixture
	// Body proves the claim. It runs the claim's Steps through t (t.Run,
	// t.Forward, t.RemoveContainer...): a claim that ends without having
	// run one of its steps fails.
	Body func(ctx SpecContext, t *T)
	// Priority orders the claim's spec under ginkgo -p (SpecPriority):
	// longer chains first.
	Priority int
}

// Fixture is what several claims that only read share: made once, in a
// namespace of its own, before the first of them (an Ordered container).
// Each claim still passes or fails on its own.
type Fixture struct {
	// Name heads the claims' container: "one Pod, read by each claim".
	Name string
	// Namespace is the prefix of the fixture's namespace.
	Namespace string
	// Steps are the book's commands Setup runs; they head the steps of
	// every claim that shares the fixture.
	Steps []book.Step
	// Needs are what the fixture needs of the cluster.
	Needs []book.Need
	// Setup makes the fixture; what it returns is t.Shared() in each
	// claim's body.
	Setup func(ctx SpecContext, t *T) any
	// Images are cluster checks read off the fixture: that each image
	// pulls untagged and runs, on the Pod Of gives.
	Images []ImageCheck
	// Priority orders the fixture among the chapter's specs under ginkgo -p
	// (SpecPriority): longer chains first.
	Priority int
}

// ImageCheck is the check that a chapter image pulls and runs, read off a
// Pod that runs it.
type ImageCheck struct {
	Ref string
	Of  func(ctx context.Context, t *T) *corev1.Pod
}

// NewChapter joins a chapter's data and its claims, in the book's order;
// a claim listed twice, or a malformed one, stops the suite from building.
func NewChapter(ch *book.Chapter, claims ...Claim) *Chapter {
	c := &Chapter{Chapter: ch, Claims: claims}
	ch.Claims = nil
	for _, cl := range claims {
		data := cl.Claim
		if cl.Shares != nil {
			data.Steps = append(append([]book.Step(nil), cl.Shares.Steps...), cl.Steps...)
			data.Needs = append(append([]book.Need(nil), cl.Shares.Needs...), cl.Needs...)
		}
		if cl.Body == nil && cl.Later == "" {
			panic(fmt.Sprintf("%s: claim %s has no body and says nothing of later", ch.ID, cl.ID))
		}
		ch.Claims = append(ch.Claims, data)
	}
	if err := ch.Validate(); err != nil {
		panic(err)
	}
	return c
}

// Books is the chapters' data, for what only reads about them.
func Books(chs []*Chapter) []*book.Chapter {
	out := make([]*book.Chapter, len(chs))
	for i, c := range chs {
		out[i] = c.Chapter
	}
	return out
}
