package e2e

import (
	"fmt"

	"github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/helpers/kube"
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
	return p.Status.Phase == corev1.PodRunning && kube.PodReady(p), nil
}

func (runningAndReady) FailureMessage(actual any) string {
	p, _ := asPod(actual)
	return "expected a Running, Ready pod; last seen: " + kube.DescribePod(p)
}

func (runningAndReady) NegatedFailureMessage(actual any) string {
	p, _ := asPod(actual)
	return "expected a pod that is not Running and Ready; last seen: " + kube.DescribePod(p)
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
