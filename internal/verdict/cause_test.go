package verdict

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/onsi/ginkgo/v2/types"
)

func TestCause(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, tc := range []struct {
		name  string
		state types.SpecState
		f     types.Failure
		want  string
	}{
		{
			name:  "Eventually timed out: description and the actual value",
			state: types.SpecStateFailed,
			f:     types.Failure{Message: selfHealTimeout},
			want:  "pod kiamol-e2e-1/hello-kiamol is Ready — got pod kiamol-e2e-1/hello-kiamol phase=Pending ready=false; container hello-kiamol: waiting ErrImagePull pull access denied (restarts 0)",
		},
		{
			name:  "custom matcher after a list of events",
			state: types.SpecStateFailed,
			f: types.Failure{Message: "Timed out after 120.002s.\n" +
				"pod kiamol-e2e-1/hello-kiamol becomes Ready; latest events:\n" +
				"  Normal Scheduled Pod/hello-kiamol: Successfully assigned kiamol-e2e-1/hello-kiamol to kiamol-e2e-worker\n" +
				"  Warning Failed Pod/hello-kiamol: Failed to pull image \"kiamol/ch02-hello-kiamol\": not found\n" +
				"expected a Running, Ready pod; last seen: pod kiamol-e2e-1/hello-kiamol phase=Pending ready=false; container hello-kiamol: waiting ImagePullBackOff Back-off pulling image (restarts 0)"},
			// 200 runes: the detail is cut, the state it names is not
			want: "pod kiamol-e2e-1/hello-kiamol becomes Ready — expected a Running, Ready pod; last seen: pod kiamol-e2e-1/hello-kiamol phase=Pending ready=false; container hello-kiamol: waiting ImagePullBackOff Back-…",
		},
		{
			name:  "the polled function kept returning an error, with a description",
			state: types.SpecStateFailed,
			f: types.Failure{Message: "Timed out after 30.001s.\n" +
				"GET / through http://127.0.0.1:40123 serves the chapter's page\n" +
				"The function passed to Eventually returned the following error:\n" +
				"    <*url.Error | 0xc000412000>: \n" +
				"    Get \"http://127.0.0.1:40123/\": dial tcp 127.0.0.1:40123: connect: connection refused\n" +
				"    {Op: \"Get\", URL: \"http://127.0.0.1:40123/\", Err: <*net.OpError | 0xc0003b2000>{}}"},
			want: `GET / through http://127.0.0.1:40123 serves the chapter's page — error: Get "http://127.0.0.1:40123/": dial tcp 127.0.0.1:40123: connect: connection refused`,
		},
		{
			name:  "the polled function kept returning an error, no description",
			state: types.SpecStateFailed,
			f: types.Failure{Message: "Context was cancelled after 29.998s.\n" +
				"The function passed to Eventually returned the following error:\n" +
				"    <*errors.StatusError | 0xc0004a2be0>: \n" +
				"    pods \"hello-kiamol\" not found\n" +
				"    {\n        ErrStatus: {Status: \"Failure\", Reason: \"NotFound\", Code: 404},\n    }"},
			want: `pods "hello-kiamol" not found`,
		},
		{
			name:  "Expect(err).NotTo(HaveOccurred(), description)",
			state: types.SpecStateFailed,
			f:     types.Failure{Message: registryError},
			want:  "read containerd config on kiamol-e2e-worker — error: exit status 1",
		},
		{
			name:  "a bare Expected block",
			state: types.SpecStateFailed,
			f:     types.Failure{Message: "Expected\n    <int>: 2\nto equal\n    <int>: 1"},
			want:  "Expected 2 to equal 1",
		},
		{
			name:  "colour codes and runs of spaces",
			state: types.SpecStateFailed,
			f:     types.Failure{Message: "\x1b[1m\x1b[38;5;9mkubectl   apply\x1b[0m failed:\t exit status 1\n"},
			want:  "kubectl apply failed: exit status 1",
		},
		{
			name:  "a lead-in line takes the next line with it",
			state: types.SpecStateFailed,
			f:     types.Failure{Message: "kubectl apply -f pod.yaml:\nerror: resource mapping not found for name: \"hello-kiamol-3\"\n"},
			want:  `kubectl apply -f pod.yaml: error: resource mapping not found for name: "hello-kiamol-3"`,
		},
		{
			name:  "nothing but a preamble",
			state: types.SpecStateFailed,
			f:     types.Failure{Message: "\n\nTimed out after 5.000s.\n"},
			want:  "Timed out after 5.000s.",
		},
		{
			name:  "a panic says what panicked",
			state: types.SpecStatePanicked,
			f:     types.Failure{Message: "Test Panicked", ForwardedPanic: "runtime error: invalid memory address or nil pointer dereference"},
			want:  "panic: runtime error: invalid memory address or nil pointer dereference",
		},
		{
			name:  "a spec timeout with what the node saw last",
			state: types.SpecStateTimedout,
			f: types.Failure{Message: "A spec timeout occurred", AdditionalFailure: &types.AdditionalFailure{
				State: types.SpecStateFailed,
				Failure: types.Failure{Message: "A spec timeout occurred and then the following failure was recorded in the timedout node before it exited:\n" +
					"Context was cancelled after 179.990s.\n" +
					"pod kiamol-e2e-1/hello-kiamol is Ready\n" +
					"Expected\n    <string>: pod kiamol-e2e-1/hello-kiamol phase=Running ready=false\nto contain substring\n    <string>: ready=true"},
			}},
			want: "A spec timeout occurred: pod kiamol-e2e-1/hello-kiamol is Ready — got pod kiamol-e2e-1/hello-kiamol phase=Running ready=false",
		},
		{"interrupted, no message", types.SpecStateInterrupted, types.Failure{}, "interrupted"},
		{"timed out, no message", types.SpecStateTimedout, types.Failure{}, "timed out"},
		{"interrupted by the user", types.SpecStateInterrupted, types.Failure{Message: "Interrupted by User"}, "Interrupted by User"},
		{"truncated", types.SpecStateFailed, types.Failure{Message: long}, strings.Repeat("é", maxCause-1) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cause(tc.f, tc.state)
			if got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			if n := utf8.RuneCountInString(got); n > maxCause {
				t.Errorf("%d runes, more than %d", n, maxCause)
			}
		})
	}
}
