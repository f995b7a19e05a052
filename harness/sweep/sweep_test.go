package sweep

import (
	"os"
	"os/exec"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// deadPID is the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func nsOf(run, host string, pid int) corev1.Namespace {
	return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:        "pods-x",
		Labels:      map[string]string{RunLabel: run, SpecLabel: "true"},
		Annotations: map[string]string{HostAnnotation: host, PIDAnnotation: strconv.Itoa(pid)},
	}}
}

func TestAbandoned(t *testing.T) {
	self := Self("now")
	dead := deadPID(t)
	for _, tc := range []struct {
		name string
		ns   corev1.Namespace
		want bool
	}{
		{"an earlier run on this host whose process is gone", nsOf("then", self.Host, dead), true},
		{"a run on this host still alive", nsOf("then", self.Host, os.Getppid()), false},
		{"this very run", nsOf("now", self.Host, dead), false},
		{"another host's run, whatever its PID", nsOf("then", "elsewhere", dead), false},
		{"no owner recorded", corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{RunLabel: "old"}}}, false},
	} {
		if got := abandoned(tc.ns, self); got != tc.want {
			t.Errorf("%s: abandoned = %v, want %v", tc.name, got, tc.want)
		}
	}
}
