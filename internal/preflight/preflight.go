// Package preflight checks a run's inputs before anything is created: the
// kubeconfig and the cluster it names, the Docker engine, the chapter's
// manifests and the label filter. Each failure is a Problem: one line that
// says what is wrong and what to do, because a newcomer reads the last line
// of the output and nothing else.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kiamol-e2e/kiamol-e2e/internal/docker"

	"github.com/kiamol-e2e/kiamol-e2e/internal/oneline"
)

// Problem is a bad input, said in one line.
type Problem struct {
	What string // what is wrong
	Do   string // what to do about it
}

func (p *Problem) Error() string {
	return strings.TrimSuffix(oneline.Collapse(p.What), ".") + "; " + oneline.Collapse(p.Do)
}

func problem(do, format string, args ...any) *Problem {
	return &Problem{What: fmt.Sprintf(format, args...), Do: do}
}

// Target is the existing cluster a kubeconfig names, ready to talk to.
type Target struct {
	Files   []string // the kubeconfig files that exist, in precedence order
	Context string   // the context in use
	Server  string
	Config  *rest.Config
}

const pointAtCluster = "point KUBECONFIG at your cluster's kubeconfig (and CONTEXT at its context), or drop EXISTING to let the suite make a kind cluster"

// Kubeconfig loads the kubeconfig the way kubectl does (KUBECONFIG, a list,
// or ~/.kube/config) but, unlike kubectl, says which file is missing or broken
// rather than falling back to an in-cluster or localhost default.
func Kubeconfig(kubeconfig, contextName string) (*Target, error) {
	given := filepath.SplitList(kubeconfig)
	source := "KUBECONFIG=" + kubeconfig
	if len(given) == 0 {
		given = []string{clientcmd.RecommendedHomeFile}
		source = "KUBECONFIG is unset and " + clientcmd.RecommendedHomeFile
	}
	var files []string
	for _, f := range given {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, problem(pointAtCluster, "no kubeconfig: %s does not exist", source)
	}
	for _, f := range files {
		if _, err := clientcmd.LoadFromFile(f); err != nil {
			return nil, problem("fix the file or point KUBECONFIG at another one", "kubeconfig %s is not valid: %s", f, kubeconfigCause(err))
		}
	}
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: files}
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: contextName})
	raw, err := loader.RawConfig()
	if err != nil {
		return nil, problem("fix the file or point KUBECONFIG at another one", "kubeconfig %s cannot be read: %s", strings.Join(files, ":"), oneline.First(err.Error()))
	}
	use := contextName
	if use == "" {
		use = raw.CurrentContext
	}
	if use == "" {
		return nil, problem("set CONTEXT to one of: "+contextNames(raw), "kubeconfig %s has no current-context", strings.Join(files, ":"))
	}
	if _, ok := raw.Contexts[use]; !ok {
		return nil, problem("set CONTEXT to one of: "+contextNames(raw), "context %q is not in kubeconfig %s", use, strings.Join(files, ":"))
	}
	cfg, err := loader.ClientConfig()
	if err != nil {
		return nil, problem("fix context "+use+" in the kubeconfig", "kubeconfig %s, context %q: %s", strings.Join(files, ":"), use, oneline.First(err.Error()))
	}
	return &Target{Files: files, Context: use, Server: cfg.Host, Config: cfg}, nil
}

// kubeconfigCause says why a file is not a kubeconfig without the Go type
// dump client-go's decoder puts in its message.
func kubeconfigCause(err error) string {
	msg := oneline.First(err.Error())
	if strings.Contains(msg, "couldn't get version/kind") {
		return "not a kubeconfig (no apiVersion and kind: Config)"
	}
	return msg
}

func contextNames(raw clientcmdapi.Config) string {
	var names []string
	for n := range raw.Contexts {
		names = append(names, n)
	}
	if len(names) == 0 {
		return "(the kubeconfig has no contexts)"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Reachable asks the cluster for its version, which needs no permissions
// beyond a working connection and credentials.
func Reachable(ctx context.Context, t *Target, within time.Duration) (*version.Info, error) {
	cfg := rest.CopyConfig(t.Config)
	cfg.Timeout = within
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, problem("fix context "+t.Context+" in the kubeconfig", "context %q: %s", t.Context, oneline.First(err.Error()))
	}
	info, err := dc.ServerVersion()
	if err == nil {
		return info, nil
	}
	if apierrors.IsUnauthorized(err) || apierrors.IsForbidden(err) {
		return nil, problem("refresh the credentials in the kubeconfig (kubectl --context "+t.Context+" get nodes should work)",
			"the cluster at %s refused context %q's credentials", t.Server, t.Context)
	}
	return nil, problem("is the cluster running? check with: kubectl --context "+t.Context+" cluster-info",
		"cannot reach the cluster of context %q at %s: %s", t.Context, t.Server, networkCause(err))
}

// networkCause keeps the part of a client error that names the failure
// (connection refused, no such host, timeout), not the URL it was fetching.
func networkCause(err error) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return oneline.First(err.Error())
}

// Docker says whether the docker CLI is installed and its engine answers,
// and what to do if not.
func Docker(ctx context.Context) error {
	err := docker.Ping(ctx)
	switch {
	case errors.Is(err, docker.ErrNotInstalled):
		return problem("install Docker Engine (on Debian as root: make host), or run against a cluster of your own with EXISTING=1",
			"%s", err)
	case err != nil:
		return problem("start it (on Debian as root: make host), then retry",
			"%s", err)
	}
	return nil
}

// LabelFilter says whether filter is valid and selects at least one of the
// suite's specs, each given as its set of labels.
func LabelFilter(filter string, specs [][]string) error {
	if strings.TrimSpace(filter) == "" {
		return nil
	}
	match, err := types.ParseLabelFilter(filter)
	if err != nil {
		return problem("labels in the suite: "+strings.Join(allLabels(specs), ", "), "label filter %q is not valid: %s", filter, ginkgoCause(err))
	}
	for _, labels := range specs {
		if match(labels) {
			return nil
		}
	}
	return problem("use some of: "+strings.Join(allLabels(specs), ", ")+" (for example LABELS='pods && !self-healing')",
		"label filter %q selects none of the suite's %d specs", filter, len(specs))
}

func allLabels(specs [][]string) []string {
	var all []string
	for _, labels := range specs {
		for _, l := range labels {
			if !slices.Contains(all, l) {
				all = append(all, l)
			}
		}
	}
	sort.Strings(all)
	return all
}

// ginkgoCause is the explanation line of a Ginkgo error, without its
// colour markup: Ginkgo puts the filter first and the reason last.
func ginkgoCause(err error) string {
	var gerr types.GinkgoError
	if errors.As(err, &gerr) {
		return oneline.Last(markup.ReplaceAllString(gerr.Message, ""))
	}
	return oneline.First(err.Error())
}

var markup = regexp.MustCompile(`\{\{[^}]*\}\}`)
