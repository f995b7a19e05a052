package imperative

import "testing"

func TestContainerNameFollowsKubectl(t *testing.T) {
	for image, want := range map[string]string{
		"kiamol/ch02-hello-kiamol":                    "ch02-hello-kiamol",
		"docker.io/kiamol/ch02-hello-kiamol:latest":   "ch02-hello-kiamol",
		"registry.example:5000/a/b@sha256:0123456789": "b",
	} {
		if got := containerName(image); got != want {
			t.Errorf("%s: got %q, want %q", image, got, want)
		}
	}
}

func TestDeploymentSelectsItsTemplate(t *testing.T) {
	d := CreateDeployment("hello-kiamol-2", "kiamol/ch02-hello-kiamol")
	if d.Spec.Selector.MatchLabels["app"] != "hello-kiamol-2" || d.Spec.Template.Labels["app"] != "hello-kiamol-2" || len(d.Spec.Template.Labels) != 1 {
		t.Errorf("selector %v, template labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	d.Spec.Template.Labels["x"] = "y"
	if len(d.Spec.Selector.MatchLabels) != 1 {
		t.Error("selector and template share a map")
	}
}
