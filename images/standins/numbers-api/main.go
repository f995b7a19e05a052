// Command numbers-api stands in for the kiamol/ch03-numbers-api image on
// machines that cannot pull it. The real image is an ASP.NET app on port
// 80: GET /rng (and the same at /sixeyed/kiamol/master/ch03/numbers/rng,
// the path of the book's static copy on GitHub) answers a random number
// from 0 to 99 as JSON; GET /healthz (and /health) answers "Ok". Given
// FailAfterCallCount=N it turns unhealthy from the Nth call on: both then
// answer 500 with {"message":"Unhealthy!"} (or "Unhealthy" for health).
//
// NUMBERS_API_ADDR overrides the listen address (default :80).
package main

import (
	"encoding/json"
	"github.com/kiamol-e2e/kiamol-e2e/images/standins/serve"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

func main() {
	failAfter, _ := strconv.Atoi(os.Getenv("FailAfterCallCount"))
	serve.Main("numbers-api", "NUMBERS_API_ADDR", newAPI(failAfter, rand.IntN))
}

// api is the app's state: how many numbers it was asked for, and whether
// it is still healthy.
type api struct {
	mu        sync.Mutex
	calls     int
	unhealthy bool
	failAfter int
	next      func(n int) int
}

func newAPI(failAfter int, next func(int) int) http.Handler {
	a := &api{failAfter: failAfter, next: next}
	mux := http.NewServeMux()
	mux.HandleFunc("/", a.route)
	return mux
}

// route matches paths as ASP.NET's routing does: without regard to case
// or a trailing slash.
func (a *api) route(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(strings.ToLower(r.URL.Path), "/")
	switch {
	case r.Method != http.MethodGet:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case p == "/rng" || p == "/sixeyed/kiamol/master/ch03/numbers/rng":
		a.rng(w)
	case p == "/healthz" || p == "/health":
		a.health(w)
	default:
		w.WriteHeader(http.StatusNotFound) // ASP.NET's 404 has no body
	}
}

func (a *api) rng(w http.ResponseWriter) {
	a.mu.Lock()
	a.calls++
	healthy := !a.unhealthy
	var n int
	if healthy {
		n = a.next(100)
		if a.failAfter > 0 && a.calls >= a.failAfter {
			a.unhealthy = true
		}
	}
	a.mu.Unlock()
	if !healthy {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Unhealthy!"})
		return
	}
	writeJSON(w, http.StatusOK, n)
}

func (a *api) health(w http.ResponseWriter) {
	a.mu.Lock()
	healthy := !a.unhealthy
	a.mu.Unlock()
	if !healthy {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Unhealthy"})
		return
	}
	// A string result is written as text by ASP.NET.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("Ok"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
