// Package portforward forwards a local port on 127.0.0.1 to a pod, the way
// `kubectl port-forward` does: WebSocket first, SPDY when the server cannot
// upgrade, and a local port the kernel picks so parallel specs never collide.
package forward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/kiamol-e2e/kiamol-e2e/helpers/diagnose"
)

// Session is one running forward.
type Session struct {
	LocalPort uint16
	stop      chan struct{}
	errOut    *lockedBuffer
	ended     chan struct{}
	endErr    error
}

// problem says what the forwarder itself reported, if anything: when a GET
// fails, the cause is usually on the pod's side of the tunnel.
func (s *Session) problem() string {
	var parts []string
	if e := strings.TrimSpace(s.errOut.String()); e != "" {
		parts = append(parts, "forwarder said: "+e)
	}
	select {
	case <-s.ended:
		parts = append(parts, fmt.Sprintf("forwarding stopped (%v)", s.endErr))
	default:
	}
	return strings.Join(parts, "; ")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// URL is the forwarded port's base address.
func (s *Session) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.LocalPort) }

// Close stops forwarding and frees the local port.
func (s *Session) Close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.ended
}

// ToPod forwards 127.0.0.1:<free port> to the pod's port.
func ToPod(ctx context.Context, cfg *rest.Config, cs kubernetes.Interface, namespace, pod string, port int) (*Session, error) {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward")
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, err
	}
	spdyDialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, req.URL())
	wsDialer, err := portforward.NewSPDYOverWebsocketDialer(req.URL(), cfg)
	if err != nil {
		return nil, err
	}
	dialer := portforward.NewFallbackDialer(wsDialer, spdyDialer, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})

	s := &Session{stop: make(chan struct{}), errOut: &lockedBuffer{}, ended: make(chan struct{})}
	ready := make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{fmt.Sprintf("0:%d", port)}, s.stop, ready, io.Discard, s.errOut)
	if err != nil {
		return nil, err
	}
	go func() {
		s.endErr = fw.ForwardPorts()
		close(s.ended)
	}()
	select {
	case <-ready:
	case <-s.ended:
		return nil, fmt.Errorf("port-forward to pod %s/%s:%d: %s", namespace, pod, port, s.problem())
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		s.Close()
		return nil, fmt.Errorf("port-forward to pod %s/%s: no local port (%v)", namespace, pod, err)
	}
	s.LocalPort = ports[0].Local
	return s, nil
}

// PodForDeployment picks the pod `kubectl port-forward deploy/NAME` would:
// one selected by the Deployment's selector that is Running and Ready,
// preferring the longest-ready.
func PodForDeployment(ctx context.Context, cs kubernetes.Interface, namespace, name string) (*corev1.Pod, error) {
	d, err := cs.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, err
	}
	if sel.Empty() {
		sel = labels.Nothing()
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var candidates []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && diagnose.PodReady(&p) {
			candidates = append(candidates, p)
		}
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("deployment %s/%s has no Running, Ready pod for %s: %s", namespace, name, sel, diagnose.DescribePods(pods.Items))
	}
	sort.Slice(candidates, func(i, j int) bool {
		return candidates[i].CreationTimestamp.Before(&candidates[j].CreationTimestamp)
	})
	return &candidates[0], nil
}

// Page is what a GET returned.
type Page struct {
	Status int
	Body   string
}

// Get fetches path through the forward, bounded by ctx and a short timeout.
func Get(ctx context.Context, s *Session, path string) (Page, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+path, nil)
	if err != nil {
		return Page{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if p := s.problem(); p != "" {
			return Page{}, fmt.Errorf("%w; %s", err, p)
		}
		return Page{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return Page{}, err
	}
	return Page{Status: resp.StatusCode, Body: string(body)}, nil
}
