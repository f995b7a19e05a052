package kubeconfig

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeConfig writes a kubeconfig with one context (and its cluster and
// user) per name, the first current.
func writeConfig(t *testing.T, path string, names ...string) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for i, n := range names {
		cfg.Clusters[n] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:" + string(rune('1'+i)) + "443"}
		cfg.AuthInfos[n] = &clientcmdapi.AuthInfo{Token: "t-" + n}
		cfg.Contexts[n] = &clientcmdapi.Context{Cluster: n, AuthInfo: n}
	}
	if len(names) > 0 {
		cfg.CurrentContext = names[0]
	}
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

// kindMerges does to path what kind's create does: add its entries and make
// its context the current one.
func kindMerges(t *testing.T, path, name string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if os.IsNotExist(err) {
		cfg, err = clientcmdapi.NewConfig(), nil
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443"}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("x")}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

// A file holding another context keeps it, and its current-context, after
// the run's cluster comes and goes: E2E_KUBECONFIG_OUT pointed at a user's
// kubeconfig must not lose the user's entries.
func TestForgetKeepsWhatWasThere(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeConfig(t, path, "mine", "also-mine")
	w, err := Prepare(path, "kind-kiamol-e2e")
	if err != nil {
		t.Fatal(err)
	}
	if w.Created || w.PreviousContext != "mine" {
		t.Fatalf("prepare: %+v", w)
	}
	kindMerges(t, path, "kind-kiamol-e2e")
	if err := w.Forget(); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatalf("the user's file is gone or broken: %v", err)
	}
	for _, n := range []string{"mine", "also-mine"} {
		if cfg.Contexts[n] == nil || cfg.Clusters[n] == nil || cfg.AuthInfos[n] == nil {
			t.Errorf("entry %s lost", n)
		}
	}
	if cfg.Contexts["kind-kiamol-e2e"] != nil || cfg.Clusters["kind-kiamol-e2e"] != nil || cfg.AuthInfos["kind-kiamol-e2e"] != nil {
		t.Errorf("the run's entries are still there")
	}
	if cfg.CurrentContext != "mine" {
		t.Errorf("current-context %q, want the user's mine", cfg.CurrentContext)
	}
	// Forgetting twice (a run's end, then make down) changes nothing more.
	if err := w.Forget(); err != nil {
		t.Fatal(err)
	}
}

// A file the run created is the run's to remove.
func TestForgetRemovesTheFileItCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.kubeconfig")
	w, err := Prepare(path, "kind-kiamol-e2e")
	if err != nil || !w.Created {
		t.Fatalf("prepare: %+v %v", w, err)
	}
	kindMerges(t, path, "kind-kiamol-e2e")
	if err := w.Forget(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file still there: %v", err)
	}
}

// An entry of the same name that the suite did not write is refused before
// kind could overwrite it.
func TestPrepareRefusesAnEntryItDidNotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeConfig(t, path, "kind-kiamol-e2e")
	if _, err := Prepare(path, "kind-kiamol-e2e"); err == nil {
		t.Fatal("a file that already has kind-kiamol-e2e was accepted")
	}
	os.WriteFile(path, []byte("not: [a kubeconfig"), 0o600)
	if _, err := Prepare(path, "kind-kiamol-e2e"); err == nil {
		t.Fatal("a broken file was accepted")
	}
}
