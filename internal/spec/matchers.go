package spec

import (
	"fmt"

	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/diagnose"
)

// allRunningAndReady matches a non-empty list of pods that are all Running
// and Ready (diagnose.Ready: kubectl's own readiness), and describes every
// pod when it does not: their phases and container states (ErrImagePull,
// CrashLoopBackOff, ...), not the whole objects.
func allRunningAndReady() types.GomegaMatcher { return allReady{} }

type allReady struct{}

func (allReady) Match(actual any) (bool, error) {
	pods, ok := actual.([]corev1.Pod)
	if !ok {
		return false, fmt.Errorf("allRunningAndReady expects []corev1.Pod, got %T", actual)
	}
	return len(pods) > 0 && everyReady(pods), nil
}

func (allReady) FailureMessage(actual any) string {
	pods, _ := actual.([]corev1.Pod)
	return "expected every pod Running and Ready; last seen:\n" + diagnose.DescribePods(pods)
}

func (allReady) NegatedFailureMessage(actual any) string {
	pods, _ := actual.([]corev1.Pod)
	return "expected some pod not Running and Ready; last seen:\n" + diagnose.DescribePods(pods)
}
