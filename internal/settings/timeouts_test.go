package settings

import (
	"testing"
	"time"
)

func TestTimeoutsFromEnv(t *testing.T) {
	t.Setenv(EnvTimeoutScale, "")
	def, err := TimeoutsFromEnv()
	if err != nil || def != DefaultTimeouts() {
		t.Fatalf("unset: %v %+v", err, def)
	}
	t.Setenv(EnvTimeoutScale, "2")
	two, err := TimeoutsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if two.PodReady != 2*def.PodReady || two.ClusterUp != 2*def.ClusterUp || two.Scale != 2 {
		t.Errorf("scale 2: %+v", two)
	}
	if two.Poll != def.Poll {
		t.Errorf("poll scaled: %s", two.Poll)
	}
	for _, bad := range []string{"0.5", "x", "-1", "1000"} {
		t.Setenv(EnvTimeoutScale, bad)
		if _, err := TimeoutsFromEnv(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Every bound is set: a zero would make a wait give up at once.
	d := DefaultTimeouts()
	for name, v := range map[string]time.Duration{"ClusterUp": d.ClusterUp, "NodeReady": d.NodeReady, "SystemPods": d.SystemPods,
		"PodReady": d.PodReady, "SelfHeal": d.SelfHeal, "Controller": d.Controller, "PortForward": d.PortForward, "Kubectl": d.Kubectl,
		"RuntimeCall": d.RuntimeCall, "Chapter": d.Chapter, "Spec": d.Spec, "ClusterDown": d.ClusterDown,
		"Poll": d.Poll} {
		if v <= 0 {
			t.Errorf("%s is %s", name, v)
		}
	}
}
