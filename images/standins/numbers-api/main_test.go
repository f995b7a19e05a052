package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Header().Get("Content-Type"), string(body)
}

func TestRngAnswersANumberAsJSON(t *testing.T) {
	h := newAPI(0, func(int) int { return 42 })
	for _, p := range []string{"/rng", "/RNG", "/rng/", "/sixeyed/kiamol/master/ch03/numbers/rng"} {
		code, ct, body := get(t, h, p)
		if code != 200 || ct != "application/json; charset=utf-8" || body != "42" {
			t.Errorf("GET %s = %d %q %q, want 200 JSON 42", p, code, ct, body)
		}
	}
	if code, _, body := get(t, h, "/healthz"); code != 200 || body != "Ok" {
		t.Errorf("GET /healthz = %d %q", code, body)
	}
	if code, _, _ := get(t, h, "/"); code != 404 {
		t.Errorf("GET / = %d, want 404", code)
	}
}

func TestFailAfterCallCount(t *testing.T) {
	h := newAPI(2, func(int) int { return 7 })
	if code, _, _ := get(t, h, "/rng"); code != 200 {
		t.Fatalf("first call = %d", code)
	}
	if code, _, _ := get(t, h, "/rng"); code != 200 {
		t.Fatalf("second call = %d, want 200 (it turns unhealthy after answering)", code)
	}
	if code, _, body := get(t, h, "/rng"); code != 500 || body != `{"message":"Unhealthy!"}` {
		t.Errorf("third call = %d %q", code, body)
	}
	if code, _, _ := get(t, h, "/healthz"); code != 500 {
		t.Errorf("health after failing = %d, want 500", code)
	}
}
