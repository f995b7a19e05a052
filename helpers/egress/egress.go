// Package egress keeps an air-gapped cluster's traffic on this machine: the
// host drops whatever the cluster's bridge would forward anywhere but back
// into that same bridge, whichever interface the default route uses today.
package egress

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Chain is Docker's hook for user rules on forwarded traffic; Docker
// evaluates it before its own rules and never flushes it.
const Chain = "DOCKER-USER"

// RuleSpec is the guard for a bridge: drop what enters from it and would
// leave by any other interface.
func RuleSpec(bridge string) []string {
	return []string{"-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", "kiamol-e2e egress guard", "-j", "DROP"}
}

// Present says whether the guard for bridge is in place.
func Present(ctx context.Context, bridge string) (bool, error) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return false, fmt.Errorf("iptables is not installed: the egress guard cannot be checked")
	}
	args := append([]string{"-w", "-C", Chain}, RuleSpec(bridge)...)
	out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput()
	if err == nil {
		return true, nil
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 && !strings.Contains(string(out), "No chain") {
		return false, nil
	}
	return false, fmt.Errorf("iptables -C %s: %s", Chain, strings.TrimSpace(string(out)))
}

// Ensure puts the guard first in DOCKER-USER unless it is already there.
func Ensure(ctx context.Context, bridge string) error {
	ok, err := Present(ctx, bridge)
	if err != nil || ok {
		return err
	}
	args := append([]string{"-w", "-I", Chain, "1"}, RuleSpec(bridge)...)
	if out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot install the egress guard (iptables -I %s): %s", Chain, strings.TrimSpace(string(out)))
	}
	return nil
}

// Remove takes the guard out again (all copies).
func Remove(ctx context.Context, bridge string) error {
	for {
		ok, err := Present(ctx, bridge)
		if err != nil || !ok {
			return err
		}
		args := append([]string{"-w", "-D", Chain}, RuleSpec(bridge)...)
		if out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables -D %s: %s", Chain, strings.TrimSpace(string(out)))
		}
	}
}
