package verdict

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/chapters/ch02"
	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
)

const clusterJSON = `{"name":"kind-kiamol-e2e","server":"https://127.0.0.1:1234","version":"v1.34.4","existing":false,"images":"airgap",` +
	`"nodes":[{"name":"kiamol-e2e-control-plane","osImage":"Debian GNU/Linux 12 (bookworm)","kernel":"6.1.0-31-amd64","runtime":"containerd://2.1.4","kubelet":"v1.34.4"}]}`

// clusterEntryOf is the entry as the suite adds it,
// AddReportEntry("cluster", string(json)): WrapEntryValue is what
// AddReportEntry stores, and its MarshalJSON is what the report file holds.
func clusterEntryOf(value any) types.ReportEntry {
	return types.ReportEntry{
		Name:       clusterEntry,
		Visibility: types.ReportEntryVisibilityAlways,
		Location:   types.CodeLocation{FileName: "/work/main/e2e/suite_test.go", LineNumber: 71},
		Value:      types.WrapEntryValue(value),
	}
}

func setUp(entries ...types.ReportEntry) types.SpecReport {
	return types.SpecReport{
		LeafNodeType:     types.NodeTypeSynchronizedBeforeSuite,
		LeafNodeLocation: types.CodeLocation{FileName: "/work/main/e2e/suite_test.go", LineNumber: 49},
		State:            types.SpecStatePassed,
		RunTime:          41 * time.Second,
		ReportEntries:    entries,
	}
}

func spec(file string, line int, describe string, labels []string, it string, state types.SpecState, took time.Duration, f types.Failure) types.SpecReport {
	return types.SpecReport{
		ContainerHierarchyTexts:  []string{describe},
		ContainerHierarchyLabels: [][]string{labels},
		LeafNodeType:             types.NodeTypeIt,
		LeafNodeLocation:         types.CodeLocation{FileName: "/work/main/e2e/" + file, LineNumber: line},
		LeafNodeText:             textFor(labels, it),
		State:                    state,
		RunTime:                  took,
		Failure:                  f,
	}
}

// textFor is a spec's text: a chapter 2 spec's starts with its claim ID,
// as claim() makes it.
func textFor(labels []string, it string) string {
	if slices.Contains(labels, ch02ID) {
		return claimed(it)
	}
	return it
}

// ch02 is the label every chapter 2 spec carries, and ch02Title the
// verdict's heading for them.
var ch02ID, ch02Title = ch02.Chapter.ID, ch02.Chapter.Title

const (
	podsDescribe    = "Chapter 2, Pods: kubectl run hello-kiamol --image=kiamol/ch02-hello-kiamol"
	deployDescribe  = "Chapter 2, Deployments: kubectl create deployment hello-kiamol-2 --image=kiamol/ch02-hello-kiamol"
	manifestsDesc   = "Chapter 2, manifests: kubectl apply -f pod.yaml / deployment.yaml"
	selfHealTimeout = "pod kiamol-e2e-1/hello-kiamol not Ready after 1m0s: pod kiamol-e2e-1/hello-kiamol phase=Pending ready=false; container hello-kiamol: waiting ErrImagePull pull access denied (restarts 0)"
	registryError   = "read containerd config on kiamol-e2e-worker: exit status 1"
)

// sampleReport is a run with the label filter "!port-forward", in the
// shuffled order a randomised run reports specs.
func sampleReport() types.Report {
	start := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	return types.Report{
		SuitePath:        "/work/main/e2e",
		SuiteDescription: "kiamol chapter 2",
		SuiteSucceeded:   false,
		PreRunStats:      types.PreRunStats{TotalSpecs: 7, SpecsThatWillRun: 6},
		StartTime:        start,
		EndTime:          start.Add(154 * time.Second),
		RunTime:          154*time.Second + 321*time.Millisecond,
		SuiteConfig:      types.SuiteConfig{LabelFilter: "!port-forward", RandomSeed: 1741944600},
		SpecReports: types.SpecReports{
			spec("smoke_test.go", 17, "The cluster under test", []string{"smoke"}, "has every node Ready",
				types.SpecStatePassed, 120*time.Millisecond, types.Failure{}),
			spec("pods_test.go", 46, podsDescribe, []string{ch02ID, "pods", "self-healing"},
				"heals itself: removing its container through the runtime leaves the same Pod with a new container, Ready again",
				types.SpecStateFailed, 60100*time.Millisecond, types.Failure{Message: selfHealTimeout}),
			setUp(clusterEntryOf(clusterJSON)),
			spec("manifests_test.go", 51, manifestsDesc, []string{ch02ID, "manifests"}, "can be applied from a URL",
				types.SpecStateSkipped, 40*time.Millisecond, skipped("no route to raw.githubusercontent.com | the cluster is air-gapped")),
			spec("pods_test.go", 59, podsDescribe, []string{ch02ID, "pods", "port-forward"},
				"serves the app's page through port-forward pod/hello-kiamol :80, before and after self-healing",
				types.SpecStateSkipped, 0, types.Failure{}),
			spec("deployments_test.go", 38, deployDescribe, []string{ch02ID, "deployments"},
				"makes exactly one Pod named hello-kiamol-2-<hash>-<suffix>, labelled and selected by app=hello-kiamol-2, owned through a ReplicaSet",
				types.SpecStatePassed, 4300*time.Millisecond, types.Failure{}),
			spec("airgap_test.go", 49, "The air-gapped cluster", []string{"airgap"},
				"points every node's containerd at the local registry and nowhere else",
				types.SpecStateFailed, 800*time.Millisecond, types.Failure{Message: registryError}),
			spec("pods_test.go", 19, podsDescribe, []string{ch02ID, "pods"},
				"gives a Pod that becomes Ready, with a pod IP and a host IP that differ, listed in the namespace",
				types.SpecStatePassed, 3200*time.Millisecond, types.Failure{}),
		},
	}
}

func TestMarkdown(t *testing.T) {
	md := markdown(read(t, sampleReport()))
	for _, tc := range []struct {
		name, want string
	}{
		{"title", "# kiamol-e2e verdict: chapter 2\n"},
		{"cluster", "Cluster: kind-kiamol-e2e (v1.34.4), created by the suite; images: airgap; 1 node(s)\n"},
		{"node", "| kiamol-e2e-control-plane | Debian GNU/Linux 12 (bookworm) | 6.1.0-31-amd64 | containerd://2.1.4 | v1.34.4 |  |\n"},
		{"result", "Result: **FAIL** (3 passed, 2 failed, 1 skipped, 1 not run) — run at 2026-03-14 09:30:00 UTC, took 2m34.3s\n"},
		{"not-run count", "1 not run: not selected by the label filter `!port-forward`\n"},
		{"pass", "| " + shown("gives a Pod that becomes Ready, with a pod IP and a host IP that differ, listed in the namespace") + " | `kubectl gives-a-pod-that-becomes-ready-with-a-pod-ip-and-a-host-ip-that-differ-listed-in-the-namespace` | ✅ pass | 3.2s |  |\n"},
		{"cause", "| ❌ fail | 60.1s | pod kiamol-e2e-1/hello-kiamol not Ready after 1m0s: pod kiamol-e2e-1/hello-kiamol phase=Pending ready=false; container hello-kiamol: waiting ErrImagePull pull access denied (restarts 0) |\n"},
		{"skip reason, pipe escaped", "| ⏭ skip | 0.0s | no route to raw.githubusercontent.com \\| the cluster is air-gapped |\n"},
		{"angle brackets survive GitHub", "hello-kiamol-2-&lt;hash>-&lt;suffix>"},
		{"cluster check cause", "| The air-gapped cluster points every node's containerd at the local registry and nowhere else | ❌ fail | 0.8s | read containerd config on kiamol-e2e-worker: exit status 1 |\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(md, tc.want) {
				t.Errorf("no %q in\n%s", tc.want, md)
			}
		})
	}
	t.Run("deselected specs are counted, not listed", func(t *testing.T) {
		if strings.Contains(md, "port-forward pod/hello-kiamol") {
			t.Errorf("deselected spec listed:\n%s", md)
		}
	})
	t.Run("claims in source order, cluster checks after", func(t *testing.T) {
		assertOrder(t, md,
			"## "+ch02Title,
			"makes exactly one Pod",     // deployments_test.go:38
			"can be applied from a URL", // manifests_test.go:51
			"gives a Pod that becomes",  // pods_test.go:19
			"heals itself",              // pods_test.go:46
			"## Cluster checks",
			"points every node's",  // airgap_test.go:49
			"has every node Ready", // smoke_test.go:17
		)
	})
	t.Run("no set-up section when set-up passed", func(t *testing.T) {
		if strings.Contains(md, suiteSection) {
			t.Errorf("set-up section shown:\n%s", md)
		}
	})
}

func TestMarkdownEscapesCells(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a | b", `a \| b`},
		{"line one\nline two", "line one<br>line two"},
		{"crlf\r\nend", "crlf<br>end"},
		{"<string>: x", "&lt;string>: x"},
	} {
		if got := escapeCell(tc.in); got != tc.want {
			t.Errorf("escapeCell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	var out bytes.Buffer
	writeSummary(&out, read(t, sampleReport()), "_artifacts/verdict.md")
	got := out.String()
	for _, want := range []string{
		"cluster: kind-kiamol-e2e (v1.34.4), created by the suite; images: airgap; 1 node(s)\n" +
			"  node kiamol-e2e-control-plane: Debian GNU/Linux 12 (bookworm), kernel 6.1.0-31-amd64, containerd://2.1.4, kubelet v1.34.4\n",
		"PASS  3.2s  " + idFor("gives a Pod that becomes Ready, with a pod IP and a host IP that differ, listed in the namespace") + ": gives a Pod",
		"FAIL 60.1s  " + idFor("heals itself: removing its container through the runtime leaves the same Pod with a new container, Ready again") + ": heals itself",
		"      cause: pod kiamol-e2e-1/hello-kiamol not Ready after 1m0s: pod kiamol-e2e-1/hello-kiamol phase=Pending",
		"SKIP  0.0s  " + shown("can be applied from a URL") + "\n      reason: no route to raw.githubusercontent.com | the cluster is air-gapped\n",
		"1 not run: not selected by the label filter \"!port-forward\"\n" +
			"verdict: _artifacts/verdict.md\n" +
			"e2e: FAIL (3 passed, 2 failed, 1 skipped, 1 not run)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "port-forward pod/hello-kiamol") {
		t.Errorf("a spec the label filter left out is listed:\n%s", got)
	}
	if !strings.HasSuffix(got, "e2e: FAIL (3 passed, 2 failed, 1 skipped, 1 not run)\n") {
		t.Errorf("closing line is not last:\n%s", got)
	}
}

// TestNotRunAfterAnInterrupt: without a label filter, a spec that did not
// run was meant to, so it is listed.
func TestNotRunAfterAnInterrupt(t *testing.T) {
	r := types.Report{
		SuiteSucceeded:             false,
		SpecialSuiteFailureReasons: []string{"Interrupted by User"},
		SpecReports: types.SpecReports{
			setUp(clusterEntryOf(clusterJSON)),
			spec("pods_test.go", 19, podsDescribe, []string{ch02ID, "pods"}, "gives a Pod",
				types.SpecStateInterrupted, 12*time.Second, types.Failure{Message: "Interrupted by User"}),
			spec("pods_test.go", 33, podsDescribe, []string{ch02ID, "pods"}, "names its container",
				types.SpecStateSkipped, 0, types.Failure{}),
		},
	}
	v := read(t, r)
	var out bytes.Buffer
	writeSummary(&out, v, "")
	md := markdown(v)
	for _, want := range []string{
		"FAIL 12.0s  " + shown("gives a Pod") + "\n      cause: Interrupted by User\n",
		"----        " + shown("names its container") + "\n      reason: not run\n",
		"suite: Interrupted by User\ne2e: FAIL (1 failed, 1 not run)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
	if want := "| " + shown("names its container") + " | `kubectl names-its-container` | ⚪ not run |  | not run |"; !strings.Contains(md, want) {
		t.Errorf("no %q in\n%s", want, md)
	}
}

func TestAFailedSetUpIsListedWithItsCause(t *testing.T) {
	failed := setUp()
	failed.State, failed.RunTime = types.SpecStateFailed, 95*time.Second
	failed.Failure = types.Failure{Message: "kiamol-e2e: bring up the cluster: kind create cluster: exit status 1"}
	v := read(t, types.Report{
		SuiteSucceeded: false,
		PreRunStats:    types.PreRunStats{TotalSpecs: 12, SpecsThatWillRun: 12},
		SpecReports:    types.SpecReports{failed},
	})
	md := markdown(v)
	for _, want := range []string{
		"Cluster: unknown (set-up did not finish)\n",
		"Result: **FAIL** (1 failed, 12 not run)",
		"12 not run: never started, the suite stopped before them",
		"## Suite set-up / tear-down\n\n| node | result | time | cause / reason |\n|---|---|---|---|\n" +
			"| SynchronizedBeforeSuite (suite_test.go:49) | ❌ fail | 95.0s | kiamol-e2e: bring up the cluster: kind create cluster: exit status 1 |\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	if got, want := closingLine(v), "e2e: FAIL (1 failed, 12 not run)"; got != want {
		t.Errorf("closing line %q, want %q", got, want)
	}
}

func TestSpecRow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		state      types.SpecState
		f          types.Failure
		labels     []string
		filter     string
		want       outcome
		wantNote   string
		wantListed bool
	}{
		{"passed", types.SpecStatePassed, types.Failure{}, []string{"pods"}, "", pass, "", true},
		{"failed", types.SpecStateFailed, types.Failure{Message: "boom"}, []string{"pods"}, "", fail, "boom", true},
		{"aborted", types.SpecStateAborted, types.Failure{Message: "cluster gone"}, []string{"pods"}, "", fail, "cluster gone", true},
		{"Skip(reason)", types.SpecStateSkipped, skipped("needs a second node"), []string{"pods"}, "", skip, "needs a second node", true},
		{"pending", types.SpecStatePending, types.Failure{}, []string{"pods"}, "", skip, "pending", true},
		{"left out by the label filter", types.SpecStateSkipped, types.Failure{}, []string{"pods"}, "smoke", notRun, "not selected by the label filter", false},
		{"selected, never reached", types.SpecStateSkipped, types.Failure{}, []string{"smoke"}, "smoke", notRun, "not run", true},
		{"no filter, never reached", types.SpecStateSkipped, types.Failure{}, []string{"pods"}, "", notRun, "not run", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec("pods_test.go", 19, podsDescribe, tc.labels, "gives a Pod", tc.state, time.Second, tc.f)
			s = asWritten(types.Report{SpecReports: types.SpecReports{s}}).SpecReports[0]
			r := specRow(s, types.Report{SuiteConfig: types.SuiteConfig{LabelFilter: tc.filter}})
			if r.outcome != tc.want || r.note != tc.wantNote || r.deselected == tc.wantListed {
				t.Errorf("got %v %q deselected=%v, want %v %q listed=%v", r.outcome, r.note, r.deselected, tc.want, tc.wantNote, tc.wantListed)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		labels               string
		wantSection, chapter string
	}{
		{"ch02,pods", ch02Title, ch02ID},
		{"pods,ch02,self-healing", ch02Title, ch02ID},
		{"smoke", clusterSection, ""},
		{"airgap", clusterSection, ""},
		// a claim of the book must pass, whatever else it is tagged with
		{"ch02,smoke", ch02Title, ch02ID},
		{"pods", otherSection, ""},
		{"ch09,pods", otherSection, ""}, // not a chapter the suite knows
		{"", otherSection, ""},
	} {
		t.Run(tc.labels, func(t *testing.T) {
			section, chapter := classify(strings.Split(tc.labels, ","))
			if section != tc.wantSection || chapter != tc.chapter {
				t.Errorf("got %q %q, want %q %q", section, chapter, tc.wantSection, tc.chapter)
			}
		})
	}
}

// TestSectionsPerChapter: each chapter's claims under its title, in book
// order, then the cluster checks, the other specs and the suite's nodes.
func TestSectionsPerChapter(t *testing.T) {
	saved := books
	t.Cleanup(func() { books = saved })
	claim := func(id, says string) book.Claim {
		return book.Claim{ID: id, Says: says, Steps: []book.Step{book.Kubectl("kubectl")}}
	}
	books = []*book.Chapter{
		// in the book's order, which is not the source's
		{ID: "ch02", Title: "Chapter 2: Running containers in Kubernetes with Pods and Deployments",
			Claims: []book.Claim{claim(idFor("makes one Pod"), "makes one Pod"), claim(idFor("gives a Pod"), "gives a Pod")}},
		{ID: "ch03", Title: "Chapter 3: Connecting Pods over the network with Services",
			Claims: []book.Claim{claim("3.1/routes", "routes to the Pod")}},
	}
	tearDown := types.SpecReport{LeafNodeType: types.NodeTypeAfterSuite, State: types.SpecStateFailed,
		LeafNodeLocation: types.CodeLocation{FileName: "/work/main/e2e/suite_test.go", LineNumber: 120},
		Failure:          types.Failure{Message: "delete the cluster: exit status 1"}}
	v := readAs(t, types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{
		tearDown,
		spec("services_test.go", 12, "Chapter 3, Services", []string{"ch03"}, "[3.1/routes] routes to the Pod", types.SpecStatePassed, time.Second, types.Failure{}),
		spec("zeta_test.go", 3, "Helpers", []string{"helpers"}, "parse a manifest", types.SpecStatePassed, time.Second, types.Failure{}),
		spec("smoke_test.go", 17, "The cluster under test", []string{"smoke"}, "has every node Ready", types.SpecStatePassed, time.Second, types.Failure{}),
		spec("pods_test.go", 19, podsDescribe, []string{"ch02", "pods"}, "gives a Pod", types.SpecStatePassed, time.Second, types.Failure{}),
		spec("deployments_test.go", 38, deployDescribe, []string{"ch02"}, "makes one Pod", types.SpecStatePassed, time.Second, types.Failure{}),
	}})
	var out bytes.Buffer
	writeSummary(&out, v, "")
	for name, got := range map[string]string{"summary": out.String(), "markdown": markdown(v)} {
		t.Run(name, func(t *testing.T) {
			assertOrder(t, got,
				"Chapter 2: Running containers", "makes one Pod", "gives a Pod",
				"Chapter 3: Connecting Pods", "routes to the Pod",
				"Cluster checks", "has every node Ready",
				"Other specs", "parse a manifest",
				"Suite set-up / tear-down", "AfterSuite (suite_test.go:120)")
		})
	}
}

func assertOrder(t *testing.T, s string, parts ...string) {
	t.Helper()
	at := 0
	for _, p := range parts {
		i := strings.Index(s[at:], p)
		if i < 0 {
			t.Fatalf("%q missing or out of order in\n%s", p, s)
		}
		at += i + len(p)
	}
}

// Under ginkgo -p every process reports the set-up it shares with process 1;
// the verdict shows it once, with process 1's cause, not the echoes.
func TestParallelSetUpFailureIsShownOnce(t *testing.T) {
	echo := func() types.SpecReport {
		s := setUp()
		s.State, s.Failure = types.SpecStateInterrupted, types.Failure{}
		return s
	}
	first := setUp()
	first.State, first.Failure = types.SpecStateFailed, types.Failure{Message: "kiamol-e2e: kind could not create cluster \"kiamol-e2e\": context canceled"}
	v := read(t, types.Report{SuiteSucceeded: false, SpecReports: types.SpecReports{echo(), first, echo(), echo()}})
	if v.failed != 1 {
		t.Errorf("failed = %d, want 1", v.failed)
	}
	md := markdown(v)
	if n := strings.Count(md, "SynchronizedBeforeSuite"); n != 1 {
		t.Errorf("set-up listed %d times:\n%s", n, md)
	}
	if !strings.Contains(md, "context canceled") {
		t.Errorf("process 1's cause is missing:\n%s", md)
	}
}

func TestAChaptersImageCheckIsAClusterCheck(t *testing.T) {
	s := spec("chapter.go", 1, "2.1 and 2.4: one Pod, read by each claim", []string{"smoke"}, "pulls kiamol/ch02-hello-kiamol untagged (imagePullPolicy Always) and runs it Ready", types.SpecStatePassed, time.Second, types.Failure{})
	s.LeafNodeLabels = []string{"smoke", ch02ID}
	r := specRow(s, types.Report{})
	if r.section != clusterSection || r.chapter != "" || r.outcome != pass {
		t.Fatalf("got section %q chapter %q outcome %v (%s)", r.section, r.chapter, r.outcome, r.note)
	}
}
