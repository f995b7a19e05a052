package containerruntime

import (
	"fmt"
	"regexp"

	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// Way is how a claim reaches the container runtime of a Pod's node.
type Way int

const (
	// FromHost is this machine's own access: crictl (or the node's docker)
	// inside a kind node container on this machine's Docker, or this
	// machine's Docker itself when it holds the Pod's container (Docker
	// Desktop in its kubeadm mode).
	FromHost Way = iota + 1
	// FromNode is a privileged Pod on the node (kubectl debug node/...
	// --profile=sysadmin) running the node's own runtime tool under chroot.
	FromNode
	// NotAsked: the runtime is not asked. The self-healing claims are then
	// skipped (INCOMPLETE), 2.1/container-id checks what the API shows only;
	// either says why.
	NotAsked
	// Unreachable: the runtime must be asked (the suite's own cluster) and
	// cannot be: the claim fails.
	Unreachable
)

func (w Way) String() string {
	switch w {
	case FromHost:
		return "host runtime"
	case FromNode:
		return "node pod"
	case NotAsked:
		return "not asked"
	case Unreachable:
		return "unreachable"
	}
	return fmt.Sprintf("Way(%d)", int(w))
}

// Reach is what this machine reaches of a Pod's node's runtime, as Probe
// finds it. The zero value is a machine whose Docker answers and reaches
// nothing of the node.
type Reach struct {
	// NoDocker says why this machine's Docker engine does not answer; ""
	// when it does.
	NoDocker string
	// KindNode: the Pod's node is a kind node container on that Docker.
	KindNode bool
	// DockerHolds: that Docker holds the Pod's docker:// container itself.
	DockerHolds bool
}

// Situation is everything the choice of a way depends on.
type Situation struct {
	Mode string // settings.SelfHealAuto, SelfHealHost or SelfHealNode
	// Own: the suite's own kind cluster (made by this run, or kept by an
	// earlier run on this machine), where what the suite controls must work.
	Own    bool
	Node   string // the Pod's node, for the words
	Scheme string // the runtime the Pod's containerID names: containerd, docker, ...
	Reach  Reach
}

// Path is the way chosen, and why.
type Path struct {
	Way Way
	// Tool is the runtime's tool for FromHost (crictl or docker); InNode
	// runs it inside the kind node container rather than on this machine.
	Tool   string
	InNode bool
	// Why is one line for the claim: the reason for a node Pod, for
	// a skip, for an API-only check, or for a failure.
	Why string
}

// OptInFlags are what a reader passes to allow a privileged Pod on the
// node, in the binary and in make.
const OptInFlags = "--self-heal=node (make: SELF_HEAL=node)"

// nodeTools are the runtimes whose tool the node-pod scripts know.
func nodeTools(scheme string) bool { return scheme == "containerd" || scheme == "docker" }

// Decide chooses how a claim reaches the Pod's node's runtime. On a cluster
// the suite did not make it never chooses a privileged Pod unless the
// reader asked for one (SelfHealNode); on the suite's own cluster, where
// the runtime must be reached, auto falls back to one. Each Why leads with
// the reason and names the flag early: the verdict shortens a long line at
// its end.
func Decide(s Situation) Path {
	host, detail := fromHost(s)
	switch s.Mode {
	case settings.SelfHealNode:
		if nodeTools(s.Scheme) {
			return Path{Way: FromNode, Why: "asked for by " + OptInFlags}
		}
		return notReached(s.Own, fmt.Sprintf("a privileged Pod on the node knows no tool for a %q runtime", s.Scheme))
	case settings.SelfHealHost:
		if host.Way == FromHost {
			return host
		}
		return notReached(s.Own, host.Why+"; --self-heal=host starts no Pod on the node"+detail)
	}
	if host.Way == FromHost {
		return host
	}
	switch {
	case s.Own && nodeTools(s.Scheme):
		return Path{Way: FromNode, Why: "the suite's own cluster, and " + host.Why + detail}
	case !nodeTools(s.Scheme):
		return notReached(s.Own, host.Why+fmt.Sprintf("; nor would a Pod on the node know a tool for a %q runtime", s.Scheme)+detail)
	}
	return Path{Way: NotAsked, Why: host.Why + "; pass " + OptInFlags + " to allow a privileged Pod on node " + s.Node +
		" (kubectl debug node/" + s.Node + " --profile=sysadmin) that reaches it" + detail}
}

// notReached is a runtime the claim cannot reach: a failure on the suite's
// own cluster, where it must, else not asked.
func notReached(own bool, why string) Path {
	if own {
		return Path{Way: Unreachable, Why: why}
	}
	return Path{Way: NotAsked, Why: why}
}

// fromHost is this machine's own way to the runtime, or NotAsked with why
// there is none, in a few words, and the detail ("; ..." or "") for the
// end of the line.
func fromHost(s Situation) (Path, string) {
	notHere := func(why string) Path {
		return Path{Way: NotAsked, Why: "this machine does not reach the node's runtime (" + why + ")"}
	}
	switch r := s.Reach; {
	case r.NoDocker != "":
		return notHere("no Docker engine answers here"), "; Docker: " + r.NoDocker
	case s.Scheme == "containerd" && r.KindNode:
		return Path{Way: FromHost, Tool: "crictl", InNode: true}, ""
	case s.Scheme == "docker" && r.KindNode:
		// A node container running its own Docker engine (dockershim).
		return Path{Way: FromHost, Tool: "docker", InNode: true}, ""
	case s.Scheme == "docker" && r.DockerHolds:
		return Path{Way: FromHost, Tool: "docker"}, ""
	case s.Scheme == "docker":
		return notHere("this machine's Docker does not hold the Pod's container"), ""
	case s.Scheme == "containerd":
		return notHere("not a kind node container on this machine's Docker"), ""
	}
	return notHere(fmt.Sprintf("no way to reach a %q runtime", s.Scheme)), ""
}

// containerIDShape is a containerID as the kubelet writes it: the runtime's
// name, "://", the runtime's own hex ID (cri-o's name has a hyphen).
var containerIDShape = regexp.MustCompile(`^[a-z][a-z0-9.-]*://[0-9a-f]+$`)

// CheckContainerID checks what the API shows of a container, without
// asking the runtime: the ID is <runtime>://<hex id>, and the runtime it
// names is the one the Pod's node reports running
// (status.nodeInfo.containerRuntimeVersion, "containerd://1.7.27").
func CheckContainerID(id, nodeRuntime string) error {
	if !containerIDShape.MatchString(id) {
		return fmt.Errorf("containerID %q is not <runtime>://<hex id>", id)
	}
	if got, node := Scheme(id), Scheme(nodeRuntime); got != node {
		return fmt.Errorf("containerID %q names runtime %q, but its node reports running %q", id, got, nodeRuntime)
	}
	return nil
}
