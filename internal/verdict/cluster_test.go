package verdict

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
)

// TestAStringEntryIsJSONInRepresentation pins down how Ginkgo stores
// AddReportEntry("cluster", string(json)), which parseCluster relies on.
func TestAStringEntryIsJSONInRepresentation(t *testing.T) {
	raw, err := json.Marshal(types.WrapEntryValue(clusterJSON))
	if err != nil {
		t.Fatal(err)
	}
	var stored struct{ AsJSON, Representation string }
	if err := json.Unmarshal(raw, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Representation != clusterJSON {
		t.Errorf("Representation = %q", stored.Representation)
	}
	if want, _ := json.Marshal(clusterJSON); stored.AsJSON != string(want) {
		t.Errorf("AsJSON = %q", stored.AsJSON)
	}
}

func TestClusterEntry(t *testing.T) {
	for _, tc := range []struct {
		name     string
		entries  []types.ReportEntry
		wantName string // "" for unknown
	}{
		{"a string of JSON", []types.ReportEntry{clusterEntryOf(clusterJSON)}, "kind-kiamol-e2e"},
		{"a struct", []types.ReportEntry{clusterEntryOf(ClusterInfo{Name: "k3d-test", Version: "v1.33.1"})}, "k3d-test"},
		{"missing", nil, ""},
		{"garbled", []types.ReportEntry{clusterEntryOf(`{"name": "kind-kiamol-e2e", "nodes": [`)}, ""},
		{"empty object", []types.ReportEntry{clusterEntryOf("{}")}, ""},
		{"another entry's name", []types.ReportEntry{{Name: "images", Value: types.WrapEntryValue(clusterJSON)}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := read(t, types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{setUp(tc.entries...)}})
			switch {
			case tc.wantName == "" && v.cluster != nil:
				t.Errorf("got cluster %+v, want unknown", *v.cluster)
			case tc.wantName != "" && (v.cluster == nil || v.cluster.Name != tc.wantName):
				t.Errorf("got %+v, want %s", v.cluster, tc.wantName)
			}
		})
	}
}

func TestMissingClusterSaysSo(t *testing.T) {
	v := read(t, types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{setUp()}})
	var out bytes.Buffer
	writeSummary(&out, v, "")
	if want := "cluster: unknown (set-up did not finish)\n"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("summary starts %q, want %q", out.String(), want)
	}
	md := markdown(v)
	if !strings.Contains(md, "Cluster: unknown (set-up did not finish)\n") || strings.Contains(md, "| node |") {
		t.Errorf("Markdown:\n%s", md)
	}
}

func TestClusterDescription(t *testing.T) {
	for _, tc := range []struct {
		c    *ClusterInfo
		want string
	}{
		{&ClusterInfo{Name: "kind-kiamol-e2e", Version: "v1.34.4", Images: "airgap"}, "kind-kiamol-e2e (v1.34.4), created by the suite; images: airgap"},
		{&ClusterInfo{Name: "docker-desktop", Version: "v1.32.2", Existing: true}, "docker-desktop (v1.32.2), existing cluster"},
		{&ClusterInfo{Name: "kind-kiamol-e2e", Version: "v1.34.4", Reused: true, Images: "airgap"}, "kind-kiamol-e2e (v1.34.4), reused (kept from an earlier run); images: airgap"},
		{nil, "unknown (set-up did not finish)"},
	} {
		if got := describeCluster(tc.c); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func healthEntryOf(line string) types.ReportEntry {
	return types.ReportEntry{Name: clusterinfo.HealthEntryName, Visibility: types.ReportEntryVisibilityAlways, Value: types.WrapEntryValue(line)}
}

// TestABrokenClusterComesFirst: a node gone NotReady explains every
// failure after it, so it is the first thing either output says.
func TestABrokenClusterComesFirst(t *testing.T) {
	const notReady = "node kiamol-e2e-control-plane NotReady: Kubelet stopped posting node status."
	unhealthy := ClusterInfo{Name: "kind-kiamol-e2e", Version: "v1.34.4", Health: notReady}
	failedLater := spec("pods_test.go", 46, podsDescribe, []string{ch02ID}, "heals itself", types.SpecStateFailed, time.Second, types.Failure{Message: "boom"})
	failedLater.ReportEntries = []types.ReportEntry{healthEntryOf("the API server at https://127.0.0.1:1234 stopped answering:\n connection refused")}
	sameAgain := spec("pods_test.go", 59, podsDescribe, []string{ch02ID}, "serves", types.SpecStateFailed, time.Second, types.Failure{Message: "boom"})
	sameAgain.ReportEntries = []types.ReportEntry{healthEntryOf(notReady)}
	for _, tc := range []struct {
		name  string
		specs types.SpecReports
		want  []string
	}{
		{"healthy", types.SpecReports{setUp(clusterEntryOf(clusterJSON))}, nil},
		{"Health in the cluster entry", types.SpecReports{setUp(clusterEntryOf(unhealthy.JSON()))}, []string{notReady}},
		{"a cluster health entry on a spec", types.SpecReports{setUp(clusterEntryOf(clusterJSON)), failedLater},
			[]string{"the API server at https://127.0.0.1:1234 stopped answering: connection refused"}},
		{"both, each once, Health first", types.SpecReports{setUp(clusterEntryOf(unhealthy.JSON())), failedLater, sameAgain},
			[]string{notReady, "the API server at https://127.0.0.1:1234 stopped answering: connection refused"}},
		{"an entry on a suite node", types.SpecReports{setUp(clusterEntryOf(clusterJSON), healthEntryOf(notReady))}, []string{notReady}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := read(t, types.Report{SuiteSucceeded: true, SpecReports: tc.specs})
			var out bytes.Buffer
			writeSummary(&out, v, "")
			md := markdown(v)
			var wantSummary, wantMD string
			for _, l := range tc.want {
				wantSummary += "cluster broken: " + l + "\n"
			}
			if len(tc.want) > 0 {
				var lines []string
				for _, l := range tc.want {
					lines = append(lines, "Cluster broken: "+l)
				}
				wantMD = strings.Join(lines, "  \n") + "\n\n"
			}
			if !strings.HasPrefix(out.String(), wantSummary+"cluster: kind-kiamol-e2e") {
				t.Errorf("summary starts\n%s\nwant it to start\n%scluster: kind-kiamol-e2e", out.String(), wantSummary)
			}
			if !strings.HasPrefix(md, "# kiamol-e2e verdict: chapter 2\n\n"+wantMD+"Cluster: kind-kiamol-e2e") {
				t.Errorf("Markdown starts\n%s\nwant it to start with\n%s", md, wantMD)
			}
		})
	}
}

// The header names what was verified: the distribution, a book-era
// version, the CNI, how many nodes.
func TestHeaderNamesWhatWasVerified(t *testing.T) {
	docker := clusterinfo.Node{Runtime: "docker://20.10.24+dfsg1"}
	c := ClusterInfo{Name: "kind-kiamol-e2e", Version: "v1.23.17", Distribution: "kind", CNI: "kindnet",
		Nodes: []clusterinfo.Node{docker, docker, docker}}
	got := describeCluster(&c)
	for _, want := range []string{"kind kind-kiamol-e2e", "v1.23.17, book-era: the kubelet runs Docker itself", "CNI: kindnet", "3 node(s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	// Book-era is the runtime seen, not the version alone.
	c.Nodes[1].Runtime = "containerd://1.6.20"
	if got := describeCluster(&c); strings.Contains(got, "book-era") || strings.Contains(got, "Docker") {
		t.Errorf("a v1.23 cluster with a containerd node is not the book's world: %q", got)
	}
	c.Nodes[1] = docker
	c.Version = "v1.30.2"
	if got := describeCluster(&c); !strings.Contains(got, "v1.30.2, the kubelet drives Docker through cri-dockerd") {
		t.Errorf("Docker after v1.24: %q", got)
	}
	c.Version, c.Distribution, c.Nodes = "v1.34.4", "other", []clusterinfo.Node{{Runtime: "containerd://2.1.4"}}
	if got := describeCluster(&c); strings.Contains(got, "book-era") || strings.HasPrefix(got, "other") {
		t.Errorf("%q", got)
	}
}

// A claim's path (how it reached the node's runtime) shows on its line.
func TestPathShowsOnTheClaimsLine(t *testing.T) {
	healed := spec("pods_test.go", 46, podsDescribe, []string{ch02ID}, "heals itself", types.SpecStatePassed, time.Second, types.Failure{})
	healed.ReportEntries = []types.ReportEntry{{Name: pathEntry, Value: types.WrapEntryValue("node pod: kubectl debug node/n1 --profile=sysadmin ...")}}
	v := read(t, types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{setUp(clusterEntryOf(clusterJSON)), healed}})
	var out bytes.Buffer
	writeSummary(&out, v, "")
	if !strings.Contains(out.String(), "      path: node pod: kubectl debug node/n1") {
		t.Errorf("summary:\n%s", out.String())
	}
	if !strings.Contains(markdown(v), "path: node pod: kubectl debug node/n1") {
		t.Errorf("markdown:\n%s", markdown(v))
	}
	// A long command is shortened on its own: what replaced the container
	// still shows after it.
	healed.ReportEntries = []types.ReportEntry{
		{Name: pathEntry, Value: types.WrapEntryValue("host runtime: removed docker://3c1b2a4d5e6f7 with " + strings.Repeat("docker container ls ", 30))},
		{Name: pathEntry, Value: types.WrapEntryValue("replaced by docker://9f8e7d6c5b4a3 in the same Pod")},
	}
	v = read(t, types.Report{SuiteSucceeded: true, SpecReports: types.SpecReports{setUp(clusterEntryOf(clusterJSON)), healed}})
	out.Reset()
	writeSummary(&out, v, "")
	if !strings.Contains(out.String(), "removed docker://3c1b2a4d5e6f7") || !strings.Contains(out.String(), "…; replaced by docker://9f8e7d6c5b4a3 in the same Pod") {
		t.Errorf("summary:\n%s", out.String())
	}
}

func TestTheHeaderSaysTheCgroupOverrideAndTheKubectlSkew(t *testing.T) {
	n := clusterinfo.Node{Name: "kiamol-e2e-v1.37-control-plane", Runtime: "containerd://1.6.20", Kubelet: "v1.37.2",
		Cgroup: clusterinfo.CgroupV1, CgroupV1Override: true}
	if got := describeNode(n); !strings.Contains(got, "cgroup v1 (the kubelet runs on it only because its configuration says failCgroupV1: false)") {
		t.Errorf("describeNode = %q", got)
	}
	n.CgroupV1Override = false
	if got := describeNode(n); !strings.HasSuffix(got, ", cgroup v1") {
		t.Errorf("describeNode = %q", got)
	}
	for _, tc := range []struct{ kubectl, server, want string }{
		{"v1.37.2", "v1.37.2", "kubectl: v1.37.2, the server's own minor"},
		{"v1.37.2", "v1.36.3", "kubectl: v1.37.2, one minor newer than the server: within kubectl's supported skew"},
		{"v1.37.2", "v1.35.4", "kubectl: v1.37.2, 2 minors newer than the server: outside kubectl's supported skew of one minor; each command above ran on this server as shown"},
		{"v1.37.2", "v1.38.0-beta.0", "kubectl: v1.37.2, one minor older than the server: within kubectl's supported skew"},
		{"v1.37.2", "v1.23.17", "kubectl: v1.37.2, 14 minors newer than the server: outside kubectl's supported skew of one minor; each command above ran on this server as shown"},
		{"", "v1.37.2", ""},
	} {
		if got := kubectlLine(&ClusterInfo{Kubectl: tc.kubectl, Version: tc.server}); got != tc.want {
			t.Errorf("kubectl %s, server %s: got %q, want %q", tc.kubectl, tc.server, got, tc.want)
		}
	}
}
