package ch03

import (
	"fmt"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

// 3.1: how Kubernetes routes network traffic. Every Pod has an IP the
// others reach; a Service gives a name that stays when the Pods behind it
// change.

var (
	getSleep2IP = book.Kubectl("kubectl get pod -l app=sleep-2 --output jsonpath='{.items[0].status.podIP}'")
	pingSleep2  = book.Kubectl("kubectl exec deploy/sleep-1 -- ping -c 2 $(kubectl get pod -l app=sleep-2 --output jsonpath='{.items[0].status.podIP}')").
			SubAtRun("$(kubectl get pod -l app=sleep-2 --output jsonpath='{.items[0].status.podIP}')", "the IP the step before printed")
	applySleep2Service = book.Kubectl("kubectl apply -f sleep/sleep2-service.yaml")
	getSvcSleep2       = book.Kubectl("kubectl get svc sleep-2")
	lookupSleep2       = book.Kubectl("kubectl exec deploy/sleep-1 -- nslookup sleep-2")
)

var podIP = spec.Claim{
	Claim: book.Claim{ID: "3.1/pod-ip", Labels: []string{"network"},
		Says:  "a Pod reaches another Pod at its IP: sleep-1 pings sleep-2's Pod IP, and each ping is answered",
		Steps: []book.Step{getSleep2IP, pingSleep2}},
	Shares: apps,
	Body: func(ctx SpecContext, t *spec.T) {
		_, pods := t.DeploymentMustRun(ctx, "sleep-2", 1)
		ip := strings.TrimSpace(t.Run(ctx, getSleep2IP).Stdout)
		Expect(ip).To(Equal(pods[0].Status.PodIP), "kubectl prints the Pod IP the API has")
		out := t.Run(ctx, pingSleep2, spec.Put(pingSleep2.Subs[0].Word, ip))
		Expect(out.Stdout).To(ContainSubstring("2 packets transmitted, 2 packets received"), "both pings to %s answered", ip)
	},
}

var serviceDNS = spec.Claim{
	Claim: book.Claim{ID: "3.1/service-dns", Labels: []string{"network", "services", "dns"},
		Says:  "a ClusterIP Service gives Pods a name: in sleep-1, nslookup sleep-2 answers with the Service's ClusterIP that kubectl get svc shows",
		Needs: []book.Need{book.ClusterDNS},
		Steps: []book.Step{applySleep, applySleep2Service, getSvcSleep2, lookupSleep2}},
	Priority: 60,
	Body: func(ctx SpecContext, t *spec.T) {
		t.Apply(ctx, applySleep)
		t.Apply(ctx, applySleep2Service)
		var svc corev1.Service
		Expect(t.Resources().Get(ctx, "sleep-2", t.Namespace(), &svc)).To(Succeed())
		clusterIP := svc.Spec.ClusterIP
		Expect(clusterIP).NotTo(BeElementOf("", corev1.ClusterIPNone), "the Service has a ClusterIP")

		table := t.Run(ctx, getSvcSleep2)
		rows := spec.Lines(table.Stdout)
		Expect(rows).To(HaveLen(2), "a header and one row:\n%s", table.Stdout)
		Expect(strings.Fields(rows[1])).To(HaveExactElements("sleep-2", "ClusterIP", clusterIP, "<none>", "80/TCP", Not(BeEmpty())), "kubectl get svc shows its ClusterIP")

		// busybox's nslookup tries every search domain and says so for
		// those that have no such name, exiting non-zero: the answer for
		// the Service's own is what counts, once CoreDNS has the Service.
		fqdn := "sleep-2." + t.Namespace() + ".svc.cluster.local"
		t.ExecUntil(ctx, lookupSleep2, t.Timeouts().Controller,
			fmt.Sprintf("sleep-2 does not resolve, as %s, to the Service's ClusterIP %s", fqdn, clusterIP),
			ContainElements(MatchRegexp(`^Name:\s+`+regexp.QuoteMeta(fqdn)+`\s*$`), MatchRegexp(`^Address:\s+`+regexp.QuoteMeta(clusterIP)+`\s*$`)))
	},
}
