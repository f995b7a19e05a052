package ch03

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/forward"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 3.2: routing traffic between Pods. The numbers web app calls its API at
// http://numbers-api/...: a name only a Service gives.

// apiURL is where the web image calls its API.
const apiURL = "http://numbers-api/sixeyed/kiamol/master/ch03/numbers/rng"

var (
	waitWeb      = book.Kubectl("kubectl wait --for=condition=Ready pod -l app=numbers-web")
	forwardWeb   = book.Kubectl("kubectl port-forward deploy/numbers-web 8080:80").Sub("8080:80", "--address=127.0.0.1 :80", "a free local port, picked by kubectl, on 127.0.0.1 only")
	applyAPISvc  = book.Kubectl("kubectl apply -f numbers/api-service.yaml")
	getSvcAPI    = book.Kubectl("kubectl get svc numbers-api")
	deleteAPIPod = book.Kubectl("kubectl delete pods -l app=numbers-api")
)

var numbersUnavailable = spec.Claim{
	Claim: book.Claim{ID: "3.2/numbers-unavailable", Labels: []string{"network", "port-forward"},
		Says:  "with no Service for its API, the web app cannot reach it: its page says the RNG service is unavailable",
		Steps: []book.Step{forwardWeb}},
	Shares: apps,
	Body: func(ctx SpecContext, t *spec.T) {
		t.DeploymentMustRun(ctx, "numbers-web", 1)
		page := click(ctx, t, t.Forward(ctx, forwardWeb))
		Expect(page).To(And(ContainSubstring("RNG service unavailable!"), ContainSubstring("(Using API at: "+apiURL+")")),
			"the page after Go!: %.300s", page)
	},
}

var numbersService = spec.Claim{
	Claim: book.Claim{ID: "3.2/numbers-service", Labels: []string{"network", "services", "dns", "port-forward"},
		Says:  "once numbers-api's ClusterIP Service is applied, the web app reaches the API by its name: the page shows a random number the API gave",
		Needs: []book.Need{book.ClusterDNS},
		Steps: []book.Step{applyNumbers, waitWeb, forwardWeb, applyAPISvc, getSvcAPI}},
	Priority: 60,
	Body: func(ctx SpecContext, t *spec.T) {
		t.Apply(ctx, applyNumbers)
		t.Run(ctx, waitWeb)
		session := t.Forward(ctx, forwardWeb)
		t.Apply(ctx, applyAPISvc)
		table := t.Run(ctx, getSvcAPI)
		Expect(spec.Names(table.Stdout)).To(Equal([]string{"numbers-api"}), "kubectl get svc numbers-api")
		numberMustCome(ctx, t, session)
	},
}

var numbersPodReplaced = spec.Claim{
	Claim: book.Claim{ID: "3.2/numbers-pod-replaced", Labels: []string{"network", "services", "dns", "port-forward"},
		Says:  "when the API's Pod is deleted, its Deployment makes a new one and the Service sends the web app's calls there: the page shows a number again",
		Needs: []book.Need{book.ClusterDNS},
		Steps: []book.Step{applyNumbers, applyAPISvc, forwardWeb, deleteAPIPod}},
	Priority: 60,
	Body: func(ctx SpecContext, t *spec.T) {
		t.Apply(ctx, applyNumbers)
		t.Apply(ctx, applyAPISvc)
		session := t.Forward(ctx, forwardWeb)
		numberMustCome(ctx, t, session)
		_, before := t.DeploymentMustRun(ctx, "numbers-api", 1)

		out := t.Run(ctx, deleteAPIPod)
		Expect(spec.Lines(out.Stdout)).To(ConsistOf(spec.Deleted("pod", before[0].Name)))
		_, after := t.DeploymentMustRun(ctx, "numbers-api", 1)
		Expect(after[0].UID).NotTo(Equal(before[0].UID), "the Deployment made a new Pod")
		AddReportEntry("numbers-api", fmt.Sprintf("Pod %s (%s) replaced by %s (%s)", before[0].Name, before[0].Status.PodIP, after[0].Name, after[0].Status.PodIP))
		numberMustCome(ctx, t, session)
	},
}

// answer is the page's line when the API gave a number.
var answer = regexp.MustCompile(`<p>Here it is: (\d{1,2})</p>`)

// numberMustCome clicks Go! until the page shows a number: a Service's
// endpoints reach every node's proxy a moment after its Pods are Ready.
func numberMustCome(ctx context.Context, t *spec.T, s *forward.Session) {
	GinkgoHelper()
	var page string
	Eventually(ctx, func() string {
		page = click(ctx, t, s)
		return page
	}).WithTimeout(t.Timeouts().Controller).WithPolling(t.Timeouts().Poll).Should(MatchRegexp(answer.String()), spec.Because(func() string {
		return "the web app did not get a number from its API through the Service: the page after Go! says " + strings.Join(strings.Fields(text(page)), " ")
	}))
	Expect(page).To(ContainSubstring("(Using API at: "+apiURL+")"), "the page names the API it called")
}

// click is what the reader's browser does: load the page, press Go! (a
// form post with the token and cookie ASP.NET's antiforgery check wants),
// and return the page that comes back.
func click(ctx context.Context, t *spec.T, s *forward.Session) string {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(ctx, t.Timeouts().PortForward)
	defer cancel()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	form := get(ctx, c, http.MethodGet, s.URL()+"/", nil)
	m := regexp.MustCompile(`name="__RequestVerificationToken" type="hidden" value="([^"]+)"`).FindStringSubmatch(form)
	Expect(m).NotTo(BeNil(), "the page has a form with its token: %.300s", form)
	return get(ctx, c, http.MethodPost, s.URL()+"/", url.Values{"__RequestVerificationToken": {m[1]}})
}

func get(ctx context.Context, c *http.Client, method, u string, form url.Values) string {
	GinkgoHelper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	Expect(err).NotTo(HaveOccurred())
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	Expect(err).NotTo(HaveOccurred(), "%s %s through the port-forward", method, u)
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	Expect(resp.StatusCode).To(Equal(http.StatusOK), "%s %s answers 200: %.200s", method, u, page)
	return string(page)
}

// text is a page without its tags, for a message.
func text(page string) string { return regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " ") }
