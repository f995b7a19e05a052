package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
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
		{nil, "unknown (set-up did not finish)"},
	} {
		if got := describeCluster(tc.c); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
