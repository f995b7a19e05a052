package e2e

import (
	"fmt"

	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
)

// beRunningAndReady matches a Pod (or *Pod) that is Running with its Ready
// condition True. Its failure message is the pod's phase and container
// states (ErrImagePull, CrashLoopBackOff, ...) rather than the whole object.
func beRunningAndReady() types.GomegaMatcher { return runningAndReady{} }

type runningAndReady struct{}

func (runningAndReady) Match(actual any) (bool, error) {
	p, err := asPod(actual)
	if err != nil {
		return false, err
	}
	return p.Status.Phase == corev1.PodRunning && diagnose.PodReady(p), nil
}

func (runningAndReady) FailureMessage(actual any) string {
	p, _ := asPod(actual)
	return "expected a Running, Ready pod; last seen: " + diagnose.DescribePod(p)
}

func (runningAndReady) NegatedFailureMessage(actual any) string {
	p, _ := asPod(actual)
	return "expected a pod that is not Running and Ready; last seen: " + diagnose.DescribePod(p)
}

func asPod(actual any) (*corev1.Pod, error) {
	switch p := actual.(type) {
	case *corev1.Pod:
		return p, nil
	case corev1.Pod:
		return &p, nil
	}
	return nil, fmt.Errorf("beRunningAndReady expects a Pod, got %T", actual)
}

// allRunningAndReady matches a non-empty list of pods that are all Running
// and Ready, and describes every pod when it does not.
func allRunningAndReady() types.GomegaMatcher { return allReady{} }

type allReady struct{}

func (allReady) Match(actual any) (bool, error) {
	pods, ok := actual.([]corev1.Pod)
	if !ok {
		return false, fmt.Errorf("allRunningAndReady expects []corev1.Pod, got %T", actual)
	}
	if len(pods) == 0 {
		return false, nil
	}
	for i := range pods {
		if ok, _ := (runningAndReady{}).Match(&pods[i]); !ok {
			return false, nil
		}
	}
	return true, nil
}

func (allReady) FailureMessage(actual any) string {
	pods, _ := actual.([]corev1.Pod)
	return "expected every pod Running and Ready; last seen:\n" + diagnose.DescribePods(pods)
}

func (allReady) NegatedFailureMessage(actual any) string {
	pods, _ := actual.([]corev1.Pod)
	return "expected some pod not Running and Ready; last seen:\n" + diagnose.DescribePods(pods)
}
