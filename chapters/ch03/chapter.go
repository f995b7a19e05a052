// Package ch03 is chapter 3 of the book, "Connecting Pods over the network
// with Services": Pods reaching each other by IP, then by the DNS name of a
// ClusterIP Service, and the numbers app whose web Pod calls its API
// through one. One file per section of the book holds its claims.
package ch03

import (
	"context"
	"embed"

	. "github.com/onsi/ginkgo/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/kiamol-e2e/kiamol-e2e/internal/book"
	"github.com/kiamol-e2e/kiamol-e2e/internal/spec"
)

//go:embed sleep numbers numbers-services
var manifests embed.FS

// The chapter's images.
const (
	Sleep      = "kiamol/ch03-sleep"
	NumbersAPI = "kiamol/ch03-numbers-api"
	NumbersWeb = "kiamol/ch03-numbers-web"
)

// Chapter is chapter 3, its claims in the book's order.
var Chapter = spec.NewChapter(&book.Chapter{
	ID:        "ch03",
	Title:     "Chapter 3: Connecting Pods over the network with Services",
	Manifests: manifests,
	Objects: []book.Object{
		{File: "sleep/sleep1.yaml", Kind: "Deployment", Name: "sleep-1"},
		{File: "sleep/sleep2.yaml", Kind: "Deployment", Name: "sleep-2"},
		{File: "sleep/sleep2-service.yaml", Kind: "Service", Name: "sleep-2"},
		{File: "numbers/api.yaml", Kind: "Deployment", Name: "numbers-api"},
		{File: "numbers/web.yaml", Kind: "Deployment", Name: "numbers-web"},
		{File: "numbers/api-service.yaml", Kind: "Service", Name: "numbers-api"},
		{File: "numbers/web-service.yaml", Kind: "Service", Name: "numbers-web"},
		{File: "numbers-services/web-service-nodePort.yaml", Kind: "Service", Name: "numbers-web-node"},
	},
	Images: []book.Image{
		{
			// The real image is Alpine with curl and jq, sleeping until stopped.
			Ref: Sleep,
			StandIn: book.StandIn{
				Program:    "images/standins/idle",
				Entrypoint: "/usr/local/bin/idle",
				Busybox:    true,
				Applets:    []string{"sh", "ping", "nslookup", "wget"},
			},
		},
		{
			// The real image is an ASP.NET API on Alpine, in /app.
			Ref: NumbersAPI,
			StandIn: book.StandIn{
				Program:    "images/standins/numbers-api",
				Entrypoint: "/app/numbers-api",
				Busybox:    true,
				Applets:    []string{"sh"},
				Port:       80,
			},
		},
		{
			// The real image is an ASP.NET Razor Pages app on Alpine, in /app.
			Ref: NumbersWeb,
			StandIn: book.StandIn{
				Program:    "images/standins/numbers-web",
				Entrypoint: "/app/numbers-web",
				Busybox:    true,
				Applets:    []string{"sh"},
				Port:       80,
			},
		},
	},
},
	// 3.1
	podIP, serviceDNS,
	// 3.2
	numbersUnavailable, numbersService, numbersPodReplaced,
	// 3.3
	loadBalancer, nodePort,
)

// The book's commands that several claims run.
var (
	applySleep   = book.Kubectl("kubectl apply -f sleep/sleep1.yaml -f sleep/sleep2.yaml")
	applyNumbers = book.Kubectl("kubectl apply -f numbers/api.yaml -f numbers/web.yaml")
)

// apps is the chapter's Deployments before any Service, read by the claims
// that only read them, and by the checks that each image pulls untagged.
var apps = &spec.Fixture{
	Name: "3.1 and 3.2: the chapter's Deployments, no Service yet, read by each claim", Namespace: "apps", Priority: 85,
	Steps: []book.Step{applySleep, applyNumbers},
	Setup: func(ctx SpecContext, t *spec.T) any {
		t.Apply(ctx, applySleep)
		t.Apply(ctx, applyNumbers)
		return nil
	},
	Images: []spec.ImageCheck{
		{Ref: Sleep, Of: podOf("sleep-2")},
		{Ref: NumbersAPI, Of: podOf("numbers-api")},
		{Ref: NumbersWeb, Of: podOf("numbers-web")},
	},
}

// podOf is the one Pod of a Deployment.
func podOf(deployment string) func(context.Context, *spec.T) *corev1.Pod {
	return func(ctx context.Context, t *spec.T) *corev1.Pod {
		_, pods := t.DeploymentMustRun(ctx, deployment, 1)
		return &pods[0]
	}
}
