package e2e

import "time"

// timeouts is every wait in the suite, in one place. Each is an upper bound
// for a healthy 2-core machine with headroom, not an expected duration.
var timeouts = struct {
	// ClusterUp bounds registry start plus `kind create cluster` with its wait
	// for a Ready node (measured here: 20-40 s).
	ClusterUp time.Duration
	// NodeReady bounds the node's Ready condition after creation.
	NodeReady time.Duration
	// SystemPods bounds kube-system pods Running after creation (measured:
	// +7 to +35 s).
	SystemPods time.Duration
	// PodReady bounds a chapter pod's pull (Always, from the mirror) and
	// start (measured: about 2 s).
	PodReady time.Duration
	// SelfHeal bounds a removed container's replacement becoming Ready
	// (measured: 1.9-3.7 s).
	SelfHeal time.Duration
	// Controller bounds a Deployment/ReplicaSet reacting to a change: a
	// replacement pod created, a surplus one deleted (measured: about 2 s).
	Controller time.Duration
	// PortForward bounds a forwarded GET answering.
	PortForward time.Duration
	// Chapter bounds a whole chapter spec.
	Chapter time.Duration
	// Poll is how often Eventually looks; client-go rate-limits faster polls.
	Poll time.Duration
	// Spec bounds a whole smoke spec.
	Spec time.Duration
	// ClusterDown bounds deletion of the cluster, registry and network.
	ClusterDown time.Duration
	// NamespacesGone bounds the run's namespaces leaving Terminating on a
	// cluster that stays (measured: a few seconds).
	NamespacesGone time.Duration
}{
	ClusterUp:      5 * time.Minute,
	NodeReady:      2 * time.Minute,
	SystemPods:     3 * time.Minute,
	PodReady:       60 * time.Second,
	SelfHeal:       60 * time.Second,
	Controller:     60 * time.Second,
	PortForward:    30 * time.Second,
	Chapter:        3 * time.Minute,
	Poll:           250 * time.Millisecond,
	Spec:           4 * time.Minute,
	ClusterDown:    2 * time.Minute,
	NamespacesGone: 90 * time.Second,
}
