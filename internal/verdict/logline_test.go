package verdict

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"
)

// crictlRemoveFailed is the failure from the issue: crictl's klog line, as
// the runtime wrapper reports it after the command it ran.
const crictlRemoveFailed = "remove the container through the runtime\n" +
	"Unexpected error:\n" +
	"    <*errors.errorString | 0xc000123>: \n" +
	"    docker exec kiamol-e2e-control-plane crictl rm --force 3c1b2f0e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b: " +
	`E1127 07:41:31.384731    2492 remote_runtime.go:366] "StopContainer from runtime service failed" ` +
	`err="rpc error: code = DeadlineExceeded desc = context deadline exceeded" containerID="3c1b..."` + "\n" +
	"    ..."

// TestCauseLeadsWithTheError: the cause's first words after the
// description are the runtime's, not klog's header or the command line.
func TestCauseLeadsWithTheError(t *testing.T) {
	got := cause(types.Failure{Message: crictlRemoveFailed}, types.SpecStateFailed)
	// the error whole; the command after it as far as maxCause allows
	const lead = "remove the container through the runtime — error: StopContainer from runtime service failed: " +
		"rpc error: code = DeadlineExceeded desc = context deadline exceeded (docker exec "
	if !strings.HasPrefix(got, lead) {
		t.Errorf("got  %q\nwant %q...", got, lead)
	}
	if strings.Contains(got, "E1127") || strings.Contains(got, "remote_runtime.go") {
		t.Errorf("klog's header is still in %q", got)
	}
	if n := utf8.RuneCountInString(got); n > maxCause {
		t.Errorf("%d runes, more than %d", n, maxCause)
	}
}

// TestPodStateStaysWithinTheLimit: the waiting reason is what says why a
// pod is not Ready; whatever the cause gains, it must not push it out.
func TestPodStateStaysWithinTheLimit(t *testing.T) {
	const state = "deployment kiamol-e2e-3/hello-kiamol-2 has no Ready pod: container hello-kiamol-2: waiting ErrImagePull " +
		`failed to pull and unpack image "docker.io/kiamol/ch02-hello-kiamol:latest": failed to resolve reference ` +
		`"docker.io/kiamol/ch02-hello-kiamol:latest": dial tcp: lookup registry-1.docker.io: no such host (restarts 0); ` +
		"Available=False (MinimumReplicasUnavailable: Deployment does not have minimum availability.)"
	for _, tc := range []struct {
		name string
		msg  string
	}{
		{"the state alone", state},
		{"the state after a timestamp", "2026-03-14T09:31:12.123456Z " + state},
		{"the error an Eventually kept getting", "Timed out after 120.001s.\n" +
			"deployment kiamol-e2e-3/hello-kiamol-2 becomes available\n" +
			"The function passed to Eventually returned the following error:\n" +
			"    <*errors.errorString | 0xc0004b2010>: \n" +
			"    " + state + "\n" +
			"    {s: \"deployment kiamol-e2e-3/hello-kiamol-2 has no Ready pod: ...\"}"},
		{"the state behind a long kubectl command", "wait for the Deployment\nUnexpected error:\n" +
			"    <*errors.errorString | 0xc0004b2010>: \n" +
			"    kubectl --context kind-kiamol-e2e -n kiamol-e2e-3 rollout status deploy/hello-kiamol-2 --timeout=120s: " + state},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cause(types.Failure{Message: tc.msg}, types.SpecStateFailed)
			if !strings.Contains(got, "waiting ErrImagePull") {
				t.Errorf("ErrImagePull is not within the cause: %q", got)
			}
			if n := utf8.RuneCountInString(got); n > maxCause {
				t.Errorf("%d runes, more than %d", n, maxCause)
			}
		})
	}
}

func TestCleanLine(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{
			name: "klog header at the start, unstructured",
			in:   "E1127 07:41:31.384731    2492 remote_runtime.go:366] StopContainer from runtime service failed",
			want: "StopContainer from runtime service failed",
		},
		{
			name: "klog structured: the message and its error; the object's ID dropped",
			in:   `W0314 09:30:00.000001 17 pod_workers.go:1301] "Error syncing pod, skipping" err="failed to \"StartContainer\"" pod="kiamol-e2e-1/hello-kiamol"`,
			want: `Error syncing pod, skipping: failed to "StartContainer"`,
		},
		{
			name: "klog header after a short wrapper, indentation kept",
			in:   `    crictl stop 3c1b: F0101 00:00:00.000000 1 main.go:9] "giving up"`,
			want: "    crictl stop 3c1b: giving up",
		},
		{
			name: "two klog lines run together",
			in:   "I1127 07:41:31.000001 1 a.go:1] first: E1127 07:41:31.000002 1 b.go:2] second",
			want: "first: second",
		},
		{
			name: "an RFC 3339 timestamp",
			in:   "2026-03-14T09:30:00.123+01:00 connection refused",
			want: "connection refused",
		},
		{
			name: "a Go log timestamp",
			in:   "2026/03/14 09:30:00 dial tcp 10.96.0.1:443: i/o timeout",
			want: "dial tcp 10.96.0.1:443: i/o timeout",
		},
		{
			name: "crictl's logrus line after the command",
			in: `docker exec kiamol-e2e-control-plane crictl inspect 3c1b2f0e9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b: ` +
				`time="2026-03-14T09:30:00Z" level=fatal msg="getting the status of the container \"3c1b\": rpc error: code = NotFound desc = not found"`,
			want: `getting the status of the container "3c1b": rpc error: code = NotFound desc = not found ` +
				`(docker exec kiamol-e2e-control-plane crictl inspect 3c1b2f0e9a8d…)`,
		},
		{
			name: "a long command line goes after its error",
			in:   "kubectl --context kind-kiamol-e2e -n kiamol-e2e-1 exec hello-kiamol -- wget -qO- localhost: exit status 1",
			want: "exit status 1 (kubectl --context kind-kiamol-e2e -n kiamol-e2e-1 exec hello-kiamol -- wget -qO- localhost)",
		},
		{
			name: "a short one stays where it is",
			in:   "kubectl apply failed: exit status 1",
			want: "kubectl apply failed: exit status 1",
		},
		{
			name: "a lead-in with nothing after it stays",
			in:   "kubectl apply -f https://raw.githubusercontent.com/sixeyed/kiamol/master/ch02/pod.yaml:",
			want: "kubectl apply -f https://raw.githubusercontent.com/sixeyed/kiamol/master/ch02/pod.yaml:",
		},
		{
			name: "text that only looks like a command",
			in:   "deployment kiamol-e2e-3/hello-kiamol-2 has no Ready pod: container hello-kiamol-2: waiting ErrImagePull",
			want: "deployment kiamol-e2e-3/hello-kiamol-2 has no Ready pod: container hello-kiamol-2: waiting ErrImagePull",
		},
		{
			name: "a date inside the text is kept",
			in:   "x509: certificate has expired: current time 2026-03-14T09:30:00Z is after 2026-01-01T00:00:00Z",
			want: "x509: certificate has expired: current time 2026-03-14T09:30:00Z is after 2026-01-01T00:00:00Z",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := cleanLine(tc.in); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A list Gomega prints one element a line keeps its elements in the cause.
func TestCauseKeepsAListValue(t *testing.T) {
	msg := "kubectl get all lists no Pod, Deployment or ReplicaSet\nExpected\n    <[]string | len:2, cap:2>: [\n        \"pod/hello-kiamol-2-5dbf59b864-cmklk\",\n        \"service/x\",\n    ]\nnot to contain element matching\n    <*matchers.MatchRegexpMatcher | 0xc0001>: {Regexp: \"^(pod)/\"}\n"
	got := cause(types.Failure{Message: msg}, types.SpecStateFailed)
	if !strings.Contains(got, `"pod/hello-kiamol-2-5dbf59b864-cmklk"`) {
		t.Errorf("cause %q lost the list's elements", got)
	}
}

// A spec told to stop trying says why in the line after its description.
func TestCauseOfAStopTrying(t *testing.T) {
	msg := "Told to stop trying after 0.002s.\nevery node is Ready\ncluster: node kiamol-e2e-control-plane NotReady (Ready=Unknown, NodeStatusUnknown: Kubelet stopped posting node status.)"
	got := cause(types.Failure{Message: msg}, types.SpecStateFailed)
	if got != "every node is Ready: cluster: node kiamol-e2e-control-plane NotReady (Ready=Unknown, NodeStatusUnknown: Kubelet stopped posting node status.)" {
		t.Errorf("cause %q", got)
	}
}
