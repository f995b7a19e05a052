package ginkgoflags

import (
	"slices"
	"testing"
)

func TestCommonFlags(t *testing.T) {
	got := Common()
	for _, want := range []string{"-p", "--randomize-all", "--fail-on-pending", "--fail-on-empty", "--timeout=40m"} {
		if !slices.Contains(got, want) {
			t.Errorf("Common() = %v, lacks %s", got, want)
		}
	}
}
