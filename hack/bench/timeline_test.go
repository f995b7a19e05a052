package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"
)

// A run of two specs: the rows follow the clock from the command's start,
// each spec with its longest step, and the verdict's time after the last.
func TestTimelineFollowsTheClock(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	r := types.Report{StartTime: sec(2), EndTime: sec(12), SpecReports: types.SpecReports{
		{LeafNodeType: types.NodeTypeIt, LeafNodeText: "[2.5/delete-pods] deleting", ParallelProcess: 2, StartTime: sec(4), EndTime: sec(11), State: types.SpecStatePassed,
			SpecEvents: []types.SpecEvent{
				{SpecEventType: types.SpecEventByStart, Message: "kubectl run hello-kiamol", TimelineLocation: types.TimelineLocation{Time: sec(4)}},
				{SpecEventType: types.SpecEventByStart, Message: "kubectl delete pods --all", TimelineLocation: types.TimelineLocation{Time: sec(5)}},
				{SpecEventType: types.SpecEventByStart, Message: "kubectl get pods", TimelineLocation: types.TimelineLocation{Time: sec(10)}},
			}},
		{LeafNodeType: types.NodeTypeSynchronizedBeforeSuite, ParallelProcess: 1, StartTime: sec(2), EndTime: sec(4), State: types.SpecStatePassed},
	}}
	raw, err := json.Marshal([]types.Report{r})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := timeline(path, t0, sec(13))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"|   0.0 s |   2.0 s | make: tools, the suite's build, preflight; Ginkgo's processes start | 2.0 s |  |",
		"|   2.0 s |   4.0 s | suite setup (SynchronizedBeforeSuite, process 1) | 2.0 s |  |",
		"|   4.0 s |  11.0 s | spec on process 2: [2.5/delete-pods] deleting | 7.0 s | 5.0 s `kubectl delete pods --all` |",
		"|  12.0 s |  13.0 s | the verdict; the command exits | 1.0 s |  |",
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")[2:]
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
