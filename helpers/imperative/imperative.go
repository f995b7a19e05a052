// Package imperative builds the objects the chapter's imperative commands
// create, so specs can make them through the API exactly as kubectl would:
//
//	kubectl run NAME --image=IMAGE
//	kubectl create deployment NAME --image=IMAGE
package imperative

import (
	"path"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Run is what `kubectl run NAME --image=IMAGE` creates: a bare Pod labelled
// run=NAME whose one container is also called NAME. With no tag on the image,
// the API server defaults imagePullPolicy to Always.
func Run(name, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"run": name}},
		Spec: corev1.PodSpec{
			Containers:    []corev1.Container{{Name: name, Image: image}},
			RestartPolicy: corev1.RestartPolicyAlways,
			DNSPolicy:     corev1.DNSClusterFirst,
		},
	}
}

// CreateDeployment is what `kubectl create deployment NAME --image=IMAGE`
// creates: one replica, everything labelled and selected by app=NAME, and a
// container named after the image.
func CreateDeployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: copyOf(labels)},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: copyOf(labels)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyOf(labels)},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: containerName(image), Image: image}}},
			},
		},
	}
}

// containerName follows kubectl: the image's last path element, untagged.
func containerName(image string) string {
	base := path.Base(image)
	if i := strings.IndexAny(base, ":@"); i >= 0 {
		base = base[:i]
	}
	return base
}

func copyOf(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
