package oneline

import (
	"testing"
)

func TestTidy(t *testing.T) {
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
			if got := Tidy(tc.in); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
