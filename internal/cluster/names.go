package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Names are what an air-gapped cluster has on this machine besides its
// nodes. Each derives from the cluster's name, so runs with different
// E2E_CLUSTER_NAME values never share (or delete) one another's.
type Names struct {
	Cluster  string // the kind cluster
	Network  string // its Docker network
	Bridge   string // the network's Linux bridge, which the egress guard names
	Registry string // the local registry's container
}

// OwnerLabel marks every container and network the suite creates, with the
// cluster it belongs to as value: nothing without it is ever removed.
const OwnerLabel = "io.kiamol-e2e.owned"

// maxBridge is Linux's limit on an interface name (IFNAMSIZ less the NUL).
const maxBridge = 15

// NamesFor derives the names for cluster. The default cluster keeps the
// names earlier versions used (network kiamol-e2e, bridge kiamol-e2e0).
func NamesFor(cluster string) Names {
	network := cluster
	if !strings.HasPrefix(cluster, "kiamol-e2e") {
		network = "kiamol-e2e-" + cluster
	}
	bridge := network + "0"
	if len(bridge) > maxBridge {
		// Readable names do not fit; a hash of the cluster's name does, and
		// cannot collide with a readable one (those start with kiamol-e2e).
		sum := sha256.Sum256([]byte(cluster))
		bridge = "ke2e-" + hex.EncodeToString(sum[:4])
	}
	return Names{Cluster: cluster, Network: network, Bridge: bridge, Registry: network + "-registry"}
}
