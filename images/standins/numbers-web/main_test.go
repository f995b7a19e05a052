package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// click is what a browser does: load the page, then post its form with
// the token and the cookie that came with it.
func click(t *testing.T, site string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(site + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="__RequestVerificationToken" type="hidden" value="([0-9a-f]+)"`).FindStringSubmatch(string(page))
	if m == nil || !strings.Contains(string(page), "KIAMOL Random Number Generator") {
		t.Fatalf("the page has no form with a token:\n%s", page)
	}
	resp, err = c.PostForm(site+"/", url.Values{"__RequestVerificationToken": {m[1]}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestTheNumberComesFromTheAPI(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("42")) }))
	defer api.Close()
	site := httptest.NewServer(newWeb(api.URL+"/rng", api.Client()))
	defer site.Close()
	code, body := click(t, site.URL)
	if code != 200 || !strings.Contains(body, "<p>Here it is: 42</p>") || !strings.Contains(body, "(Using API at: "+api.URL+"/rng)") {
		t.Errorf("POST / = %d:\n%s", code, body)
	}
}

func TestUnavailableWhenTheAPICannotBeReached(t *testing.T) {
	api := httptest.NewServer(http.NotFoundHandler())
	gone := api.URL
	api.Close()
	site := httptest.NewServer(newWeb(gone+"/rng", http.DefaultClient))
	defer site.Close()
	code, body := click(t, site.URL)
	if code != 200 || !strings.Contains(body, "<p>RNG service unavailable!</p>") {
		t.Errorf("POST / = %d:\n%s", code, body)
	}
}

func TestAPostWithoutTheTokenIsRefused(t *testing.T) {
	site := httptest.NewServer(newWeb("http://127.0.0.1:1/rng", http.DefaultClient))
	defer site.Close()
	resp, err := http.PostForm(site.URL+"/", url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST without a token = %d, want 400", resp.StatusCode)
	}
}
