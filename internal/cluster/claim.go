package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Claim is a live run's hold on a cluster name on this machine: an exclusive
// lock on a file named after the cluster (flock on Unix, LockFileEx on
// Windows). The system drops it when the process ends, however it ends, so
// a killed run never leaves a stale claim, and no check of process IDs can
// mistake another process for the owner.
type Claim struct {
	Name string
	f    *os.File
}

// holder is what the claim file says about the run holding it, for the one
// line a second run prints.
type holder struct {
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
	Run   string    `json:"run"`
}

// errHeld is lock's answer when another process holds the lock.
var errHeld = errors.New("the lock is held")

// ErrInUse says another live run holds the cluster name.
var ErrInUse = errors.New("in use by another run")

// claimDir is machine-wide, not in the cache: two runs with different
// KIAMOL_E2E_CACHE still share Docker, so they must see each other's claims.
func claimDir() string {
	if st, err := os.Stat("/run/lock"); err == nil && st.IsDir() {
		if d := "/run/lock/kiamol-e2e"; os.MkdirAll(d, 0o1777) == nil {
			return d
		}
	}
	d := filepath.Join(os.TempDir(), "kiamol-e2e-claims")
	_ = os.MkdirAll(d, 0o1777)
	return d
}

// Take claims cluster name for this process, or says which run holds it.
func Take(name, runID string) (*Claim, error) {
	path := filepath.Join(claimDir(), name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("cannot claim cluster %q: %w", name, err)
	}
	if err := lock(f); err != nil {
		defer f.Close()
		if errors.Is(err, errHeld) {
			var h holder
			raw, _ := os.ReadFile(path)
			who := "another run"
			if json.Unmarshal(raw, &h) == nil && h.PID > 0 {
				who = fmt.Sprintf("the run with pid %d (since %s)", h.PID, h.Since.Local().Format("15:04:05"))
			}
			return nil, fmt.Errorf("cluster %q is %w on this machine: %s is using it; wait for it to end, or set E2E_CLUSTER_NAME to run beside it", name, ErrInUse, who)
		}
		return nil, fmt.Errorf("cannot claim cluster %q: %w", name, err)
	}
	raw, _ := json.Marshal(holder{PID: os.Getpid(), Since: time.Now(), Run: runID})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(raw, 0)
	}
	return &Claim{Name: name, f: f}, nil
}

// Release gives the name up; the file stays (removing it would race with a
// run opening it).
func (c *Claim) Release() {
	if c == nil || c.f == nil {
		return
	}
	_ = c.f.Truncate(0)
	unlock(c.f)
	_ = c.f.Close()
	c.f = nil
}
