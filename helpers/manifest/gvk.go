package manifest

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// apiutilGVK names an object's kind from the client's scheme: typed objects
// decode with an empty TypeMeta, and an apply patch must carry it.
func apiutilGVK(r *resources.Resources, obj k8s.Object) (schema.GroupVersionKind, error) {
	if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() {
		return gvk, nil
	}
	gvks, _, err := r.GetScheme().ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return schema.GroupVersionKind{}, err
	}
	return gvks[0], nil
}
