package e2e

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kiamol-e2e/kiamol-e2e/harness/settings"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
	"github.com/kiamol-e2e/kiamol-e2e/helpers/forward"
)

// chapterImage is the image the chapter runs; air-gapped, the local
// registry answers for it with the stand-in. E2E_CHAPTER_IMAGE swaps it, to
// check another build of the app against the chapter.
var chapterImage = settings.FromEnv().ChapterImage

const chapterHeading = "Hello from Chapter 2!"

// createPod creates the pod in ns and waits until it is Running and Ready.
func createPod(ctx SpecContext, ns string, pod *corev1.Pod) *corev1.Pod {
	GinkgoHelper()
	_, err := clientset.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred(), "create pod %s", pod.Name)
	return waitPodReady(ctx, ns, pod.Name)
}

func waitPodReady(ctx SpecContext, ns, name string) *corev1.Pod {
	GinkgoHelper()
	var seen *corev1.Pod
	Eventually(ctx, func(g Gomega) *corev1.Pod {
		p, err := clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		seen = p
		return p
	}).WithTimeout(timeouts.PodReady).WithPolling(timeouts.Poll).Should(beRunningAndReady(), func() string {
		return fmt.Sprintf("pod %s/%s becomes Ready; latest events:\n%s", ns, name, diagnose.LatestEvents(ctx, clientset, ns, 5))
	})
	return seen
}

// podView is the part of a pod the self-healing claim is about; polls
// return it so a timeout prints these few fields, not the whole object.
type podView struct {
	UID          types.UID
	ContainerID  string
	RestartCount int32
	Ready        bool
	State        string
}

func viewOf(p *corev1.Pod) podView {
	v := podView{UID: p.UID, Ready: p.Status.Phase == corev1.PodRunning && diagnose.PodReady(p), State: diagnose.DescribePod(p)}
	if len(p.Status.ContainerStatuses) > 0 {
		v.ContainerID = p.Status.ContainerStatuses[0].ContainerID
		v.RestartCount = p.Status.ContainerStatuses[0].RestartCount
	}
	return v
}

// podsNamed lists the pods whose names start with prefix and that are not
// being deleted, as `kubectl get pods` shows them once deletion is done.
func podsNamed(ctx SpecContext, ns, prefix string) func(Gomega) []corev1.Pod {
	return func(g Gomega) []corev1.Pod {
		list, err := clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		var out []corev1.Pod
		for _, p := range list.Items {
			if strings.HasPrefix(p.Name, prefix) && p.DeletionTimestamp == nil {
				out = append(out, p)
			}
		}
		return out
	}
}

// expectPageThrough fetches / through the forward until it is the chapter's
// page.
func expectPageThrough(ctx SpecContext, s *forward.Session) {
	GinkgoHelper()
	Eventually(ctx, func() (forward.Page, error) {
		return forward.Get(ctx, s, "/")
	}).WithTimeout(timeouts.PortForward).WithPolling(timeouts.Poll).Should(And(
		HaveField("Status", 200),
		HaveField("Body", ContainSubstring(chapterHeading)),
	), "GET / through %s serves the chapter's page", s.URL())
}

func forwardToPod(ctx SpecContext, ns, pod string) *forward.Session {
	GinkgoHelper()
	s, err := forward.ToPod(ctx, restConfig, clientset, ns, pod, 80)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(s.Close)
	return s
}
