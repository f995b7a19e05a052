package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"
	"github.com/kiamol-e2e/kiamol-e2e/internal/images"
	"github.com/kiamol-e2e/kiamol-e2e/internal/kubeconfig"
)

// Record is the suite's own account of a kind cluster it made, kept in the
// cache: which node containers are its, how it was made (for a later run
// that wants to reuse it), and what it wrote into kubeconfig files. A kind
// cluster of the same name with no record, or with nodes the record does not
// list, is someone else's, and the suite never deletes it.
type Record struct {
	Name string      `json:"name"`
	Mode images.Mode `json:"mode"`
	// Flavor is the air-gapped node's kind ("" in older records: kind).
	Flavor    string `json:"flavor,omitempty"`
	NodeImage string `json:"nodeImage"`
	// NodeCount is how many nodes it was made with (0 in records of
	// versions that made one only).
	NodeCount int `json:"nodeCount,omitempty"`
	// Nodes are the node containers' full IDs once kind has made them.
	Nodes []string `json:"nodes,omitempty"`
	// Creating is set from before kind's create until Nodes is known, so the
	// nodes of a create that was killed midway are still known as the
	// suite's (by their creation time, not before Since).
	Creating    bool                 `json:"creating,omitempty"`
	Since       time.Time            `json:"since"`
	Kubeconfigs []kubeconfig.Written `json:"kubeconfigs,omitempty"`
}

func recordPath(name string) (string, error) {
	cache, err := images.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "state", "clusters", name+".json"), nil
}

// readRecord returns the record for name, or ok false when there is none.
func readRecord(name string) (r Record, ok bool, err error) {
	path, err := recordPath(name)
	if err != nil {
		return r, false, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, false, fmt.Errorf("%s is damaged (%v): delete it if no kiamol-e2e cluster %q is running", path, err, name)
	}
	return r, true, nil
}

func (r Record) write() error {
	path, err := recordPath(r.Name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func removeRecord(name string) error {
	path, err := recordPath(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (r Record) nodeCount() int { return max(r.NodeCount, 1) }

// addKubeconfig notes a file kind will write the cluster's entries into,
// unless the record has it already.
func (r *Record) addKubeconfig(w kubeconfig.Written) {
	for _, have := range r.Kubeconfigs {
		if have.Path == w.Path {
			return
		}
	}
	r.Kubeconfigs = append(r.Kubeconfigs, w)
}

func (r *Record) hasKubeconfig(path string) bool {
	return slices.ContainsFunc(r.Kubeconfigs, func(w kubeconfig.Written) bool { return w.Path == path })
}

// forgetKubeconfigs undoes what kind wrote into each file.
func (r Record) forgetKubeconfigs() error {
	var errs []error
	for _, w := range r.Kubeconfigs {
		errs = append(errs, w.Forget())
	}
	return errors.Join(errs...)
}

// nodeInfo is a node container as Docker reports it.
type nodeInfo struct {
	ID      string
	Created time.Time
}

// nodesOf lists the cluster's node containers, running or not.
func nodesOf(ctx context.Context, name string) ([]nodeInfo, error) {
	out, err := docker.Run(ctx, "ps", "--all", "--no-trunc", "--filter", "label="+nodeLabel+"="+name, "--format", "{{.ID}}")
	if err != nil || out == "" {
		return nil, err
	}
	var nodes []nodeInfo
	for _, id := range strings.Fields(out) {
		created, err := docker.Run(ctx, "inspect", "--format", "{{.Created}}", id)
		if err != nil {
			return nil, err
		}
		t, _ := time.Parse(time.RFC3339Nano, created)
		nodes = append(nodes, nodeInfo{ID: id, Created: t})
	}
	return nodes, nil
}

// owns says whether every one of nodes is the record's.
func (r Record) owns(nodes []nodeInfo) bool {
	for _, n := range nodes {
		if slices.Contains(r.Nodes, n.ID) {
			continue
		}
		if r.Creating && !n.Created.Before(r.Since.Add(-time.Second)) {
			continue
		}
		return false
	}
	return true
}

// Owned says whether kind cluster name, on this machine's Docker, is one
// the suite made, and how it was made: an existing-cluster run on a kept
// cluster is then held to what the suite promises of its own clusters.
func Owned(ctx context.Context, name string) (Record, bool) {
	if docker.Ping(ctx) != nil {
		return Record{}, false
	}
	rec, ok, err := readRecord(name)
	if err != nil || !ok {
		return Record{}, false
	}
	nodes, err := nodesOf(ctx, name)
	if err != nil || len(nodes) == 0 || !rec.owns(nodes) {
		return Record{}, false
	}
	return rec, true
}

// Ownership is what this machine can tell of whether the cluster a
// kubeconfig context names is the suite's own kind cluster: the one thing
// that lets a run take privileged steps on it unasked.
type Ownership struct {
	Own    bool
	Name   string // the kind cluster's name the context implies
	Record Record // when Own
	// Why says it in one line, for the verdict's header.
	Why string
}

// OwnershipOf tells, for an existing cluster's kubeconfig context, whether
// it is a kind cluster the suite made on this machine (kept by an earlier
// run): its record names the node containers this machine's Docker runs.
// Without Docker that cannot be shown, and the cluster is taken for one the
// suite did not make, saying so: less is done unasked, never more.
func OwnershipOf(ctx context.Context, contextName string) Ownership {
	o := Ownership{Name: strings.TrimPrefix(contextName, "kind-")}
	if rec, ours := Owned(ctx, o.Name); ours {
		o.Own, o.Record = true, rec
		o.Why = "the suite's own " + string(rec.Mode) + " kind cluster " + o.Name + ", kept by an earlier run on this machine"
		return o
	}
	err := docker.Ping(ctx)
	switch _, recorded, _ := readRecord(o.Name); {
	case err != nil && recorded:
		o.Why = "the suite made a kind cluster " + o.Name + " on this machine, but no Docker engine answers here to show this is that cluster (" + err.Error() + "): treated as one the suite did not make"
	case err != nil:
		o.Why = "not known to be the suite's: no Docker engine answers here to tell (" + err.Error() + ")"
	default:
		o.Why = "not a kind cluster the suite made on this machine"
	}
	return o
}
