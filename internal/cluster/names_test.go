package cluster

import "testing"

func TestNamesFor(t *testing.T) {
	def := NamesFor("kiamol-e2e")
	if def != (Names{"kiamol-e2e", "kiamol-e2e", "kiamol-e2e0", "kiamol-e2e-registry"}) {
		t.Errorf("default cluster: %+v", def)
	}
	seen := map[string]string{}
	for _, c := range []string{"kiamol-e2e", "other", "kiamol-e2e-a", "kiamol-e2e-b", "a-very-long-cluster-name-indeed", "a-very-long-cluster-name-indeeD"} {
		n := NamesFor(c)
		if len(n.Bridge) > maxBridge || n.Bridge == "" {
			t.Errorf("%s: bridge %q is not a valid interface name", c, n.Bridge)
		}
		for _, name := range []string{n.Network, n.Bridge, n.Registry} {
			if other, ok := seen[name]; ok {
				t.Errorf("%s and %s share %q", other, c, name)
			}
			seen[name] = c
		}
		if NamesFor(c) != n {
			t.Errorf("%s: names are not stable", c)
		}
	}
}
