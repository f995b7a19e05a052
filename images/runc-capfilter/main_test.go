package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

var allButSysResource = limits{bounding: 0x000001fffeffffff} // CAP_SYS_RESOURCE (24) missing, as on these machines

func TestSubcommandSkipsGlobalFlags(t *testing.T) {
	sub, rest := subcommand([]string{"--root", "/run/runc", "--log", "/x.log", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b", "id"})
	if sub != "create" || len(rest) != 3 {
		t.Fatalf("got %q %v", sub, rest)
	}
}

func TestCreateDropsCapabilitiesOutsideTheBoundingSet(t *testing.T) {
	dir := t.TempDir()
	cfg := map[string]any{"ociVersion": "1.0.2", "process": map[string]any{"capabilities": map[string]any{
		"bounding":  []any{"CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"},
		"effective": []any{"CAP_SYS_RESOURCE"},
	}}}
	writeJSON(t, filepath.Join(dir, "config.json"), cfg)

	if err := filterFor([]string{"--root", "/r", "create", "--bundle", dir, "ctr"}, allButSysResource); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	readJSON(t, filepath.Join(dir, "config.json"), &got)
	caps := got["process"].(map[string]any)["capabilities"].(map[string]any)
	if b := caps["bounding"].([]any); len(b) != 2 || b[0] != "CAP_CHOWN" || b[1] != "CAP_SYS_ADMIN" {
		t.Errorf("bounding = %v", b)
	}
	if e := caps["effective"].([]any); len(e) != 0 {
		t.Errorf("effective = %v", e)
	}
	if got["ociVersion"] != "1.0.2" {
		t.Errorf("other fields lost: %v", got)
	}
}

func TestExecRewritesTheProcessFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "process.json")
	writeJSON(t, p, map[string]any{"capabilities": map[string]any{"permitted": []any{"CAP_SYS_RESOURCE", "CAP_KILL"}}})
	if err := filterFor([]string{"exec", "--process=" + p, "--detach", "ctr"}, allButSysResource); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	readJSON(t, p, &got)
	if perm := got["capabilities"].(map[string]any)["permitted"].([]any); len(perm) != 1 || perm[0] != "CAP_KILL" {
		t.Errorf("permitted = %v", perm)
	}
}

func TestFullBoundingSetLeavesFilesAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	raw := []byte(`{"process":{"oomScoreAdj":-998,"capabilities":{"bounding":["CAP_SYS_RESOURCE"]}},  "x": 1}`)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := filterFor([]string{"run", "-b", dir, "ctr"}, limits{bounding: 0x000001ffffffffff}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(raw) {
		t.Errorf("file rewritten although nothing was dropped: %s", after)
	}
}

// The dockershim asks for -998 on every sandbox; without CAP_SYS_RESOURCE
// runc cannot set a score below its own, so the request is raised to it.
func TestCreateRaisesAnOOMScoreBelowTheCallersOwn(t *testing.T) {
	for _, c := range []struct {
		asked, floor, want float64
	}{{-998, 0, 0}, {-998, -500, -500}, {1000, 0, 1000}, {0, 0, 0}} {
		dir := t.TempDir()
		writeJSON(t, filepath.Join(dir, "config.json"), map[string]any{"process": map[string]any{"oomScoreAdj": c.asked}})
		lim := allButSysResource
		lim.oomFloor = int(c.floor)
		if err := filterFor([]string{"create", "--bundle", dir, "ctr"}, lim); err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		readJSON(t, filepath.Join(dir, "config.json"), &got)
		if adj := got["process"].(map[string]any)["oomScoreAdj"]; adj != c.want {
			t.Errorf("asked %v with own score %v: oomScoreAdj = %v, want %v", c.asked, c.floor, adj, c.want)
		}
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}
