package containerruntime

import (
	"strings"
	"testing"

	"github.com/kiamol-e2e/kiamol-e2e/internal/settings"
)

// What this machine can reach, as the decision sees it.
var (
	kindHere      = Reach{KindNode: true}                                                // a kind node container on this machine's Docker
	desktopDocker = Reach{DockerHolds: true}                                             // Docker Desktop's kubeadm mode: this Docker holds the container
	dockerOnly    = Reach{}                                                              // Docker answers, and holds nothing of the node
	noDocker      = Reach{NoDocker: "the Docker engine is not running (Cannot connect)"} // a laptop with a kubeconfig only
)

func TestDecide(t *testing.T) {
	const (
		auto = settings.SelfHealAuto
		host = settings.SelfHealHost
		node = settings.SelfHealNode
	)
	for _, tc := range []struct {
		name   string
		s      Situation
		want   Way
		tool   string
		inNode bool
		why    []string // each in Why
	}{
		// The suite's own cluster: as before, the runtime is always reached.
		{"own kind, auto: crictl in the node", Situation{Mode: auto, Own: true, Scheme: "containerd", Reach: kindHere}, FromHost, "crictl", true, nil},
		{"own docker-runtime, auto: the node's docker", Situation{Mode: auto, Own: true, Scheme: "docker", Reach: kindHere}, FromHost, "docker", true, nil},
		{"own, Docker gone, auto: a Pod on the node", Situation{Mode: auto, Own: true, Node: "n", Scheme: "containerd", Reach: noDocker}, FromNode, "", false, []string{"the suite's own cluster", "no Docker engine answers"}},
		{"own, host: unreachable fails", Situation{Mode: host, Own: true, Node: "n", Scheme: "containerd", Reach: noDocker}, Unreachable, "", false, []string{"no Docker engine", "starts no Pod"}},
		{"own, node: a Pod even where this machine reaches it", Situation{Mode: node, Own: true, Scheme: "containerd", Reach: kindHere}, FromNode, "", false, []string{OptInFlags}},
		{"own, auto, unknown runtime: fails", Situation{Mode: auto, Own: true, Scheme: "cri-o", Reach: noDocker}, Unreachable, "", false, []string{`"cri-o"`}},

		// A cluster the suite did not make.
		{"theirs, kind here, auto: this machine's access", Situation{Mode: auto, Scheme: "containerd", Reach: kindHere}, FromHost, "crictl", true, nil},
		{"theirs, Docker Desktop kubeadm, auto: this machine's Docker", Situation{Mode: auto, Scheme: "docker", Reach: desktopDocker}, FromHost, "docker", false, nil},
		{"theirs, unreachable, auto: not asked, the flag named", Situation{Mode: auto, Node: "k3s-1", Scheme: "containerd", Reach: noDocker}, NotAsked, "", false,
			[]string{"no Docker engine answers", "privileged Pod on node k3s-1", "kubectl debug node/k3s-1 --profile=sysadmin", "--self-heal=node", "SELF_HEAL=node", "Cannot connect"}},
		{"theirs, docker:// this Docker does not hold, auto: not asked", Situation{Mode: auto, Node: "minikube", Scheme: "docker", Reach: dockerOnly}, NotAsked, "", false,
			[]string{"does not hold the Pod's container", OptInFlags}},
		{"theirs, containerd not a kind node, auto: not asked", Situation{Mode: auto, Node: "k3d-x-server-0", Scheme: "containerd", Reach: dockerOnly}, NotAsked, "", false,
			[]string{"not a kind node container", OptInFlags, "node k3d-x-server-0"}},
		{"theirs, unreachable, host: not asked, never a Pod", Situation{Mode: host, Node: "n", Scheme: "containerd", Reach: noDocker}, NotAsked, "", false, []string{"starts no Pod"}},
		{"theirs, reachable, host", Situation{Mode: host, Scheme: "containerd", Reach: kindHere}, FromHost, "crictl", true, nil},
		{"theirs, node: the opt-in", Situation{Mode: node, Scheme: "containerd", Reach: noDocker}, FromNode, "", false, []string{OptInFlags}},
		{"theirs, node, a runtime the Pod knows no tool for: not asked", Situation{Mode: node, Node: "n", Scheme: "cri-o"}, NotAsked, "", false, []string{`"cri-o"`}},
		{"theirs, auto, a runtime nothing reaches: not asked, no flag offered", Situation{Mode: auto, Node: "n", Scheme: "cri-o", Reach: noDocker}, NotAsked, "", false, []string{`"cri-o"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Decide(tc.s)
			if p.Way != tc.want || p.Tool != tc.tool || p.InNode != tc.inNode {
				t.Fatalf("got %v %q inNode=%v (%s), want %v %q inNode=%v", p.Way, p.Tool, p.InNode, p.Why, tc.want, tc.tool, tc.inNode)
			}
			for _, w := range tc.why {
				if !strings.Contains(p.Why, w) {
					t.Errorf("why %q lacks %q", p.Why, w)
				}
			}
			if strings.Contains(p.Why, "\n") {
				t.Errorf("why is not one line: %q", p.Why)
			}
			// The verdict keeps 200 characters of a skip's reason, after
			// "needs the node's container runtime: ": the flag must be in them.
			if p.Way == NotAsked && strings.Contains(p.Why, OptInFlags) {
				if i := strings.Index(p.Why, OptInFlags) + len(OptInFlags); len("needs the node's container runtime: ")+i > 200 {
					t.Errorf("the flag ends at %d: the verdict would cut it: %q", i, p.Why)
				}
			}
		})
	}
}

// The rule the policy rests on: on a cluster the suite did not make, only
// --self-heal=node ever gives a privileged Pod, whatever this machine
// reaches and whatever the runtime.
func TestOnlyTheOptInStartsAPodOnSomeoneElsesCluster(t *testing.T) {
	for _, mode := range []string{settings.SelfHealAuto, settings.SelfHealHost, settings.SelfHealNode} {
		for _, r := range []Reach{kindHere, desktopDocker, dockerOnly, noDocker} {
			for _, scheme := range []string{"containerd", "docker", "cri-o", ""} {
				p := Decide(Situation{Mode: mode, Scheme: scheme, Reach: r})
				if p.Way == FromNode && mode != settings.SelfHealNode {
					t.Errorf("%s %+v %s: a node Pod unasked (%s)", mode, r, scheme, p.Why)
				}
				if p.Way == Unreachable {
					t.Errorf("%s %+v %s: a failure on someone else's cluster, where the claim should not run (%s)", mode, r, scheme, p.Why)
				}
			}
		}
	}
}

func TestCheckContainerID(t *testing.T) {
	for _, tc := range []struct {
		id, node, wantErr string
	}{
		{"containerd://" + id, "containerd://1.7.27", ""},
		{"docker://" + id, "docker://25.0.3", ""},
		{"cri-o://" + id, "cri-o://1.30.2", ""},
		{"containerd://" + id, "containerd://1.7.6-k3s1.27", ""},
		{"", "containerd://1.7.27", "not <runtime>://<hex id>"},
		{"containerd://", "containerd://1.7.27", "not <runtime>://<hex id>"},
		{"containerd://XYZ", "containerd://1.7.27", "not <runtime>://<hex id>"},
		{id, "containerd://1.7.27", "not <runtime>://<hex id>"},
		{"docker://" + id, "containerd://1.7.27", `names runtime "docker", but its node reports running "containerd://1.7.27"`},
	} {
		err := CheckContainerID(tc.id, tc.node)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s on %s: %v", tc.id, tc.node, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s on %s: %v, want %q", tc.id, tc.node, err, tc.wantErr)
		}
	}
}
