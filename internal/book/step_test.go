package book

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"kubectl get pods", []string{"kubectl", "get", "pods"}},
		{"kubectl get pod x -o jsonpath='{.status.containerStatuses[0].containerID}'", []string{"kubectl", "get", "pod", "x", "-o", "jsonpath={.status.containerStatuses[0].containerID}"}},
		{"kubectl exec x -- sh -c 'wget -O - http://localhost | head -n 4'", []string{"kubectl", "exec", "x", "--", "sh", "-c", "wget -O - http://localhost | head -n 4"}},
		{`kubectl exec x -- sh -c "echo \"hi\""`, []string{"kubectl", "exec", "x", "--", "sh", "-c", `echo "hi"`}},
	} {
		got, err := Words(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Words(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	sub := "kubectl exec deploy/sleep-1 -- ping -c 2 $(kubectl get pod -l app=sleep-2 --output jsonpath='{.items[0].status.podIP}')"
	if got, err := Words(sub); err != nil || len(got) != 8 || got[7] != "$(kubectl get pod -l app=sleep-2 --output jsonpath='{.items[0].status.podIP}')" {
		t.Errorf("Words(%q) = %q, %v: a command substitution is one word", sub, got, err)
	}
	if Kubectl(sub).Check() == nil {
		t.Error("a step with a command substitution it does not replace was accepted")
	}
	for _, bad := range []string{"", "kubectl get pods | wc -l", "kubectl exec x -- sh -c 'unterminated", "docker rm $(docker ps -q", "docker ps -q $HOME"} {
		if _, err := Words(bad); err == nil {
			t.Errorf("Words(%q) took a line that needs a shell", bad)
		}
	}
}

func TestArgsApplySubstitutionsOnce(t *testing.T) {
	fwd := Kubectl("kubectl port-forward pod/hello-kiamol 8080:80").Sub("8080:80", "--address=127.0.0.1 :80", "a free port")
	got, err := fwd.Args(nil)
	if want := []string{"port-forward", "pod/hello-kiamol", "--address=127.0.0.1", ":80"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Args = %q, %v; want %q", got, err, want)
	}
	url := Kubectl("kubectl apply -f https://example/pod.yaml").SubAtRun("https://example/pod.yaml", "a local server")
	if _, err := url.Args(nil); err == nil {
		t.Error("a substitution made at run time ran without its value")
	}
	if got, err := url.Args(map[string]string{"https://example/pod.yaml": "http://127.0.0.1:1/pod.yaml"}); err != nil || got[2] != "http://127.0.0.1:1/pod.yaml" {
		t.Errorf("Args = %q, %v", got, err)
	}
	if _, err := fwd.Args(map[string]string{"pod/hello-kiamol": "pod/other"}); err == nil {
		t.Error("a word the step does not declare was replaced")
	}
	if err := Kubectl("kubectl get pods").Sub("deploy", "x", "why").Check(); err == nil {
		t.Error("a substitution of a word the command lacks was accepted")
	}
}

func TestRuntimeStepNamesItsContainer(t *testing.T) {
	s := Runtime("docker container rm -f $(docker container ls -q --filter label=io.kubernetes.container.name=hello-kiamol)", "why")
	if !s.IsRuntime() || s.Container() != "hello-kiamol" || s.Check() != nil {
		t.Errorf("runtime step: runtime=%v container=%q check=%v", s.IsRuntime(), s.Container(), s.Check())
	}
	if _, err := s.Args(nil); err == nil {
		t.Error("a runtime step ran as kubectl")
	}
}

func TestValidate(t *testing.T) {
	step := []Step{Kubectl("kubectl get pods")}
	bad := &Chapter{ID: "chX", Claims: []Claim{{ID: "2.1/a", Says: "s", Steps: step}, {ID: "2.1/a", Says: "s", Steps: step}}}
	if bad.Validate() == nil {
		t.Error("a claim listed twice was accepted")
	}
	if (&Chapter{ID: "chX", Claims: []Claim{{ID: "pod-ready", Says: "s", Steps: step}}}).Validate() == nil {
		t.Error("a claim ID without its section was accepted")
	}
	if (&Chapter{ID: "chX", Claims: []Claim{{ID: "2.1/a", Says: "s"}}}).Validate() == nil {
		t.Error("a claim without the book's commands was accepted")
	}
}
