// Package manifest applies YAML manifests the way `kubectl apply
// --server-side` does, into a namespace of the spec's choosing.
package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/e2e-framework/klient/decoder"
	"sigs.k8s.io/e2e-framework/klient/k8s"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// FieldManager names the suite as the applier, as kubectl names itself.
const FieldManager = "kiamol-e2e"

// Decode parses every document, so a broken manifest fails before anything
// reaches the cluster.
func Decode(ctx context.Context, raw []byte, namespace string) ([]k8s.Object, error) {
	objs, err := decoder.DecodeAll(ctx, bytes.NewReader(raw), decoder.MutateNamespace(namespace))
	if err != nil {
		return nil, fmt.Errorf("manifest does not parse: %w", err)
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("manifest has no objects")
	}
	return objs, nil
}

// Apply server-side applies each object of the manifest; each object comes
// back as the server stored it. Applying an unchanged manifest again writes
// nothing: the server keeps resourceVersion and generation as they were.
func Apply(ctx context.Context, r *resources.Resources, raw []byte, namespace string) ([]k8s.Object, error) {
	objs, err := Decode(ctx, raw, namespace)
	if err != nil {
		return nil, err
	}
	force := true
	for _, obj := range objs {
		gvk, err := apiutilGVK(r, obj)
		if err != nil {
			return nil, err
		}
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		data, err := json.Marshal(obj)
		if err != nil {
			return nil, err
		}
		err = r.Patch(ctx, obj, k8s.Patch{PatchType: types.ApplyPatchType, Data: data}, func(o *metav1.PatchOptions) {
			o.FieldManager = FieldManager
			o.Force = &force
		})
		if err != nil {
			return nil, fmt.Errorf("apply %s %s/%s: %w", gvk.Kind, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return objs, nil
}

// Fetch reads a manifest from a URL, as `kubectl apply -f URL` does.
func Fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 1<<20))
}
