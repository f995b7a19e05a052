package spec

import (
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

// Cause is why a spec failed (report.Cause): the verdict's one line for
// the spec is its first one, read as it was written, never found in an
// assertion's text.
type Cause = report.Cause

// The layers a cause comes from.
const (
	LayerCluster     = report.LayerCluster
	LayerKubectl     = report.LayerKubectl
	LayerPortForward = report.LayerPortForward
	LayerRuntime     = report.LayerRuntime
	LayerClaim       = report.LayerClaim
	LayerSuite       = report.LayerSuite
)

// pending is the cause the suite's own code gave for the failure Gomega or
// Ginkgo is about to report: one process runs one node at a time.
var pending struct {
	sync.Mutex
	cause *Cause
}

func setPending(c Cause) {
	pending.Lock()
	pending.cause = &c
	pending.Unlock()
}

func takePending() *Cause {
	pending.Lock()
	defer pending.Unlock()
	c := pending.cause
	pending.cause = nil
	return c
}

// failBecause fails the current spec with a cause the suite's code knows:
// its report carries it as written.
func failBecause(layer, reason string) {
	GinkgoHelper()
	setPending(Cause{Layer: layer, Reason: reason})
	fail(reason)
}

// stopBecause ends an Eventually at once, with a cause.
func stopBecause(layer, reason string) {
	setPending(Cause{Layer: layer, Reason: reason})
	StopTrying(reason).Now()
}

// because is an Eventually's description that, when the wait fails, is
// also the failure's cause: Gomega asks for it only then. A cause given
// as the wait was stopped (stopBecause) comes first.
func because(layer string, why func() string) func() string {
	return func() string {
		r := why()
		pending.Lock()
		if pending.cause == nil {
			pending.cause = &Cause{Layer: layer, Reason: r}
		}
		pending.Unlock()
		return r
	}
}

// Because is because for a claim's own waits: the cause is the claim's.
func Because(why func() string) func() string { return because(LayerClaim, why) }

// fail is the fail handler of the run: every failure, Gomega's or the
// suite's, leaves a cause entry in the spec's report; one the suite's code
// gave is taken as it is, any other is the assertion's own message (a
// description leads it), said by the claim.
func fail(message string, callerSkip ...int) {
	skip := 1
	if len(callerSkip) > 0 {
		skip += callerSkip[0]
	}
	c := takePending()
	if c == nil {
		c = &Cause{Layer: LayerClaim, Reason: message}
	}
	AddReportEntry(report.CauseEntry, c.JSON(), ReportEntryVisibilityNever)
	Fail(message, skip)
}
