// Command numbers-web stands in for the kiamol/ch03-numbers-web image on
// machines that cannot pull it. The real image is an ASP.NET Razor Pages
// app on port 80: GET / shows "KIAMOL Random Number Generator" and a form
// whose Go! button posts back (with ASP.NET's antiforgery token, as a
// browser sends it); the post asks the API at RngApi__Url
// (http://numbers-api/sixeyed/kiamol/master/ch03/numbers/rng in the image)
// for a number and shows "Here it is: N", or "RNG service unavailable!"
// when the call fails, each with "(Using API at: URL)".
//
// The real app retries a 404 against RngApi__RetryHost (GitHub, in the
// image); the stand-in does not: nothing here may leave the machine, and
// the API stand-in answers that path itself.
//
// NUMBERS_WEB_ADDR overrides the listen address (default :80).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/kiamol-e2e/kiamol-e2e/images/standins/serve"
	"html"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// defaultAPI is the image's RngApi__Url.
const defaultAPI = "http://numbers-api/sixeyed/kiamol/master/ch03/numbers/rng"

func main() {
	url := os.Getenv("RngApi__Url")
	if url == "" {
		url = defaultAPI
	}
	serve.Main("numbers-web", "NUMBERS_WEB_ADDR", newWeb(url, &http.Client{Timeout: 10 * time.Second}))
}

// tokenCookie and tokenField are where ASP.NET's antiforgery check finds
// its token: a cookie set with the form, and the form's hidden field.
const (
	tokenCookie = ".AspNetCore.Antiforgery.kiamol"
	tokenField  = "__RequestVerificationToken"
)

type web struct {
	api    string
	client *http.Client
}

func newWeb(api string, client *http.Client) http.Handler {
	return &web{api: api, client: client}
}

func (s *web) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := strings.ToLower(r.URL.Path); p != "/" && p != "/index" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	switch r.Method {
	case http.MethodGet:
		token := newToken()
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		s.page(w, fmt.Sprintf(`<form method="post">
    <p>Get a random number</p>
    <input type="submit" value="Go!"/>
<input name="%s" type="hidden" value="%s" /></form>`, tokenField, token))
	case http.MethodPost:
		c, err := r.Cookie(tokenCookie)
		if err != nil || r.FormValue(tokenField) == "" || r.FormValue(tokenField) != c.Value {
			// ASP.NET refuses a post without a matching token, body empty.
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		n, err := s.number(r)
		if err != nil {
			fmt.Fprintf(os.Stderr, "fail: Numbers.Web.Pages.IndexModel: API call failed: %v\n", err)
			s.page(w, "<p>RNG service unavailable!</p>\n<p>(Using API at: "+html.EscapeString(s.api)+")</p>")
			return
		}
		s.page(w, fmt.Sprintf("<p>Here it is: %d</p>\n<p>(Using API at: %s)</p>", n, html.EscapeString(s.api)))
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// number asks the API for a number, as the real app's service does: a
// GET, its body parsed as an integer.
func (s *web) number(r *http.Request) (int, error) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, s.api, nil)
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("service call failed: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("service call failed, status: %s", resp.Status)
	}
	return strconv.Atoi(strings.TrimSpace(string(body)))
}

func (s *web) page(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8" />
    <title>KIAMOL</title>
</head>
<body>
<h1>KIAMOL Random Number Generator</h1>

%s
</body>
</html>
`, body)
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
