package kubectl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fakeKubectl is a kubectl that prints its arguments and environment, or
// fails as kubectl does, so the tests see exactly what Run passes.
func fakeKubectl(t *testing.T) Kubectl {
	t.Helper()
	script := `#!/bin/sh
case "$*" in
  *port-forward*) echo "Forwarding from 127.0.0.1:40123 -> 80"; echo "Forwarding from [::1]:40124 -> 80"; exec sleep 30 ;;
  *fail*) echo 'E1127 07:41:31.384731    2492 exec.go:12] error: unable to upgrade connection: pod does not exist' >&2; exit 1 ;;
esac
echo "args: $*"
echo "KUBECONFIG=$KUBECONFIG KUBERC=$KUBERC"
echo "in: $(pwd)"
`
	bin := filepath.Join(t.TempDir(), "kubectl")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return Kubectl{Binary: bin, Kubeconfig: "/a:/b", Context: "kind-x", CacheDir: "/tmp/c", Timeout: 10 * time.Second}
}

func TestRunPassesTheClusterAndNamespace(t *testing.T) {
	k := fakeKubectl(t).In("pods-abc")
	r, err := k.Run(context.Background(), "run", "hello-kiamol", "--image=kiamol/ch02-hello-kiamol")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Stdout, "args: --context kind-x --namespace pods-abc --cache-dir /tmp/c run hello-kiamol --image=kiamol/ch02-hello-kiamol") {
		t.Errorf("stdout: %s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "KUBECONFIG=/a:/b KUBERC=off") {
		t.Errorf("environment: %s", r.Stdout)
	}
	if r.Command != "kubectl run hello-kiamol --image=kiamol/ch02-hello-kiamol" {
		t.Errorf("command as typed: %q", r.Command)
	}
}

// A relative path in an argument is read from Dir (kubectl cp's local file
// on Windows, whose C: kubectl would read as a Pod's name).
func TestRunRunsInDir(t *testing.T) {
	k := fakeKubectl(t)
	k.Dir = t.TempDir()
	r, err := k.Run(context.Background(), "cp", "hello-kiamol:/usr/share/nginx/html/index.html", "kiamol/ch02/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if want := "in: " + k.Dir + "\n"; !strings.Contains(r.Stdout, want) {
		t.Errorf("stdout %q, want %q", r.Stdout, want)
	}
	if r.Command != "kubectl cp hello-kiamol:/usr/share/nginx/html/index.html kiamol/ch02/index.html" {
		t.Errorf("command as typed: %q", r.Command)
	}
}

func TestRunErrorLeadsWithKubectlsWords(t *testing.T) {
	_, err := fakeKubectl(t).Run(context.Background(), "exec", "fail", "--", "sh", "-c", "hostname -i")
	if err == nil {
		t.Fatal("no error")
	}
	want := "unable to upgrade connection: pod does not exist (`kubectl exec fail -- sh -c 'hostname -i'`, exit 1)"
	if err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.ExitCode != 1 {
		t.Errorf("not an exit 1: %v", err)
	}
}

func TestStartWaitsForALineAndStops(t *testing.T) {
	p, err := fakeKubectl(t).Start(context.Background(), "port-forward", "pod/x", ":80")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := p.WaitFor(ctx, regexp.MustCompile(`^Forwarding from 127\.0\.0\.1:(\d+)`))
	if err != nil || m[1] != "40123" {
		t.Fatalf("WaitFor: %v %v", m, err)
	}
	start := time.Now()
	p.Stop()
	if !p.Ended() || time.Since(start) > 8*time.Second {
		t.Errorf("Stop took %s, ended %v", time.Since(start), p.Ended())
	}
}

func TestLineQuotesAsAShellNeeds(t *testing.T) {
	got := Line("exec", "hello-kiamol", "--", "sh", "-c", "wget -O - http://localhost | head -n 4")
	if got != "kubectl exec hello-kiamol -- sh -c 'wget -O - http://localhost | head -n 4'" {
		t.Errorf("%s", got)
	}
}

func TestSaidDropsBoilerplate(t *testing.T) {
	e := &Error{Result: Result{Stderr: `error: Internal error occurred: Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "0123abcdef": OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown` + "\n"}}
	if got := e.Said(); got != `exec: "sh": executable file not found in $PATH` {
		t.Errorf("%q", got)
	}
}

// An exec the kubelet's port refuses names the port, not the request's URL.
func TestSaidDropsTheRequestsURL(t *testing.T) {
	e := &Error{Result: Result{Stderr: `error: error sending request: Post "https://192.168.0.3:10250/exec/ns/hello-kiamol/hello-kiamol?command=sh&command=-c&command=hostname+-i&error=1&output=1": dial tcp 192.168.0.3:10250: connect: connection refused` + "\n"}}
	if got := e.Said(); got != "error sending request: dial tcp 192.168.0.3:10250: connect: connection refused" {
		t.Errorf("%q", got)
	}
}

func TestProblemGivesTheRootCause(t *testing.T) {
	p := &Process{Command: "kubectl port-forward pod/x :80", done: make(chan struct{})}
	p.stderr.WriteString(`E1127 09:58:01.123456   12345 portforward.go:424] "Unhandled Error" err="an error occurred forwarding 37299 -> 80: error forwarding port 80 to pod 1a2b, uid : failed to execute portforward in network namespace \"/var/run/netns/cni-1\": failed to connect to localhost:80 inside namespace \"1a2b\", IPv4: dial tcp4 127.0.0.1:80: connect: connection refused IPv6 dial tcp6: address localhost: no suitable address "` + "\n")
	p.stderr.WriteString("error: lost connection to pod\n")
	got := p.Problem()
	want := `failed to connect to localhost:80 inside namespace "1a2b", IPv4: dial tcp4 127.0.0.1:80: connect: connection refused`
	if !strings.HasPrefix(got, want) {
		t.Errorf("got  %q\nwant %q...", got, want)
	}
}

// A port-forward that kubectl gives up before it listens says why, in
// kubectl's words (here the kubelet's port firewalled), not what the suite
// waited for.
func TestAForwardThatNeverStartsSaysWhy(t *testing.T) {
	script := "#!/bin/sh\necho 'error: error upgrading connection: error dialing backend: dial tcp 172.18.0.2:10250: connect: connection refused' >&2\nexit 1\n"
	bin := filepath.Join(t.TempDir(), "kubectl")
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := Kubectl{Binary: bin}.Start(context.Background(), "port-forward", "pod/hello-kiamol", ":80")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = p.WaitFor(ctx, regexp.MustCompile(`^Forwarding from`))
	want := "error dialing backend: dial tcp 172.18.0.2:10250: connect: connection refused (`kubectl port-forward pod/hello-kiamol :80` exited, exit status 1, before it was ready)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if !p.Ended() || !strings.HasSuffix(p.Problem(), "has exited, exit status 1)") {
		t.Errorf("problem %q", p.Problem())
	}
}
