// Package kubeconfig loads the kubeconfig of the cluster under test into
// clients.
package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Clients loads a kubeconfig (a path, or a KUBECONFIG-style list) and
// optional context into a REST config and a typed clientset, polite enough
// for polling from several processes.
func Clients(kubeconfig, context string) (*rest.Config, kubernetes.Interface, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	if files := filepath.SplitList(kubeconfig); len(files) > 1 {
		rules = &clientcmd.ClientConfigLoadingRules{Precedence: files}
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, cs, nil
}

// Written is what the suite must undo in a kubeconfig file kind wrote a
// cluster's entries into: the file itself when the suite created it, else
// only the entries it added, with the file's current-context as it was.
type Written struct {
	Path    string `json:"path"`
	Created bool   `json:"created"` // the file did not exist before
	Context string `json:"context"` // kind's context, cluster and user name: kind-<cluster>
	// PreviousContext is the file's current-context before kind made its
	// own the current one.
	PreviousContext string `json:"previousContext,omitempty"`
}

// Prepare records what path holds before kind merges context into it, and
// refuses a file that already has an entry of that name: kind would
// overwrite it, and the suite could not tell its entry from the user's.
func Prepare(path, context string) (Written, error) {
	w := Written{Path: path, Context: context}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		w.Created = true
		return w, nil
	}
	if err != nil {
		return w, err
	}
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return w, fmt.Errorf("kubeconfig %s is not valid (%v): the suite will not write into it; set E2E_KUBECONFIG_OUT to another file", path, err)
	}
	_, c := cfg.Contexts[context]
	_, k := cfg.Clusters[context]
	_, u := cfg.AuthInfos[context]
	if c || k || u {
		return w, fmt.Errorf("kubeconfig %s already has an entry named %s that the suite did not write: it will not overwrite it; set E2E_KUBECONFIG_OUT to another file", path, context)
	}
	w.PreviousContext = cfg.CurrentContext
	return w, nil
}

// Forget undoes what kind wrote: it removes the file the suite created, or
// from a file that was there before, only the entries named w.Context, and
// gives back the current-context it had.
func (w Written) Forget() error {
	if w.Path == "" {
		return nil
	}
	if w.Created {
		err := os.Remove(w.Path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	cfg, err := clientcmd.LoadFromFile(w.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // someone removed it since: nothing of ours is left
	}
	if err != nil {
		return fmt.Errorf("kubeconfig %s: %w", w.Path, err)
	}
	_, c := cfg.Contexts[w.Context]
	_, k := cfg.Clusters[w.Context]
	_, u := cfg.AuthInfos[w.Context]
	if !c && !k && !u {
		return nil
	}
	delete(cfg.Contexts, w.Context)
	delete(cfg.Clusters, w.Context)
	delete(cfg.AuthInfos, w.Context)
	if cfg.CurrentContext == w.Context {
		cfg.CurrentContext = ""
		if _, ok := cfg.Contexts[w.PreviousContext]; ok {
			cfg.CurrentContext = w.PreviousContext
		}
	}
	return clientcmd.WriteToFile(*cfg, w.Path)
}
