// Package clusterinfo describes the cluster a run checked (its version, each
// node's OS and container runtime) in the form the suite records in its
// report and cmd/verdict reads back: a distribution check is only worth
// something next to what was checked.
package clusterinfo

import (
	"context"
	"encoding/json"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// EntryName is the report entry that carries Info as JSON.
const EntryName = "cluster"

// Info is what the verdict shows about the cluster.
type Info struct {
	Name     string `json:"name"` // kubeconfig context
	Server   string `json:"server"`
	Version  string `json:"version"`
	Existing bool   `json:"existing"` // true: the suite did not make it
	Images   string `json:"images"`   // airgap, online, or "" for an existing cluster
	Nodes    []Node `json:"nodes"`
}

// Node is one node's platform as the kubelet reports it.
type Node struct {
	Name    string `json:"name"`
	OSImage string `json:"osImage"`
	Kernel  string `json:"kernel"`
	Runtime string `json:"runtime"`
	Kubelet string `json:"kubelet"`
}

// Read asks the cluster for its version and nodes.
func Read(ctx context.Context, cs kubernetes.Interface, name, server string) (Info, error) {
	info := Info{Name: name, Server: server}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return info, err
	}
	info.Version = v.GitVersion
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return info, err
	}
	for _, n := range nodes.Items {
		ni := n.Status.NodeInfo
		info.Nodes = append(info.Nodes, Node{Name: n.Name, OSImage: ni.OSImage, Kernel: ni.KernelVersion, Runtime: ni.ContainerRuntimeVersion, Kubelet: ni.KubeletVersion})
	}
	sort.Slice(info.Nodes, func(i, j int) bool { return info.Nodes[i].Name < info.Nodes[j].Name })
	return info, nil
}

// JSON is the entry's value: a string, so Ginkgo stores it verbatim.
func (i Info) JSON() string {
	raw, _ := json.Marshal(i)
	return string(raw)
}
