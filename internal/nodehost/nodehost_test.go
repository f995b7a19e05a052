package nodehost

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The hosts in testdata/, each with its /proc/cgroups, its own mount table
// and the mount table a privileged kind node (private cgroup namespace)
// started with there:
//
//	fresh           a new machine of this project's kind (../shared/fresh-host.md): net_cls,
//	                perf_event, net_prio and hugetlb have no hierarchy; cpu and cpuacct apart
//	used-mounted    the same machine after something mounted those four on the host
//	used-unmounted  ... and unmounted them again while cgroups (Docker's) kept them alive
//	systemd         a typical systemd host on cgroup v1: cpu,cpuacct and net_cls,net_prio
//	                joined, rdma and misc mounted
//	cgroup2         a unified-hierarchy host
//
// fresh, used-mounted and used-unmounted were recorded on this project's
// machine; systemd and cgroup2 are the layouts systemd makes.
type host struct {
	name        string
	ctrls       []Controller
	host, node  []Mount
	rawCgroups  string
	rawHostMnts string
}

func loadHost(t *testing.T, name string) host {
	t.Helper()
	read := func(f string) string {
		raw, err := os.ReadFile(filepath.Join("testdata", name, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	h := host{name: name, rawCgroups: read("proc-cgroups"), rawHostMnts: read("host-mountinfo")}
	var err error
	if h.ctrls, err = ParseProcCgroups(h.rawCgroups); err != nil {
		t.Fatal(err)
	}
	if h.host, err = ParseMountinfo(h.rawHostMnts); err != nil {
		t.Fatal(err)
	}
	if h.node, err = ParseMountinfo(read("node-mountinfo")); err != nil {
		t.Fatal(err)
	}
	return h
}

var hosts = []string{"fresh", "used-mounted", "used-unmounted", "systemd", "cgroup2"}

// kernelAllows models what Linux allows a privileged container in a private
// cgroup namespace (measured on this project's machine, see
// ../shared/fresh-host.md): mounting an existing v1 hierarchy works when
// the options name exactly its controllers; a subset fails, and so does a
// hierarchy that does not exist yet, since only the initial cgroup
// namespace may create one.
func kernelAllows(ctrls []Controller, controllers []string) error {
	h := -1
	for _, c := range controllers {
		i := slices.IndexFunc(ctrls, func(k Controller) bool { return k.Name == c })
		if i < 0 || !ctrls[i].Enabled {
			return errors.New("unknown or disabled controller " + c)
		}
		if ctrls[i].Hierarchy == 0 {
			return errors.New("permission denied: " + c + " has no hierarchy, and a private cgroup namespace cannot create one")
		}
		if h >= 0 && ctrls[i].Hierarchy != h {
			return errors.New("permission denied: " + strings.Join(controllers, ",") + " spans hierarchies")
		}
		h = ctrls[i].Hierarchy
	}
	var whole []string
	for _, c := range ctrls {
		if c.Enabled && c.Hierarchy == h {
			whole = append(whole, c.Name)
		}
	}
	if !sameSet(whole, controllers) {
		return errors.New("permission denied: hierarchy " + strings.Join(whole, ",") + " must be mounted whole, not as " + strings.Join(controllers, ","))
	}
	return nil
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// The node's plan, run against the kernel's rules on every host: each
// mount is one the kernel allows, every enabled controller ends up mounted
// or skipped with its reason (one controller a skip, never a joint mount of
// controllers that only share "hierarchy 0"), the kubelet's controllers are
// mounted, and its roots go in every hierarchy the node then has.
func TestPlanObeysTheKernelOnEveryHost(t *testing.T) {
	for _, name := range hosts {
		t.Run(name, func(t *testing.T) {
			h := loadHost(t, name)
			p := PlanNode(h.ctrls, h.node)
			if p.Fatal != "" {
				t.Fatalf("no node on %s: %s", name, p.Fatal)
			}
			if p.V2 {
				if len(p.Steps) > 0 || len(p.Roots) > 0 {
					t.Fatalf("cgroup v2: want nothing to do, got %+v", p)
				}
				return
			}
			have := map[string]bool{}
			for _, m := range v1Mounts(h.node) {
				for _, o := range m.Options {
					have[o] = true
				}
			}
			for _, s := range p.Steps {
				switch s.Action {
				case MountHierarchy:
					if err := kernelAllows(h.ctrls, s.Controllers); err != nil {
						t.Errorf("step %q: the kernel refuses it: %v", s.Line(), err)
					}
					for _, c := range s.Controllers {
						have[c] = true
					}
				case SkipController:
					if len(s.Controllers) != 1 {
						t.Errorf("a skip names one controller, got %v", s.Controllers)
					}
					if s.Why == "" {
						t.Errorf("skip of %v says no why", s.Controllers)
					}
				}
			}
			for _, c := range h.ctrls {
				if c.Enabled && c.Name != "misc" && !have[c.Name] && !slices.Contains(p.Skipped(), c.Name) {
					t.Errorf("controller %s is neither mounted nor skipped", c.Name)
				}
				if slices.Contains(p.Skipped(), c.Name) && c.Hierarchy != 0 {
					t.Errorf("controller %s is skipped though the host has its hierarchy %d", c.Name, c.Hierarchy)
				}
			}
			for _, c := range KubeletNeeds {
				if !have[c] {
					t.Errorf("the kubelet needs %s, which is not mounted", c)
				}
			}
			var want []string
			for _, m := range v1Mounts(h.node) {
				if !slices.Contains(m.Options, "misc") {
					want = append(want, m.Target)
				}
			}
			want = append(want, mountTargets(p)...)
			if !sameSet(p.Roots, want) {
				t.Errorf("kubelet roots go in %v, want every hierarchy the node has: %v", p.Roots, want)
			}
		})
	}
}

func mountTargets(p Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if s.Action == MountHierarchy {
			out = append(out, s.Target)
		}
	}
	return out
}

// What each host's node does, in full.
func TestPlanPerHost(t *testing.T) {
	for _, c := range []struct {
		host             string
		mounted, skipped []string
		roots            int
		hideMisc         bool
	}{
		{host: "fresh", skipped: []string{"net_cls", "perf_event", "net_prio", "hugetlb"}, roots: 9},
		{host: "used-mounted", roots: 12},
		// The hierarchies the host keeps alive unmounted are mounted
		// before systemd starts: left to systemd, they appear after the
		// kubelet (a v1.23 kubelet then finds no root in them).
		{host: "used-unmounted", mounted: []string{"net_cls,net_prio", "perf_event", "hugetlb"}, roots: 12},
		{host: "systemd", roots: 12, hideMisc: true},
		{host: "cgroup2"},
	} {
		t.Run(c.host, func(t *testing.T) {
			h := loadHost(t, c.host)
			p := PlanNode(h.ctrls, h.node)
			if !slices.Equal(p.Mounted(), c.mounted) {
				t.Errorf("mounted %v, want %v", p.Mounted(), c.mounted)
			}
			if !slices.Equal(p.Skipped(), c.skipped) {
				t.Errorf("skipped %v, want %v", p.Skipped(), c.skipped)
			}
			if len(p.Roots) != c.roots {
				t.Errorf("%d kubelet roots (%v), want %d", len(p.Roots), p.Roots, c.roots)
			}
			hides := slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Action == HideMisc })
			if hides != c.hideMisc {
				t.Errorf("hides misc: %v, want %v", hides, c.hideMisc)
			}
			for _, s := range p.Steps {
				if s.Action == MountHierarchy && len(s.Controllers) > 1 && !slices.Equal(s.Links, s.Controllers) {
					t.Errorf("joined %v: want a link for each controller, got %v", s.Controllers, s.Links)
				}
			}
		})
	}
}

// A node knows before it starts what the container runtime gives it: the
// host's v1 mounts, not its hybrid unified one; the root on v2.
func TestNodeViewIsWhatANodeWasGiven(t *testing.T) {
	for _, name := range hosts {
		t.Run(name, func(t *testing.T) {
			h := loadHost(t, name)
			got, want := shape(NodeView(h.host)), shape(h.node)
			if !slices.Equal(got, want) {
				t.Errorf("node view\n got %v\nwant %v", got, want)
			}
		})
	}
}

// shape is a mount table's cgroup mounts: where, what type, which
// controllers.
func shape(ms []Mount) []string {
	var out []string
	for _, m := range ms {
		if !strings.HasPrefix(m.Target, CgroupRoot) || m.FSType == "tmpfs" {
			continue
		}
		var ctrl []string
		for _, o := range m.Options {
			if o != "rw" && o != "xattr" && !strings.Contains(o, "=") || strings.HasPrefix(o, "name=") {
				ctrl = append(ctrl, o)
			}
		}
		if m.FSType == "cgroup2" {
			ctrl = nil
		}
		out = append(out, m.Target+" "+m.FSType+" "+strings.Join(ctrl, ","))
	}
	slices.Sort(out)
	return out
}

// This project's machines lack CAP_SYS_RESOURCE in the bounding set.
const narrowBounding = 0x000001fffeffffff

func TestCheck(t *testing.T) {
	fresh := loadHost(t, "fresh")
	f := Facts{ProcCgroups: fresh.rawCgroups, Mountinfo: fresh.rawHostMnts, CapBnd: narrowBounding, CapLast: 40}

	r := f.Check()
	if len(r.Problems) > 0 {
		t.Fatalf("a fresh machine can run a node, got %v", r.Problems)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, want := range []string{"without cgroup net_cls, perf_event, net_prio, hugetlb", "lacks CAP_SYS_RESOURCE", "runc-capfilter"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q do not say %q", notes, want)
		}
	}
	if r.CgroupV != "v1 (hybrid: cgroup2 at /sys/fs/cgroup/unified)" {
		t.Errorf("cgroup %q", r.CgroupV)
	}
	if d := f.Describe(r); !strings.Contains(d, "no hierarchy: net_cls perf_event net_prio hugetlb") || !strings.Contains(d, "verdict:      a kind node can start") {
		t.Errorf("doctor's facts:\n%s", d)
	}

	noMemory := f
	noMemory.ProcCgroups = strings.Replace(fresh.rawCgroups, "memory\t4\t", "memory\t0\t", 1)
	noMemory.Mountinfo = strings.Replace(fresh.rawHostMnts, "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n", "", 1)
	if r := noMemory.Check(); len(r.Problems) != 1 || !strings.HasPrefix(r.Problems[0], "cgroup controller memory has no hierarchy on this host") {
		t.Errorf("a host without a memory hierarchy: %v", r.Problems)
	}

	noAdmin := f
	noAdmin.CapBnd &^= 1 << 21
	if r := noAdmin.Check(); len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "lacks CAP_SYS_ADMIN") {
		t.Errorf("a bounding set without CAP_SYS_ADMIN: %v", r.Problems)
	}

	v2 := loadHost(t, "cgroup2")
	if r := (Facts{ProcCgroups: v2.rawCgroups, Mountinfo: v2.rawHostMnts, CapBnd: 1<<41 - 1, CapLast: 40}).Check(); len(r.Problems)+len(r.Notes) > 0 || r.CgroupV != "v2" {
		t.Errorf("cgroup v2, full bounding set: want nothing to say, got %+v", r)
	}

	if r := (Facts{ReadErr: errors.New("this is darwin, not Linux")}).Check(); len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "EXISTING=1") {
		t.Errorf("not Linux: %v", r.Problems)
	}
}

func TestParse(t *testing.T) {
	if _, err := ParseProcCgroups("#subsys_name\thierarchy\tnum_cgroups\tenabled\n"); err == nil {
		t.Error("an empty /proc/cgroups is refused")
	}
	if _, err := ParseProcCgroups("cpu x 1 1\n"); err == nil {
		t.Error("a hierarchy that is not a number is refused")
	}
	ms, err := ParseMountinfo(`90 84 0:41 / /sys/fs/cgroup/a\040b rw - cgroup cgroup rw,hugetlb` + "\n")
	if err != nil || len(ms) != 1 || ms[0].Target != "/sys/fs/cgroup/a b" || !slices.Equal(ms[0].Options, []string{"rw", "hugetlb"}) {
		t.Errorf("got %+v, %v", ms, err)
	}
	for in, want := range map[string]string{`/a\040b/c`: "/a b/c", `/plain`: "/plain", `/tab\011x`: "/tab\tx", `/short\04`: `/short\04`} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
	if _, err := ParseMountinfo("not a mount\n"); err == nil {
		t.Error("a line without ' - ' is refused")
	}
}
