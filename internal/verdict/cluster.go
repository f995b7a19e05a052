package verdict

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
)

// clusterEntry is the report entry the suite adds on its
// SynchronizedBeforeSuite node once it knows which cluster it is testing.
const clusterEntry = clusterinfo.EntryName

// ClusterInfo is which distribution and nodes the verdict is about, in the
// shape the suite records it.
type ClusterInfo = clusterinfo.Info

// findCluster returns the first usable cluster entry. With parallel
// processes every process reports a SynchronizedBeforeSuite node, and only
// the first process's carries the entry.
func findCluster(reports []types.Report) *ClusterInfo {
	for _, r := range reports {
		for _, s := range r.SpecReports {
			if !s.LeafNodeType.Is(types.NodeTypesForSuiteLevelNodes) {
				continue
			}
			for _, e := range s.ReportEntries {
				if e.Name != clusterEntry {
					continue
				}
				if info, ok := parseCluster(e.Value); ok {
					return &info
				}
			}
		}
	}
	return nil
}

// parseCluster accepts the value however the suite passed it: a string of
// JSON (Representation is then the JSON itself, AsJSON a quoted copy) or a
// struct (AsJSON is then the object). A value without a name is treated as
// garbled rather than shown as an empty cluster.
func parseCluster(v types.ReportEntryValue) (ClusterInfo, bool) {
	candidates := []string{v.Representation, v.AsJSON}
	var quoted string
	if json.Unmarshal([]byte(v.AsJSON), &quoted) == nil {
		candidates = append(candidates, quoted)
	}
	for _, c := range candidates {
		var info ClusterInfo
		if json.Unmarshal([]byte(c), &info) == nil && info.Name != "" {
			return info, true
		}
	}
	return ClusterInfo{}, false
}

// healthEntry is a report entry whose value says, in one line, how the
// cluster is broken.
const healthEntry = clusterinfo.HealthEntryName

// brokenCluster gathers what the run found wrong with the cluster: the
// Health the suite read at set-up, then each "cluster health" entry any
// spec or suite node added, each once.
func brokenCluster(c *ClusterInfo, reports []types.Report) []string {
	var out []string
	addLine := func(s string) {
		if s = collapse(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if c != nil {
		addLine(c.Health)
	}
	for _, r := range reports {
		for _, s := range r.SpecReports {
			for _, e := range s.ReportEntries {
				if e.Name == healthEntry {
					addLine(e.Value.String())
				}
			}
		}
	}
	return out
}

const unknownCluster = "unknown (set-up did not finish)"

// describe is the one-line account of the cluster shared by both outputs.
func describeCluster(c *ClusterInfo) string {
	if c == nil {
		return unknownCluster
	}
	s := c.Name
	if c.Distribution != "" && c.Distribution != "other" {
		s = c.Distribution + " " + s
	}
	if c.Version != "" {
		s += " (" + c.Version + runtimeEra(c) + ")"
	}
	switch {
	case c.Existing:
		s += ", existing cluster"
		if c.Ownership != "" {
			s += " (" + c.Ownership + ")"
		}
	case c.Reused:
		s += ", reused (kept from an earlier run)"
	default:
		s += ", created by the suite"
	}
	if c.Images != "" {
		s += "; images: " + c.Images
	}
	if c.CNI != "" {
		s += "; CNI: " + c.CNI
	}
	if n := len(c.Nodes); n > 0 {
		s += fmt.Sprintf("; %d node(s)", n)
	}
	return s
}

// runtimeEra says how the kubelets drive Docker, when they do, from what
// the nodes report (not the version alone: a v1.23 cluster on containerd
// is not the book's world): before v1.24 through the dockershim built into
// the kubelet, as in the book; after, through cri-dockerd.
func runtimeEra(c *ClusterInfo) string {
	if len(c.Nodes) == 0 {
		return ""
	}
	for _, n := range c.Nodes {
		if !strings.HasPrefix(n.Runtime, "docker://") {
			return ""
		}
	}
	if bookEra(c.Version) {
		return ", book-era: the kubelet runs Docker itself"
	}
	return ", the kubelet drives Docker through cri-dockerd"
}

// bookEra says a Kubernetes version is from before the kubelet dropped its
// built-in Docker support (v1.24): the world the book was written in.
func bookEra(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(version, "v"), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return major == 1 && minor < 24
}

func describeNode(n clusterinfo.Node) string {
	var parts []string
	for _, p := range []string{n.OSImage, kernel(n.Kernel), n.Runtime, kubelet(n.Kubelet), cgroupOf(n)} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if n.NotReal != "" {
		// What it reports is a stand-in's, said as such after the fact.
		return fmt.Sprintf("node %s: not a real node: %s; it reports %s", n.Name, n.NotReal, strings.Join(parts, ", "))
	}
	return fmt.Sprintf("node %s: %s", n.Name, strings.Join(parts, ", "))
}

// notReal says of each node of the cluster that runs nothing that it is
// not real: the chapter is about containers running, so such a cluster
// fails whatever its claims showed.
func notReal(c *ClusterInfo) []string {
	if c == nil {
		return nil
	}
	return c.NotRealNodes()
}

func kernel(v string) string {
	if v == "" {
		return ""
	}
	return "kernel " + v
}

func kubelet(v string) string {
	if v == "" {
		return ""
	}
	return "kubelet " + v
}

// cgroupOf says which cgroups the kubelet runs on, and whether only by
// the override a kubelet of v1.35 or later needs on cgroup v1.
func cgroupOf(n clusterinfo.Node) string {
	switch {
	case n.Cgroup == "":
		return ""
	case n.CgroupV1Override:
		return "cgroup " + n.Cgroup + " (the kubelet runs on it only because its configuration says failCgroupV1: false)"
	}
	return "cgroup " + n.Cgroup
}

// kubectlLine says which kubectl ran the book's commands and how far it is
// from the server: kubectl is supported within one minor of the API
// server, older or newer; outside that, each command the run shows passing
// is still proven on this server, but nothing more is promised.
func kubectlLine(c *ClusterInfo) string {
	if c == nil || c.Kubectl == "" {
		return ""
	}
	line := "kubectl: " + c.Kubectl
	client, ok1 := minorNumberOf(c.Kubectl)
	server, ok2 := minorNumberOf(c.Version)
	if !ok1 || !ok2 {
		return line
	}
	switch d := client - server; {
	case d == 0:
		return line + ", the server's own minor"
	case d >= -1 && d <= 1:
		return line + fmt.Sprintf(", one minor %s the server: within kubectl's supported skew", newerOrOlder(d))
	default:
		return line + fmt.Sprintf(", %d minors %s the server: outside kubectl's supported skew of one minor; each command above ran on this server as shown", abs(d), newerOrOlder(d))
	}
}

func newerOrOlder(d int) string {
	if d > 0 {
		return "newer than"
	}
	return "older than"
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// minorNumberOf is NN of v1.NN.P (a distribution's suffix allowed).
func minorNumberOf(version string) (int, bool) {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(version, "v"), "%d.%d", &major, &minor); err != nil || major != 1 {
		return 0, false
	}
	return minor, true
}
