package nodehost

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// KubeletNeeds are the v1 controllers the kubelet refuses to start without
// (its validateSystemRequirements); a node cannot work on a host where one
// of them has no hierarchy.
var KubeletNeeds = []string{"cpu", "cpuacct", "cpuset", "memory"}

// KubeletRoots are the cgroups the node's kubelets put Pods under: the
// cgroupfs driver's cgroupRoot (/kubelet, the v1.23 node) and the systemd
// driver's slice (the v1.34 node).
var KubeletRoots = []string{"kubelet", "kubelet.slice"}

// Action is what a node does about one part of its cgroups.
type Action string

const (
	// MountHierarchy mounts a hierarchy the host has (its number in /proc/cgroups
	// is not 0) but the node was not given: the host holds it alive without
	// mounting it. Mounting an existing hierarchy is allowed from a private
	// cgroup namespace, with exactly its set of controllers; left to
	// systemd, it would appear after the kubelet had started, and the
	// kubelet wants its roots in every mounted hierarchy.
	MountHierarchy Action = "mount"
	// SkipController leaves a controller unmounted: the host has no hierarchy for it
	// (hierarchy 0), and the kernel creates hierarchies only from the
	// initial cgroup namespace. Nothing in the node needs one of these.
	SkipController Action = "skip"
	// HideMisc unmounts the v1 misc controller and hides it from
	// /proc/cgroups: this runc and kubelet do not know it.
	HideMisc Action = "hide-misc"
)

// Step is one thing the node does, with the line it logs.
type Step struct {
	Action      Action
	Controllers []string // MountHierarchy: the hierarchy's whole set; Skip: one
	Target      string   // MountHierarchy: where (CgroupRoot/<joined names>)
	// Links are the names a joined hierarchy is also reachable by
	// (cpu -> cpu,cpuacct), as systemd and runc lay them out.
	Links []string
	Why   string
}

// Line is the step as the node logs it.
func (s Step) Line() string {
	switch s.Action {
	case MountHierarchy:
		return fmt.Sprintf("mounting cgroup %s at %s: %s", strings.Join(s.Controllers, ","), s.Target, s.Why)
	case SkipController:
		return fmt.Sprintf("skipping cgroup %s: %s", strings.Join(s.Controllers, ","), s.Why)
	}
	return s.Why
}

// Plan is what a node does with its cgroups before systemd starts.
type Plan struct {
	V2    bool
	Steps []Step
	// Roots are the v1 hierarchies mounted in the node once Steps are
	// done; the kubelet's roots (KubeletRoots) go in each.
	Roots []string
	// Fatal, when set, is why no node can work on this host.
	Fatal string
}

// PlanNode decides, from the host's /proc/cgroups (a node sees the host's:
// it is not namespaced) and the node's own mount table, what the node mounts,
// what it skips, and where the kubelet's roots go.
func PlanNode(ctrls []Controller, node []Mount) Plan {
	if isV2(node) {
		return Plan{V2: true}
	}
	var p Plan
	mounted := v1Mounts(node)
	for _, m := range mounted {
		if slices.Contains(m.Options, "misc") {
			p.Steps = append(p.Steps, Step{Action: HideMisc, Target: m.Target, Why: "hiding the v1 misc controller, which this node's runc and kubelet do not know"})
		}
	}
	if !slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Action == HideMisc }) && slices.ContainsFunc(ctrls, func(c Controller) bool { return c.Name == "misc" && c.Enabled }) {
		p.Steps = append(p.Steps, Step{Action: HideMisc, Why: "hiding the v1 misc controller, which this node's runc and kubelet do not know"})
	}

	// Group the usable controllers by hierarchy: only a real hierarchy
	// (not 0) joins controllers, and it must be mounted whole.
	byHierarchy := map[int][]string{}
	var order []int
	for _, c := range ctrls {
		if !c.Enabled || c.Name == "misc" || mountedIn(mounted, c.Name) {
			continue
		}
		if c.Hierarchy == 0 {
			p.Steps = append(p.Steps, Step{Action: SkipController, Controllers: []string{c.Name},
				Why: "the host has no hierarchy for it (hierarchy 0 in /proc/cgroups), and a private cgroup namespace cannot create one; nothing on the node needs it"})
			if slices.Contains(KubeletNeeds, c.Name) {
				p.Fatal = need(c.Name, "has no hierarchy on this host (hierarchy 0 in /proc/cgroups)")
			}
			continue
		}
		if _, ok := byHierarchy[c.Hierarchy]; !ok {
			order = append(order, c.Hierarchy)
		}
		byHierarchy[c.Hierarchy] = append(byHierarchy[c.Hierarchy], c.Name)
	}
	sort.Ints(order)
	var roots []string
	for _, m := range mounted {
		if !slices.Contains(m.Options, "misc") {
			roots = append(roots, m.Target)
		}
	}
	for _, h := range order {
		set := byHierarchy[h]
		joined := strings.Join(set, ",")
		s := Step{Action: MountHierarchy, Controllers: set, Target: path.Join(CgroupRoot, joined),
			Why: fmt.Sprintf("hierarchy %d exists on the host but was not given to the node; mounted now, before systemd, so the kubelet finds its roots there", h)}
		if len(set) > 1 {
			s.Links = set
		}
		p.Steps = append(p.Steps, s)
		roots = append(roots, s.Target)
	}
	for _, c := range KubeletNeeds {
		known := slices.ContainsFunc(ctrls, func(k Controller) bool { return k.Name == c && k.Enabled })
		if !known && p.Fatal == "" {
			p.Fatal = need(c, "is not enabled in this kernel (/proc/cgroups)")
		}
	}
	sort.Strings(roots)
	p.Roots = roots
	return p
}

func need(controller, why string) string {
	return fmt.Sprintf("cgroup controller %s %s, and the kubelet cannot run without it: mount it on the host (mount -t cgroup -o %s cgroup %s/%s) or boot the host with cgroup v2",
		controller, why, controller, CgroupRoot, controller)
}

// Skipped are the controllers a plan leaves out.
func (p Plan) Skipped() []string {
	var out []string
	for _, s := range p.Steps {
		if s.Action == SkipController {
			out = append(out, s.Controllers...)
		}
	}
	return out
}

// Mounted are the hierarchies a plan mounts, each as its joined name.
func (p Plan) Mounted() []string {
	var out []string
	for _, s := range p.Steps {
		if s.Action == MountHierarchy {
			out = append(out, strings.Join(s.Controllers, ","))
		}
	}
	return out
}
