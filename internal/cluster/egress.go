package cluster

// The egress guard keeps an air-gapped cluster's traffic on this machine: the
// host drops whatever the cluster's bridge would forward anywhere but back
// into that same bridge, whichever interface the default route uses today.

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// GuardChain is Docker's hook for user rules on forwarded traffic; Docker
// evaluates it before its own rules and never flushes it.
const GuardChain = "DOCKER-USER"

// GuardRule is the guard for a bridge: drop what enters from it and would
// leave by any other interface.
func GuardRule(bridge string) []string {
	return []string{"-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", "kiamol-e2e egress guard", "-j", "DROP"}
}

// GuardPresent says whether the guard for bridge is in place.
func GuardPresent(ctx context.Context, bridge string) (bool, error) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return false, fmt.Errorf("iptables is not installed: the egress guard cannot be checked")
	}
	args := append([]string{"-w", "-C", GuardChain}, GuardRule(bridge)...)
	out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput()
	if err == nil {
		return true, nil
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 && !strings.Contains(string(out), "No chain") {
		return false, nil
	}
	return false, fmt.Errorf("iptables -C %s: %s", GuardChain, strings.TrimSpace(string(out)))
}

// ensureGuard puts the guard first in DOCKER-USER unless it is already there.
func ensureGuard(ctx context.Context, bridge string) error {
	ok, err := GuardPresent(ctx, bridge)
	if err != nil || ok {
		return err
	}
	args := append([]string{"-w", "-I", GuardChain, "1"}, GuardRule(bridge)...)
	if out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot install the egress guard (iptables -I %s): %s", GuardChain, strings.TrimSpace(string(out)))
	}
	return nil
}

// removeGuard takes the guard out again (all copies).
func removeGuard(ctx context.Context, bridge string) error {
	for {
		ok, err := GuardPresent(ctx, bridge)
		if err != nil || !ok {
			return err
		}
		args := append([]string{"-w", "-D", GuardChain}, GuardRule(bridge)...)
		if out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -D %s: %s", GuardChain, strings.TrimSpace(string(out)))
		}
	}
}
