// Command faults breaks a kept cluster of its own on purpose, one way at a
// time, runs the suite on it to its verdict (`make e2e EXISTING=1`),
// repairs it, and tabulates for each way: the time to the verdict, the
// closing line, and how many failing lines name the cause in their first
// words. It is how the README's "Broken on purpose" figures are made, and
// how a change is held to them (before/after).
//
//	go run ./hack/faults [-only mirror,taint] [-md _artifacts/faults.md]   (make faults)
//
// It changes only its own cluster (kiamol-e2e-faults), which it makes with
// a full run first and deletes at the end. Nothing it does sends anything
// off this machine: the faults are a closed port on the node, a policy, a
// firewall rule inside the node, a stopped or removed component.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// cluster is the kept cluster every fault is done to.
const cluster = "kiamol-e2e-faults"

const node = cluster + "-control-plane"

// fault is one way to break the cluster: how, how to undo it, and what a
// failing line's cause must lead with to name it.
type fault struct {
	name, how string
	// env is added to the suite's run (a replaced image breaks nothing
	// of the cluster's).
	env          []string
	breakIt, fix func(k kube) error
	// cause: each failing line's cause must carry one of these within its
	// first words.
	cause []string
}

var faults = []fault{
	{name: "mirror", how: "the node's hosts.toml for docker.io pointed at a closed port",
		breakIt: func(k kube) error {
			return k.node("sed", "-i.kiamol-faults", "s/kiamol-e2e-registry:5000/kiamol-e2e-registry:5999/g", "/etc/containerd/certs.d/docker.io/hosts.toml")
		},
		fix: func(k kube) error {
			return k.node("mv", "/etc/containerd/certs.d/docker.io/hosts.toml.kiamol-faults", "/etc/containerd/certs.d/docker.io/hosts.toml")
		},
		cause: []string{"cannot pull kiamol/"}},
	{name: "admission", how: "a ValidatingAdmissionPolicy denying kiamol/* images",
		breakIt: func(k kube) error { return k.apply(admissionPolicy) },
		fix: func(k kube) error {
			return k.run("delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", "no-kiamol-images", "--ignore-not-found")
		},
		cause: []string{"no-kiamol-images"}},
	{name: "kubelet-port", how: "iptables -I INPUT -p tcp --dport 10250 -j REJECT --reject-with tcp-reset in the node",
		breakIt: func(k kube) error {
			return k.node("iptables", "-I", "INPUT", "-p", "tcp", "--dport", "10250", "-j", "REJECT", "--reject-with", "tcp-reset")
		},
		fix: func(k kube) error {
			return k.node("iptables", "-D", "INPUT", "-p", "tcp", "--dport", "10250", "-j", "REJECT", "--reject-with", "tcp-reset")
		},
		cause: []string{":10250"}},
	{name: "not-listening", how: "E2E_REPLACE_IMAGES=kiamol/ch02-hello-kiamol=registry.k8s.io/pause:<the cluster's pause tag>",
		breakIt: func(kube) error { return nil }, fix: func(kube) error { return nil },
		cause: []string{"failed to connect to localhost:80", `exec: "sh": executable file not found`, "executable file not found"}},
	{name: "kubelet-stopped", how: "systemctl stop kubelet in the node",
		breakIt: func(k kube) error { return k.node("systemctl", "stop", "kubelet") },
		fix:     func(k kube) error { return k.node("systemctl", "start", "kubelet") },
		cause:   []string{"NotReady", "Kubelet stopped posting"}},
	staticPodGone("controller-manager-gone", "kube-controller-manager"),
	{name: "unschedulable", how: "every node tainted NoSchedule (kubectl taint nodes --all)",
		breakIt: func(k kube) error { return k.run("taint", "nodes", "--all", "kiamol-e2e/faults=on-purpose:NoSchedule") },
		fix:     func(k kube) error { return k.run("taint", "nodes", "--all", "kiamol-e2e/faults-") },
		cause:   []string{"untolerated taint", "0/1 nodes are available"}},
	staticPodGone("scheduler-gone", "kube-scheduler"),
	{name: "coredns-zero", how: "kubectl -n kube-system scale deployment coredns --replicas=0",
		breakIt: func(k kube) error {
			return k.run("-n", "kube-system", "scale", "deployment", "coredns", "--replicas=0")
		},
		fix: func(k kube) error {
			return k.run("-n", "kube-system", "scale", "deployment", "coredns", "--replicas=2")
		},
		cause: []string{"coredns"}},
}

// staticPodGone is the control-plane component's static Pod manifest moved
// out of the kubelet's manifests folder, and back: the kubelet stops the
// component, and its leader lease goes unrenewed.
func staticPodGone(name, component string) fault {
	manifest := "/etc/kubernetes/manifests/" + component + ".yaml"
	aside := "/etc/kubernetes/" + component + ".yaml.kiamol-faults"
	return fault{name: name, how: component + "'s static Pod manifest moved out of /etc/kubernetes/manifests",
		breakIt: func(k kube) error { return k.node("mv", manifest, aside) },
		fix:     func(k kube) error { return k.node("mv", aside, manifest) },
		cause:   []string{component}}
}

const admissionPolicy = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: no-kiamol-images
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  validations:
  - expression: "object.spec.containers.all(c, !c.image.startsWith('kiamol/'))"
    message: "kiamol/* images are not allowed on this cluster"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-kiamol-images
spec:
  policyName: no-kiamol-images
  validationActions: [Deny]
`

// kube reaches the faults' cluster: kubectl with its kubeconfig, and its
// node through docker exec.
type kube struct{ kubectl, kubeconfig string }

func (k kube) run(args ...string) error {
	out, err := exec.Command(k.kubectl, append([]string{"--kubeconfig", k.kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func (k kube) apply(manifest string) error {
	cmd := exec.Command(k.kubectl, "--kubeconfig", k.kubeconfig, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply: %v: %s", err, out)
	}
	return nil
}

func (k kube) node(args ...string) error {
	out, err := exec.Command("docker", append([]string{"exec", node}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("in the node, %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// healthy waits until the cluster answers as a healthy one does: the node
// Ready, every kube-system Pod Ready, the controllers leading.
func (k kube) healthy(within time.Duration) error {
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		if last = k.run("wait", "--for=condition=Ready", "node", "--all", "--timeout=20s"); last == nil {
			if last = k.run("-n", "kube-system", "wait", "--for=condition=Ready", "pod", "--all", "--timeout=30s"); last == nil {
				return nil
			}
		}
	}
	return fmt.Errorf("not healthy again within %s: %v", within, last)
}

func main() {
	only := flag.String("only", "", "the faults to do, comma-separated (default all: "+strings.Join(names(), ", ")+")")
	md := flag.String("md", "_artifacts/faults.md", "where to write the table")
	flag.Parse()
	if err := run(*only, *md); err != nil {
		fmt.Fprintln(os.Stderr, "faults: "+err.Error())
		os.Exit(1)
	}
}

func names() []string {
	var out []string
	for _, f := range faults {
		out = append(out, f.name)
	}
	return out
}

type result struct {
	fault
	took           time.Duration
	closing        string
	failing, named int
	unnamed        []string
	// example is the first failing line that names the cause, as printed.
	example            string
	brokeErr, fixedErr error
}

func run(only, md string) error {
	picked := faults
	if only != "" {
		picked = nil
		for _, n := range strings.Split(only, ",") {
			i := slices.IndexFunc(faults, func(f fault) bool { return f.name == strings.TrimSpace(n) })
			if i < 0 {
				return fmt.Errorf("-only names %q, not one of %s", n, strings.Join(names(), ", "))
			}
			picked = append(picked, faults[i])
		}
	}
	cache := os.Getenv("KIAMOL_E2E_CACHE")
	if cache == "" {
		home, _ := os.UserCacheDir()
		cache = filepath.Join(home, "kiamol-e2e")
	}
	k := kube{kubectl: os.Getenv("E2E_KUBECTL"), kubeconfig: filepath.Join(cache, cluster+".kubeconfig")}
	if k.kubectl == "" {
		return fmt.Errorf("E2E_KUBECTL is not set: run it as make faults")
	}
	fmt.Println("faults: making the cluster with a full run (not timed)")
	if out, err := makeRun(nil, "e2e", "KEEP=1", "CLUSTER_NAME="+cluster); err != nil {
		return fmt.Errorf("the warm-up run failed: %v\n%s", err, tailLines(out, 20))
	}
	defer func() {
		if out, err := makeRun(nil, "down", "CLUSTER_NAME="+cluster); err != nil {
			fmt.Fprintf(os.Stderr, "faults: make down: %v\n%s", err, out)
		}
	}()
	pause, err := pauseTag()
	if err != nil {
		return err
	}
	var results []result
	for _, f := range picked {
		if f.name == "not-listening" {
			f.env = []string{"E2E_REPLACE_IMAGES=kiamol/ch02-hello-kiamol=registry.k8s.io/pause:" + pause}
		}
		fmt.Printf("faults: %s: %s\n", f.name, f.how)
		r := result{fault: f}
		if r.brokeErr = f.breakIt(k); r.brokeErr == nil {
			start := time.Now()
			out, _ := makeRun(f.env, "e2e", "EXISTING=1", "KUBECONFIG="+k.kubeconfig, "CONTEXT=kind-"+cluster, "CLUSTER_NAME="+cluster)
			r.took = time.Since(start)
			r.judge(out)
		}
		r.fixedErr = f.fix(k)
		if r.fixedErr == nil {
			r.fixedErr = k.healthy(5 * time.Minute)
		}
		fmt.Printf("faults: %s: %s in %s; %d of %d failing lines name it\n", f.name, r.closing, r.took.Round(100*time.Millisecond), r.named, r.failing)
		if r.example != "" {
			fmt.Println("   for one: " + r.example)
		}
		for _, u := range r.unnamed {
			fmt.Println("   does not name it: " + u)
		}
		results = append(results, r)
		if r.fixedErr != nil {
			return fmt.Errorf("%s: cannot repair the cluster: %v", f.name, r.fixedErr)
		}
	}
	table := tabulate(results)
	fmt.Print(table)
	if md != "" {
		if err := os.WriteFile(md, []byte(table), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pauseTag is the pause image the cluster's kubeadm named (what the node's
// containerd runs as each Pod's sandbox): an image that does not listen.
func pauseTag() (string, error) {
	out, err := exec.Command("docker", "exec", node, "sed", "-n", `s/.*sandbox_image = "registry.k8s.io\/pause:\(.*\)"/\1/p`, "/etc/containerd/config.toml").Output()
	tag := strings.TrimSpace(string(out))
	if err != nil || tag == "" {
		return "", fmt.Errorf("the node's pause tag: %v %q", err, tag)
	}
	return tag, nil
}

var closingLine = regexp.MustCompile(`(?m)^e2e: .*$`)

// judge reads the verdict: each FAIL line's cause, against the fault's
// words, within the cause's first twelve words.
func (r *result) judge(out string) {
	all := closingLine.FindAllString(out, -1)
	if len(all) > 0 {
		r.closing = all[len(all)-1]
	}
	verdict := out[strings.LastIndex(out, "\ncluster: ")+1:]
	lines := strings.Split(verdict, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "FAIL ") {
			continue
		}
		r.failing++
		cause := ""
		if i+1 < len(lines) {
			cause = strings.TrimPrefix(strings.TrimSpace(lines[i+1]), "cause: ")
		}
		lead := strings.Join(firstWords(cause, 12), " ")
		named := false
		for _, c := range r.cause {
			named = named || strings.Contains(lead, c)
		}
		if named {
			r.named++
			if r.example == "" {
				r.example = strings.Join(strings.Fields(l), " ") + " — " + cause
			}
		} else {
			r.unnamed = append(r.unnamed, strings.Join(strings.Fields(l), " ")+" — "+cause)
		}
	}
}

func firstWords(s string, n int) []string {
	f := strings.Fields(strings.TrimPrefix(s, "set-up failed: "))
	if len(f) > n {
		f = f[:n]
	}
	return f
}

func tabulate(rs []result) string {
	var b strings.Builder
	b.WriteString("| broken | how | failing lines naming it in their first words | time to verdict | closing line |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		took := r.took.Round(100 * time.Millisecond).String()
		if r.brokeErr != nil {
			took = "not broken: " + r.brokeErr.Error()
		}
		fmt.Fprintf(&b, "| %s | %s | %d of %d | %s | `%s` |\n", r.name, r.how, r.named, r.failing, took, r.closing)
	}
	return b.String()
}

func makeRun(env []string, args ...string) (string, error) {
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func tailLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
