package settings

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// EnvTimeoutScale multiplies every bound in Timeouts: a slow cluster (a
// loaded laptop, a cloud cluster far away, nested virtualisation) sets it,
// e.g. 2, rather than editing any one wait.
const EnvTimeoutScale = "E2E_TIMEOUT_SCALE"

// Timeouts are every bound the suite waits under. Each is an upper bound
// for a busy 2-core CI runner with the whole suite running in parallel
// beside the cluster, never an expected duration: the measured figure next
// to each is what an idle run takes here.
type Timeouts struct {
	// ClusterUp bounds registry start plus kind's create, which returns once
	// the control plane is up (measured: 10-12 s; 20-40 s when it also
	// waited for a Ready node).
	ClusterUp time.Duration
	// NodeReady bounds every node's Ready condition, which the smoke spec
	// waits for while the chapter's specs run (measured: a few seconds
	// after kind returns).
	NodeReady time.Duration
	// SystemPods bounds kube-system pods Running after creation (measured:
	// +7 to +35 s).
	SystemPods time.Duration
	// PodReady bounds a chapter Pod's pull (Always, from the registry) and
	// start (measured: about 2 s; 8-15 s under four parallel processes).
	PodReady time.Duration
	// SelfHeal bounds a removed container's replacement becoming Ready
	// (measured: 1.3-3.7 s).
	SelfHeal time.Duration
	// Controller bounds a Deployment or ReplicaSet reacting to a change: a
	// replacement Pod created, a surplus one or a deleted owner's Pods gone
	// (measured: about 2 s).
	Controller time.Duration
	// PortForward bounds a forwarded GET answering, forwarder start included.
	PortForward time.Duration
	// Kubectl bounds one kubectl command (not port-forward), discovery
	// included (measured: 0.1-0.5 s).
	Kubectl time.Duration
	// RuntimeCall bounds one call to a node's container runtime (crictl's
	// own default is 2 s, which a loaded node exceeds when stopping a
	// container; measured here up to several seconds under load).
	RuntimeCall time.Duration
	// Chapter bounds a whole chapter spec; Spec a whole cluster check.
	Chapter time.Duration
	Spec    time.Duration
	// ClusterDown bounds deletion of the cluster, registry and network.
	ClusterDown time.Duration
	// Poll is how often every wait looks again; client-go rate-limits
	// faster polls, and slower ones only add latency.
	Poll time.Duration
	// Scale is the factor the bounds above were multiplied by.
	Scale float64
}

// DefaultTimeouts are the bounds for a 2-core runner at scale 1.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		ClusterUp:   5 * time.Minute,
		NodeReady:   2 * time.Minute,
		SystemPods:  3 * time.Minute,
		PodReady:    90 * time.Second,
		SelfHeal:    90 * time.Second,
		Controller:  90 * time.Second,
		PortForward: 60 * time.Second,
		Kubectl:     60 * time.Second,
		RuntimeCall: 60 * time.Second,
		Chapter:     5 * time.Minute,
		Spec:        5 * time.Minute,
		ClusterDown: 3 * time.Minute,
		Poll:        250 * time.Millisecond,
		Scale:       1,
	}
}

// TimeoutsFromEnv are the defaults scaled by E2E_TIMEOUT_SCALE (Poll is not
// scaled).
func TimeoutsFromEnv() (Timeouts, error) {
	t := DefaultTimeouts()
	raw := strings.TrimSpace(os.Getenv(EnvTimeoutScale))
	if raw == "" {
		return t, nil
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f < 1 || f > 100 {
		return t, fmt.Errorf("%s=%q is not a factor from 1 to 100 (e.g. 2 doubles every wait)", EnvTimeoutScale, raw)
	}
	return t.Scaled(f), nil
}

// Scaled multiplies every bound but Poll by f.
func (t Timeouts) Scaled(f float64) Timeouts {
	s := func(d *time.Duration) { *d = time.Duration(float64(*d) * f) }
	for _, d := range []*time.Duration{&t.ClusterUp, &t.NodeReady, &t.SystemPods, &t.PodReady, &t.SelfHeal, &t.Controller,
		&t.PortForward, &t.Kubectl, &t.RuntimeCall, &t.Chapter, &t.Spec, &t.ClusterDown} {
		s(d)
	}
	t.Scale *= f
	return t
}
