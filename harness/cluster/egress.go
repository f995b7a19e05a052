package cluster

// The egress guard keeps an air-gapped cluster's traffic on this machine: the
// host refuses whatever the cluster's bridge would forward anywhere but back
// into that same bridge, whichever interface the default route uses today.
//
// It refuses (REJECT: an ICMP "port unreachable" back to the sender, from
// this host) rather than drops: a connection that nothing answers waits out
// its timeout, and one such is in every new cluster. CoreDNS's first call to
// the API's Service address (10.96.0.1) can leave its Pod before kube-proxy
// has written the Service's rules; routed to the default gateway it met the
// guard, and dropped, it hung for 30 s (client-go's dial timeout, the
// connection held un-NATed by conntrack all that time) before CoreDNS
// tried again and turned Ready. Refused, it fails at once and the retry
// finds the rules. Nothing is sent anywhere either way.

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// GuardChain is Docker's hook for user rules on forwarded traffic; Docker
// evaluates it before its own rules and never flushes it.
const GuardChain = "DOCKER-USER"

// GuardRule is the guard for a bridge: refuse what enters from it and would
// leave by any other interface.
func GuardRule(bridge string) []string {
	return guardRule(bridge, "REJECT")
}

// guardRule is the guard with its target: REJECT now; DROP was the guard
// of earlier versions, which a cluster kept from one of them may still
// have, and which its teardown removes too.
func guardRule(bridge, target string) []string {
	return []string{"-i", bridge, "!", "-o", bridge, "-m", "comment", "--comment", "kiamol-e2e egress guard", "-j", target}
}

// GuardPresent says whether the guard for bridge is in place.
func GuardPresent(ctx context.Context, bridge string) (bool, error) {
	return rulePresent(ctx, GuardRule(bridge))
}

func rulePresent(ctx context.Context, rule []string) (bool, error) {
	if _, err := exec.LookPath("iptables"); err != nil {
		return false, fmt.Errorf("iptables is not installed: the egress guard cannot be checked")
	}
	args := append([]string{"-w", "-C", GuardChain}, rule...)
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

// removeGuard takes the guard out again (all copies, and an earlier
// version's DROP guard for the same bridge).
func removeGuard(ctx context.Context, bridge string) error {
	for _, rule := range [][]string{GuardRule(bridge), guardRule(bridge, "DROP")} {
		for {
			ok, err := rulePresent(ctx, rule)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			args := append([]string{"-w", "-D", GuardChain}, rule...)
			if out, err := exec.CommandContext(ctx, "iptables", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("iptables -D %s: %s", GuardChain, strings.TrimSpace(string(out)))
			}
		}
	}
	return nil
}
