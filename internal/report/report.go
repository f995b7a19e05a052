// Package report is what the suite writes into Ginkgo's report for the
// verdict to read: the names of its report entries and the structured
// values some of them carry. The suite writes them as it runs; the verdict
// reads them as they were written, and parses no sentence.
package report

import "encoding/json"

// The report entries the suite writes.
const (
	// RanEntry is one of the book's commands as a claim ran it (Ran).
	RanEntry = "ran"
	// CauseEntry is why a spec failed (Cause); the first one is the spec's.
	CauseEntry = "cause"
	// PathEntry says how a claim that depends on the cluster's shape reached
	// what it needed (self-healing: this machine's access to the node's
	// runtime, or a Pod on the node).
	PathEntry = "path"
	// CleanupEntry is a clean-up left undone: the cluster still removing the
	// run's namespaces at its end, a temporary folder that could not go.
	CleanupEntry = "cleanup"
)

// Ran is one of the book's commands as a claim ran it.
type Ran struct {
	Book string `json:"book"`
	Ran  string `json:"ran"`
	// Why says why Ran differs from Book; "" when it does not.
	Why string `json:"why,omitempty"`
}

// JSON is the entry's value.
func (r Ran) JSON() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// ParseRan reads a RanEntry's value.
func ParseRan(s string) (Ran, bool) {
	var r Ran
	return r, json.Unmarshal([]byte(s), &r) == nil && r.Book != ""
}

// Line is the command as it ran, with the book's form beside it where they
// differ.
func (r Ran) Line() string {
	if r.Ran == r.Book {
		return r.Ran
	}
	return r.Ran + "   [book: " + r.Book + "; " + r.Why + "]"
}

// Cause is why a spec failed, said by the layer that found it.
type Cause struct {
	// Layer is where the cause was found: LayerCluster, LayerKubectl, ...
	Layer string `json:"layer"`
	// Reason is the one line, leading with the reason.
	Reason string `json:"reason"`
}

// The layers a cause comes from.
const (
	// LayerCluster: what the cluster showed (a Pod's, a controller's or a
	// node's state; the control plane's health).
	LayerCluster = "cluster"
	// LayerKubectl: kubectl's own words for a command that failed.
	LayerKubectl = "kubectl"
	// LayerPortForward: a forward, or what came through it.
	LayerPortForward = "port-forward"
	// LayerRuntime: the node's container runtime.
	LayerRuntime = "runtime"
	// LayerClaim: what a claim's body found not as the book says.
	LayerClaim = "claim"
	// LayerSuite: the suite's own set-up or its descriptors.
	LayerSuite = "suite"
)

// JSON is the entry's value.
func (c Cause) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// ParseCause reads a CauseEntry's value.
func ParseCause(s string) (Cause, bool) {
	var c Cause
	return c, json.Unmarshal([]byte(s), &c) == nil && c.Reason != ""
}
