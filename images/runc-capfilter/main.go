// Command runc-capfilter is an OCI runtime shim for hosts whose capability
// bounding set is narrower than the full list (here: no CAP_SYS_RESOURCE).
//
// Docker's --privileged asks runc for every capability it knows; runc then
// fails with "unable to apply caps: operation not permitted" because a
// process can never gain a capability outside its bounding set. This shim
// drops exactly those capabilities from the container's config.json (create,
// run) or process.json (exec) and then execs the real runc, so the container
// still gets everything the host can actually grant.
//
// The same missing capability stops a process from lowering its OOM score
// below its own: the kubelet's dockershim asks for -998 on every Pod's
// sandbox, and runc then dies with "can't get final child's PID from pipe".
// The shim raises such a request to the caller's own score, which is what
// containerd's restrict_oom_score_adj does for the containerd nodes.
//
// It is host set-up, registered by hack/host-setup.sh as dockerd's default
// runtime; nothing in the suite calls it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/kiamol-e2e/kiamol-e2e/internal/nodehost"
)

const defaultRealRunc = "/usr/sbin/runc"

func main() {
	real := os.Getenv("RUNC_CAPFILTER_REAL")
	if real == "" {
		real = defaultRealRunc
	}
	lim, err := hostLimits()
	if err == nil {
		err = filterFor(os.Args[1:], lim)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfilter: %v\n", err)
		os.Exit(1)
	}
	argv := append([]string{real}, os.Args[1:]...)
	if err := syscall.Exec(real, argv, os.Environ()); err != nil {
		fmt.Fprintf(os.Stderr, "runc-capfilter: exec %s: %v\n", real, err)
		os.Exit(1)
	}
}

// limits is what this process may grant a container.
type limits struct {
	bounding uint64 // the capability bounding set
	oomFloor int    // the lowest OOM score adjustment it may ask for
}

func (l limits) has(capability uint) bool { return l.bounding&(1<<capability) != 0 }

// filterFor rewrites the JSON file the runc command line points at, if any.
func filterFor(args []string, lim limits) error {
	sub, rest := subcommand(args)
	switch sub {
	case "create", "run":
		bundle := flagValue(rest, "bundle", "b")
		if bundle == "" {
			bundle = "."
		}
		return rewrite(bundle+"/config.json", lim, func(doc map[string]any) map[string]any {
			if p, ok := doc["process"].(map[string]any); ok {
				return p
			}
			return nil
		})
	case "exec":
		if path := flagValue(rest, "process", "p"); path != "" {
			return rewrite(path, lim, func(doc map[string]any) map[string]any { return doc })
		}
	}
	return nil
}

// subcommand skips runc's global flags. Every global flag that takes a value
// is listed here; boolean ones stand alone.
func subcommand(args []string) (string, []string) {
	valued := map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return a, args[i+1:]
		}
		if valued[a] {
			i++
		}
	}
	return "", nil
}

func flagValue(args []string, long, short string) string {
	for i, a := range args {
		for _, name := range []string{"--" + long, "-" + long, "-" + short} {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
			if strings.HasPrefix(a, name+"=") {
				return strings.TrimPrefix(a, name+"=")
			}
		}
	}
	return ""
}

func rewrite(path string, lim limits, process func(map[string]any) map[string]any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	p := process(doc)
	if p == nil {
		return nil
	}
	changed := false
	if adj, ok := p["oomScoreAdj"].(float64); ok && !lim.has(capSysResource) && int(adj) < lim.oomFloor {
		p["oomScoreAdj"] = lim.oomFloor
		changed = true
	}
	caps, _ := p["capabilities"].(map[string]any)
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(list))
		for _, c := range list {
			name, _ := c.(string)
			if n, known := nodehost.CapNumber(name); known && !lim.has(n) {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[set] = kept
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

const capSysResource = 24

func hostLimits() (limits, error) {
	bounding, err := boundingSet()
	if err != nil {
		return limits{}, err
	}
	raw, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return limits{}, err
	}
	floor, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return limits{}, fmt.Errorf("/proc/self/oom_score_adj: %w", err)
	}
	return limits{bounding: bounding, oomFloor: floor}, nil
}

func boundingSet() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "CapBnd:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapBnd line in /proc/self/status")
}
