package spec

import (
	"encoding/json"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
)

// Progress is one line of E2E_PROGRESS: a spec that has just ended, in
// whichever process ran it. Under ginkgo -p the processes' own output is
// held back until the end; this file is how a runner shows the run moving.
type Progress struct {
	Claim string        `json:"claim"` // the claim's ID, or the spec's text for a cluster check
	State string        `json:"state"` // passed, failed, skipped, ...
	Took  time.Duration `json:"took"`
}

// reportProgress appends a line for each spec as it ends, when the run
// asks for them.
func (k *Suite) reportProgress() {
	if k.settings.Progress == "" {
		return
	}
	ReportAfterEach(func(r SpecReport) {
		p := Progress{Claim: book.ClaimIDOf(r.LeafNodeText), State: r.State.String(), Took: r.RunTime}
		if p.Claim == "" {
			p.Claim = r.FullText()
		}
		line, err := json.Marshal(p)
		if err != nil {
			return
		}
		// One write of one short line with O_APPEND: lines from parallel
		// processes never interleave.
		f, err := os.OpenFile(k.settings.Progress, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = f.Write(append(line, '\n'))
	})
}
