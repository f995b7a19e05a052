package nodehost

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Facts are what this machine shows of itself that decides whether a kind
// node can start on it. Each is read without changing anything: no mount,
// no iptables table touched (listing one can load a kernel module).
type Facts struct {
	OS, Kernel  string
	ProcCgroups string // /proc/cgroups as read
	Mountinfo   string // this process's mount table
	// CapBnd is the capability bounding set; CapLast the kernel's highest
	// capability number.
	CapBnd  uint64
	CapLast int
	// Iptables is `iptables --version` ("" when not installed): the guard
	// and every node's kube-proxy write rules with it.
	Iptables string
	// Docker is the engine's version, cgroup version and driver, and
	// default runtime ("" when no engine answers).
	Docker string
	// ReadErr says what could not be read (no /proc: not Linux).
	ReadErr error
}

// ReadFacts reads this machine's facts; docker also asks the engine.
func ReadFacts(ctx context.Context, docker bool) Facts {
	f := Facts{OS: osName(), Kernel: kernel()}
	if runtime.GOOS != "linux" {
		f.ReadErr = fmt.Errorf("this is %s, not Linux", runtime.GOOS)
		return f
	}
	raw, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		f.ReadErr = err
		return f
	}
	f.ProcCgroups = string(raw)
	if raw, err = os.ReadFile("/proc/self/mountinfo"); err != nil {
		f.ReadErr = err
		return f
	}
	f.Mountinfo = string(raw)
	f.CapBnd, f.CapLast = capBounding()
	if out, err := exec.CommandContext(ctx, "iptables", "--version").Output(); err == nil {
		f.Iptables = strings.TrimSpace(string(out))
	}
	if docker {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", "info", "--format",
			"{{.ServerVersion}}, cgroup v{{.CgroupVersion}} ({{.CgroupDriver}} driver), default runtime {{.DefaultRuntime}}").Output()
		if err == nil {
			f.Docker = strings.TrimSpace(string(out))
		}
	}
	return f
}

// Capabilities a kind node cannot do without: it mounts (systemd, the
// entrypoint) and sets up networks (the CNI, kube-proxy).
var nodeNeedsCaps = []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}

// Report is what Check found.
type Report struct {
	Problems []string // any one of these: no node can start here
	Notes    []string // how the nodes will cope with what is missing
	Plan     Plan     // what each node will do with its cgroups
	CgroupV  string   // "v1", "v1 (hybrid)", "v2"
}

// Check judges the facts: can a kind node start on this machine, and what
// will it do about what the machine lacks?
func (f Facts) Check() Report {
	var r Report
	if f.ReadErr != nil {
		r.Problems = append(r.Problems, "making the suite's own kind cluster needs a Linux host whose tables can be read ("+f.ReadErr.Error()+"); on any other machine, check a cluster you already have with EXISTING=1")
		return r
	}
	ctrls, err := ParseProcCgroups(f.ProcCgroups)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	host, err := ParseMountinfo(f.Mountinfo)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	r.CgroupV = "v1"
	switch {
	case isV2(host):
		r.CgroupV = "v2"
	case hasUnified(host):
		r.CgroupV = "v1 (hybrid: cgroup2 at " + CgroupRoot + "/unified)"
	}
	r.Plan = PlanNode(ctrls, NodeView(host))
	if r.Plan.Fatal != "" {
		r.Problems = append(r.Problems, r.Plan.Fatal)
	}
	if skipped := r.Plan.Skipped(); len(skipped) > 0 {
		r.Notes = append(r.Notes, "nodes run without cgroup "+strings.Join(skipped, ", ")+": no hierarchy on this host, and a node's private cgroup namespace cannot create one (none is needed)")
	}
	if mounted := r.Plan.Mounted(); len(mounted) > 0 {
		r.Notes = append(r.Notes, "nodes mount cgroup "+strings.Join(mounted, ", ")+" themselves: the host holds these hierarchies without mounting them")
	}
	var lacks []string
	for n := 0; n <= f.CapLast; n++ {
		if f.CapBnd&(1<<n) != 0 {
			continue
		}
		if name := capName(n); slices.Contains(nodeNeedsCaps, name) {
			r.Problems = append(r.Problems, "this machine's capability bounding set lacks "+name+", which a kind node (a privileged container running systemd) cannot do without: run on a host or VM that grants it")
			continue
		}
		lacks = append(lacks, capName(n))
	}
	if len(lacks) > 0 {
		r.Notes = append(r.Notes, "the capability bounding set lacks "+strings.Join(lacks, ", ")+": Docker's runtime must drop them from privileged containers (hack/host-setup.sh registers images/runc-capfilter as dockerd's default runtime for that)")
	}
	return r
}

func hasUnified(mounts []Mount) bool {
	for _, m := range mounts {
		if m.FSType == "cgroup2" && m.Target != CgroupRoot && strings.HasPrefix(m.Target, CgroupRoot+"/") {
			return true
		}
	}
	return false
}

// Describe is the facts and the judgement, one fact a line, for a bug
// report (make doctor).
func (f Facts) Describe(r Report) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-13s %s\n", k+":", v) }
	line("os", f.OS)
	line("kernel", f.Kernel)
	line("cores", strconv.Itoa(runtime.NumCPU()))
	if f.ReadErr == nil {
		line("cgroup", r.CgroupV)
		if ctrls, err := ParseProcCgroups(f.ProcCgroups); err == nil {
			var have, none []string
			for _, c := range ctrls {
				switch {
				case !c.Enabled:
					none = append(none, c.Name+" (disabled)")
				case c.Hierarchy == 0:
					none = append(none, c.Name)
				default:
					have = append(have, fmt.Sprintf("%s(%d)", c.Name, c.Hierarchy))
				}
			}
			if r.CgroupV != "v2" {
				line("hierarchies", orNone(strings.Join(have, " ")))
				line("no hierarchy", orNone(strings.Join(none, " ")))
			}
		}
		if !r.Plan.V2 {
			line("a node will", fmt.Sprintf("mount %s; skip %s; put the kubelet's roots in %d hierarchies",
				orNone(strings.Join(r.Plan.Mounted(), " ")), orNone(strings.Join(r.Plan.Skipped(), " ")), len(r.Plan.Roots)))
		}
		line("capabilities", fmt.Sprintf("bounding set %016x (highest %d)", f.CapBnd, f.CapLast))
	}
	line("iptables", orNone(f.Iptables))
	line("docker", or(f.Docker, "no engine answers (make host starts one)"))
	for _, n := range r.Notes {
		line("note", n)
	}
	for _, p := range r.Problems {
		line("problem", p)
	}
	if len(r.Problems) == 0 {
		line("verdict", "a kind node can start on this machine")
	} else {
		line("verdict", "no kind node can start on this machine; run against a cluster of your own with EXISTING=1")
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

func orNone(s string) string { return or(s, "none") }

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func capBounding() (uint64, int) {
	last := 40
	if raw, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(raw))); err == nil {
			last = n
		}
	}
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, last
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, last
		}
	}
	return 0, last
}

func osName() string {
	raw, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return runtime.GOOS + "/" + runtime.GOARCH
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`) + " (" + runtime.GOARCH + ")"
		}
	}
	return runtime.GOOS + "/" + runtime.GOARCH
}

func kernel() string {
	raw, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(raw))
}

// HostCgroupV1 says this machine's cgroups are v1 (or hybrid): its cgroup
// root is not the unified hierarchy. kind's nodes share the kernel's, so
// their kubelets see the same.
func HostCgroupV1() bool {
	raw, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	mounts, err := ParseMountinfo(string(raw))
	if err != nil {
		return false
	}
	return !isV2(mounts)
}
