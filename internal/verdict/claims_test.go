package verdict

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/clusterinfo"
	"github.com/kiamol-e2e/kiamol-e2e/internal/report"
)

// owes installs, for one test, a chapter 2 that lists these claims, in
// this (the book's) order.
func owes(t *testing.T, claims ...book.Claim) {
	saved := books
	t.Cleanup(func() { books = saved })
	books = []*book.Chapter{{ID: ch02ID, Title: ch02Title, Claims: claims}}
}

func listed(id, says string, labels ...string) book.Claim {
	return book.Claim{ID: id, Says: says, Steps: []book.Step{book.Kubectl("kubectl " + says)}, Labels: labels}
}

// proves is a spec made with claim(id) in the state given.
func proves(line int, id string, state types.SpecState, f types.Failure, labels ...string) types.SpecReport {
	s := spec("pods_test.go", line, "2.1 Pods", append([]string{ch02ID}, labels...), "", state, time.Second, f)
	s.LeafNodeText = book.ClaimPrefix(id) + "as the descriptor says"
	return s
}

func summaryOf(v verdict) string {
	var out bytes.Buffer
	writeSummary(&out, v, "")
	return out.String()
}

var owed = []book.Claim{
	listed("2.1/pod-ready", "a Pod becomes Ready"),
	listed("2.1/self-healing", "the Pod heals itself", "self-healing"),
	listed("2.4/cp", "a file comes out of the container", "cp"),
}

func TestAClaimWithNoSpecFailsNamingIt(t *testing.T) {
	owes(t, owed...)
	// 2.4/cp's spec was deleted: everything that ran passed.
	v := readAs(t, suiteOf(true, proves(19, "2.1/pod-ready", passed, none), proves(40, "2.1/self-healing", passed, none, "self-healing")))
	if got := closingLine(v); got != "e2e: FAIL (2 passed, 1 failed)" {
		t.Errorf("closing line %q", got)
	}
	want := "FAIL        2.4/cp: a file comes out of the container\n      cause: claim 2.4/cp has no spec in this run: nothing proved it\n      book: kubectl a file comes out of the container\n"
	if got := summaryOf(v); !strings.Contains(got, want) {
		t.Errorf("no %q in\n%s", want, got)
	}
}

func TestAClaimTheLabelFilterLeftOutIsIncompleteNamingIt(t *testing.T) {
	owes(t, owed...)
	r := suiteOf(true, proves(19, "2.1/pod-ready", passed, none), proves(40, "2.1/self-healing", skipSt, none, "self-healing"))
	r.SuiteConfig.LabelFilter = "!self-healing && !cp"
	// The filtered spec is in the report as Ginkgo skipped it; 2.4/cp's is
	// not there at all, and the filter would have left it out anyway.
	v := readAs(t, r)
	if got := closingLine(v); got != "e2e: INCOMPLETE (1 passed, 2 not run)" {
		t.Errorf("closing line %q", got)
	}
	want := `incomplete: partial run: 1 of 3 chapter claims selected (label filter "!self-healing && !cp"); left out: 2.1/self-healing, 2.4/cp`
	if got := v.verdictReasons("%q"); len(got) != 1 || got[0] != want {
		t.Errorf("reasons %q, want %q", got, want)
	}
}

func TestASpecNamingNoListedClaimFails(t *testing.T) {
	owes(t, owed[:1]...)
	v := readAs(t, suiteOf(true, proves(19, "2.1/pod-ready", passed, none), proves(25, "2.1/pod-renamed", passed, none)))
	if v.result() != resultFail {
		t.Fatalf("a spec whose claim no descriptor lists was counted: %s", closingLine(v))
	}
	if got := summaryOf(v); !strings.Contains(got, "cause: spec carries label ch02 but names none of its claims") {
		t.Errorf("summary:\n%s", got)
	}
}

func TestTwoSpecsForOneClaimFail(t *testing.T) {
	owes(t, owed[:1]...)
	v := readAs(t, suiteOf(true, proves(19, "2.1/pod-ready", passed, none), proves(25, "2.1/pod-ready", passed, none)))
	if got := summaryOf(v); v.result() != resultFail || !strings.Contains(got, "claim 2.1/pod-ready has 2 specs in this run, where one proves it") {
		t.Errorf("summary:\n%s", got)
	}
}

// The claims print in the descriptor's order, each with its own sentence,
// whatever the files and lines of their specs.
func TestClaimsPrintInTheBooksOrder(t *testing.T) {
	owes(t, owed...)
	v := readAs(t, suiteOf(true, proves(90, "2.1/pod-ready", passed, none), proves(10, "2.4/cp", passed, none, "cp"),
		proves(50, "2.1/self-healing", passed, none, "self-healing")))
	got := summaryOf(v)
	assertOrder(t, got, "2.1/pod-ready: a Pod becomes Ready", "2.1/self-healing: the Pod heals itself", "2.4/cp: a file comes out of the container", "e2e: PASS (3 passed)")
	if strings.Contains(got, "as the descriptor says") || strings.Contains(got, "2.1 Pods") {
		t.Errorf("a claim's line is its own sentence, not the spec's texts:\n%s", got)
	}
}

// Claims skipped because the set-up their ordered group shares failed carry
// that set-up's cause, not Ginkgo's sentence.
func TestClaimsSkippedAfterTheirSharedSetUpFailedCarryItsCause(t *testing.T) {
	owes(t, owed...)
	inGroup := func(s types.SpecReport) types.SpecReport {
		s.IsInOrderedContainer = true
		s.ContainerHierarchyLocations = []types.CodeLocation{{FileName: "/work/main/e2e/ch02_pods_test.go", LineNumber: 27}}
		return s
	}
	first := inGroup(proves(38, "2.1/pod-ready", types.SpecStateFailed, types.Failure{Message: "pod pods-x/hello-kiamol cannot become Ready: container hello-kiamol: InvalidImageName", FailureNodeType: types.NodeTypeBeforeAll}))
	second := inGroup(proves(52, "2.1/self-healing", skipSt, skipped("Spec skipped because a BeforeAll node failed"), "self-healing"))
	v := readAs(t, suiteOf(false, first, second, proves(60, "2.4/cp", passed, none, "cp")))
	want := "FAIL  1.0s  2.1/self-healing: the Pod heals itself\n      cause: set-up failed: pod pods-x/hello-kiamol cannot become Ready: container hello-kiamol: InvalidImageName\n"
	if got := summaryOf(v); !strings.Contains(got, want) {
		t.Errorf("no %q in\n%s", want, got)
	}
	if got := closingLine(v); got != "e2e: FAIL (1 passed, 2 failed)" {
		t.Errorf("closing line %q", got)
	}
}

// The header says what ran: whose manifests, which images, scaled waits, a
// forced self-healing path.
func TestTheHeaderShowsEachSubstitution(t *testing.T) {
	info := ClusterInfo{Name: "kind-kiamol-e2e", Version: "v1.34.4", Inputs: &clusterinfo.Inputs{
		Manifests: "/home/reader/kiamol/ch02", ManifestsHash: "0123456789ab",
		ReplaceImages: map[string]string{"kiamol/ch02-hello-kiamol": "my/hello:1"},
		TimeoutScale:  2, SelfHeal: "node"}}
	raw := info.JSON()
	owes(t, owed[:1]...)
	v := readAs(t, suiteOf(true, setUp(clusterEntryOf(raw)), proves(19, "2.1/pod-ready", passed, none)))
	want := "inputs: manifests from /home/reader/kiamol/ch02 (sha256 0123456789ab); images replaced: kiamol/ch02-hello-kiamol → my/hello:1; every wait ×2; self-healing forced through: node\n"
	if got := summaryOf(v); !strings.Contains(got, want) {
		t.Errorf("no %q in\n%s", want, got)
	}
	if md := markdown(v); !strings.Contains(md, "Inputs: manifests from /home/reader/kiamol/ch02 (sha256 0123456789ab)") {
		t.Errorf("Markdown:\n%s", md)
	}
	plain := ClusterInfo{Name: "kind-kiamol-e2e"}
	v = readAs(t, suiteOf(true, setUp(clusterEntryOf(plain.JSON())), proves(19, "2.1/pod-ready", passed, none)))
	if got := summaryOf(v); !strings.Contains(got, "inputs: the book's manifests (the suite's copy); the book's images\n") {
		t.Errorf("no substitution:\n%s", got)
	}
}

// What the cluster was still removing at the run's end is said, not hidden.
func TestCleanupStillGoingIsSaid(t *testing.T) {
	owes(t, owed[:1]...)
	end := types.SpecReport{LeafNodeType: types.NodeTypeSynchronizedAfterSuite, State: types.SpecStatePassed,
		ReportEntries: []types.ReportEntry{{Name: cleanupEntry, Value: types.WrapEntryValue("2 namespace(s) of this run deleted and still terminating at its end (pods-a, pods-b)")}}}
	v := readAs(t, suiteOf(true, proves(19, "2.1/pod-ready", passed, none), end))
	if got := summaryOf(v); !strings.Contains(got, "cleanup: 2 namespace(s) of this run deleted and still terminating at its end (pods-a, pods-b)\n") || v.result() != resultPass {
		t.Errorf("summary:\n%s", got)
	}
}

// What the run made on the cluster with privilege is listed in the header
// of both outputs, each once, whichever specs and processes reported it;
// a run that made none says nothing of it.
func TestTheHeaderListsWhatTheRunMadeWithPrivilege(t *testing.T) {
	owes(t, owed[:2]...)
	entry := func(p clusterinfo.Privileged) types.ReportEntry {
		return types.ReportEntry{Name: clusterinfo.PrivilegedEntryName, Value: types.WrapEntryValue(p.JSON())}
	}
	label := clusterinfo.Privileged{Namespace: "pods-b2c3d", Label: "pod-security.kubernetes.io/enforce=privileged"}
	pod := clusterinfo.Privileged{Pod: "pods-b2c3d/node-debugger-k3s-1-x7k2p", Node: "k3s-1"}
	label2 := clusterinfo.Privileged{Namespace: "pods-a1b2c", Label: "pod-security.kubernetes.io/enforce=privileged", Was: "baseline"}
	pod2 := clusterinfo.Privileged{Pod: "pods-a1b2c/node-debugger-k3s-1-q9w8e", Node: "k3s-1"}
	heal := proves(40, "2.1/self-healing", passed, none, "self-healing")
	heal.ReportEntries = []types.ReportEntry{entry(pod), entry(label), entry(pod)}
	ready := proves(19, "2.1/pod-ready", passed, none)
	ready.ReportEntries = []types.ReportEntry{entry(label2), entry(pod2), {Name: clusterinfo.PrivilegedEntryName, Value: types.WrapEntryValue("garbled")}}
	v := readAs(t, suiteOf(true, setUp(clusterEntryOf(ClusterInfo{Name: "default", Existing: true, Ownership: "not made by the suite"}.JSON())), heal, ready))

	want := "made on the cluster with privilege, in the run's own namespaces (deleted with them):\n" +
		"  namespace pods-a1b2c labelled pod-security.kubernetes.io/enforce=privileged (was baseline)\n" +
		"  namespace pods-b2c3d labelled pod-security.kubernetes.io/enforce=privileged (unset before)\n" +
		"  privileged Pod pods-a1b2c/node-debugger-k3s-1-q9w8e on node k3s-1 (kubectl debug node/k3s-1 --profile=sysadmin)\n" +
		"  privileged Pod pods-b2c3d/node-debugger-k3s-1-x7k2p on node k3s-1 (kubectl debug node/k3s-1 --profile=sysadmin)\n"
	got := summaryOf(v)
	if !strings.Contains(got, want) {
		t.Errorf("no\n%s\nin\n%s", want, got)
	}
	if !strings.HasPrefix(got, "cluster: default, existing cluster (not made by the suite)\n") {
		t.Errorf("header:\n%s", got)
	}
	if i, j := strings.Index(got, want), strings.Index(got, "2.1/pod-ready"); i > j {
		t.Errorf("the list is not in the header, before the claims:\n%s", got)
	}
	md := markdown(v)
	if !strings.Contains(md, "- privileged Pod pods-b2c3d/node-debugger-k3s-1-x7k2p on node k3s-1 (kubectl debug node/k3s-1 --profile=sysadmin)\n") ||
		!strings.Contains(md, "- namespace pods-a1b2c labelled pod-security.kubernetes.io/enforce=privileged (was baseline)\n") ||
		strings.Index(md, "made on the cluster with privilege") > strings.Index(md, "Result:") {
		t.Errorf("Markdown:\n%s", md)
	}

	unprivileged := readAs(t, suiteOf(true, setUp(clusterEntryOf(ClusterInfo{Name: "kind-kiamol-e2e"}.JSON())), proves(19, "2.1/pod-ready", passed, none), proves(40, "2.1/self-healing", passed, none, "self-healing")))
	if got := summaryOf(unprivileged) + markdown(unprivileged); strings.Contains(got, "with privilege") {
		t.Errorf("a run that made nothing privileged lists something:\n%s", got)
	}
}

// A cluster whose nodes are kwok's fakes never passes, even were every
// claim to pass there: the header says each such node is not real before
// what it reports, and the verdict gives that as the reason.
func TestANodeThatIsNotRealNeverPasses(t *testing.T) {
	fake := clusterinfo.Node{Name: "node-000000", Kernel: "kwok-0.8.0", Runtime: "kwok-0.8.0", Kubelet: "kwok-0.8.0",
		NotReal: "kwok fake node (nothing runs on it)"}
	info := ClusterInfo{Name: "kwok-kiamol", Version: "v1.34.4", Existing: true, Distribution: "kwok", Nodes: []clusterinfo.Node{fake}}
	owes(t, owed[:1]...)
	v := readAs(t, suiteOf(true, setUp(clusterEntryOf(info.JSON())), proves(19, "2.1/pod-ready", passed, none)))
	if v.result() != resultFail || closingLine(v) != "e2e: FAIL (1 passed)" {
		t.Errorf("result %s, closing line %q", resultWord[v.result()], closingLine(v))
	}
	got := summaryOf(v)
	for _, want := range []string{
		"cluster: kwok kwok-kiamol (v1.34.4), existing cluster; 1 node(s)\n",
		"  node node-000000: not a real node: kwok fake node (nothing runs on it); it reports kernel kwok-0.8.0, kwok-0.8.0, kubelet kwok-0.8.0\n",
		"fail: node node-000000 is not a real node: kwok fake node (nothing runs on it): no claim that something runs can hold on it\ne2e: FAIL",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if md := markdown(v); !strings.Contains(md, "| node-000000 (not a real node: kwok fake node (nothing runs on it)) |") ||
		!strings.Contains(md, "fail: node node-000000 is not a real node") {
		t.Errorf("Markdown:\n%s", md)
	}
	if got := v.firstFailure(); got != "node node-000000 is not a real node: kwok fake node (nothing runs on it)" {
		t.Errorf("first failure %q", got)
	}
	// The same run on real nodes passes.
	info.Nodes[0].NotReal = ""
	if v := readAs(t, suiteOf(true, setUp(clusterEntryOf(info.JSON())), proves(19, "2.1/pod-ready", passed, none))); v.result() != resultPass {
		t.Errorf("real nodes: %s\n%s", resultWord[v.result()], summaryOf(v))
	}
}

// A spec's temporary folder that could not be removed is a cleanup line,
// not a failure of the claim that made it.
func TestASpecsCleanupLeftUndoneIsSaidAndFailsNothing(t *testing.T) {
	owes(t, owed[:1]...)
	const left = `temporary folder C:\users\reader\Temp\kiamol-e2e-spec-1 not removed (1 file(s) left): unlinkat C:\users\reader\Temp\kiamol-e2e-spec-1\pod.yaml: Invalid function.`
	s := proves(19, "2.1/pod-ready", passed, none)
	s.ReportEntries = append(s.ReportEntries, types.ReportEntry{Name: cleanupEntry, Value: types.WrapEntryValue(left)})
	v := readAs(t, suiteOf(true, s))
	if got := summaryOf(v); !strings.Contains(got, "cleanup: "+left+"\n") || v.result() != resultPass || v.failed != 0 {
		t.Errorf("result %v, summary:\n%s", v.result(), got)
	}
}

// The commands the verdict prints under a claim are the ones its report
// says ran, each as it ran, with the book's form beside it where a
// substitution applied; a claim that ran none shows the book's.
func TestPrintedCommandsAreTheOnesThatRan(t *testing.T) {
	ran := []report.Ran{
		{Book: "kubectl run hello-kiamol --image=kiamol/ch02-hello-kiamol", Ran: "kubectl run hello-kiamol --image=kiamol/ch02-hello-kiamol"},
		{Book: "kubectl port-forward pod/hello-kiamol 8080:80", Ran: "kubectl port-forward --address=127.0.0.1 pod/hello-kiamol :80", Why: "a free local port"},
	}
	s := spec("pods_test.go", 19, podsDescribe, []string{ch02ID, "pods"}, "gives a Pod", types.SpecStateFailed, time.Second, types.Failure{Message: "boom"})
	for _, r := range ran {
		s.ReportEntries = append(s.ReportEntries, types.ReportEntry{Name: report.RanEntry, Value: types.WrapEntryValue(r.JSON())})
	}
	v := read(t, types.Report{SpecReports: types.SpecReports{s}})
	var printed []string
	for _, row := range v.rows {
		if row.claimID != "" && row.ran {
			printed = row.commands
		}
	}
	want := []string{ran[0].Ran, ran[1].Ran + "   [book: " + ran[1].Book + "; a free local port]"}
	if !slices.Equal(printed, want) {
		t.Fatalf("printed %q\n want %q", printed, want)
	}
	if out := summaryOf(v); !strings.Contains(out, "      ran: "+strings.Join(want, " ; ")+"\n") {
		t.Errorf("the summary does not print them as they ran:\n%s", out)
	}
	if md := markdown(v); !strings.Contains(md, "`"+ran[1].Ran+"   [book: "+ran[1].Book+"; a free local port]`") {
		t.Errorf("the table does not print them as they ran:\n%s", md)
	}
}
